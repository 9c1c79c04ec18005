"""Evaluation runs: Experiments (HPO matrix) and QualityGates, from variants to reports.

Pipeline role: the work behind the `local-eval` job provider (`engine.providers.runs.evaluation`),
which the applier calls for every `run` action of kind Experiment or QualityGate.

    matrix    expand an Experiment's matrix into agent variants (a gate has one: the agent)
    ephemeral deploy each variant as a short-lived local agent; always torn down
    cases     invoke every item x repetition concurrently, score with every evaluator
    results   aggregate per variant (mean, spread, pass rate, latency, errors, tokens), rank
    gate      thresholds -> pass / fail / inconclusive, with the reason
    cost      what the run used and cost (its estimate comes with the plan)
    store     every case, score and aggregate in the local SQLite store
    report_*  terminal table, markdown (PR comment) and a self-contained HTML page
    writeback `experiment apply-best`: the winner into the Agent YAML (round-trip edit)

Importing this package is cheap: the submodules are imported by their users.
"""
