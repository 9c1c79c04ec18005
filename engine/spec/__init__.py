"""The spec language: load -> validate -> resolve -> graph -> digests, with diagnostics."""
