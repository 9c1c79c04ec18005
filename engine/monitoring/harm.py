"""Does a production prompt look harmful? Decides what the `refusal` evaluator expects.

Production traffic has no labels. A trace expects a refusal when its request was tagged
harmful (load tests tag their prompts) or when the offline harm classifier says the prompt
asks for harm (`engine.evaluators.harm`), independently of the agent's own guard: a monitor
must be able to catch the agent's misses.
"""

from __future__ import annotations

from engine.evaluators.harm import classify
from engine.monitoring.model import Trace


def looks_harmful(trace: Trace) -> bool:
    if any(t.lower().startswith("harmful") for t in trace.tags):
        return True
    return classify(trace.input).harmful
