"""Local providers (the embedded default): agent processes on 127.0.0.1 and the SQLite store."""
