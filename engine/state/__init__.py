"""State: what agentops believes exists, with serial/lineage, a journal and a lock.

model (State and its records), journal (bytes and entries), store (the StateStore protocol),
local (.agentops/, flock), s3 + s3_lock + objects (s3://bucket/prefix: conditional writes,
a leased lock) over s3_boto (boto3), backend (which one: --state, AGENTOPS_STATE,
agentops.yaml, local).
"""
