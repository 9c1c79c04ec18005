"""Previews: a pull request's change applied to short-lived copies of its gates' environments.

Pipeline role: above `engine.reconcile` (it drives one read-only plan of the main state, then
a full plan/apply/destroy on a state of its own), below `engine.commands.preview`:

    main plan (no lock) -> triggered gates/experiments -> copy their environments (copy.py)
    -> plan + apply on `.agentops/previews/<name>/` -> verdicts by digest (evaluation.verdicts)
    -> baseline deltas (evaluation.baseline) -> destroy the copy, always (run.py)
"""
