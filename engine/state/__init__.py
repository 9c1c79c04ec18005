"""State: what agentops believes exists, with serial/lineage, a journal and a lock."""
