"""Providers: the only code that touches real things (processes, SQLite, AWS, Langfuse)."""
