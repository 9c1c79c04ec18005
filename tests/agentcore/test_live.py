"""Opt-in: the same lifecycle against a real AWS account (never run by default).

    AGENTOPS_LIVE_BUCKET=<an S3 bucket in the region> AGENTOPS_LIVE_REGION=us-west-2 \\
        AWS_PROFILE=<a profile with the engine's policy, docs/aws.md> pytest -m live

It deploys one tiny agent (direct code deploy with vendored linux/arm64 dependencies, which
needs the package index), checks plan -> apply -> plan, invokes it through the data plane,
updates it, and destroys everything it made - also when a step fails. Costs a few cents.
This is where what moto cannot show is checked: IAM propagation, real ARNs and tags,
clientToken idempotency, READY transitions and the DEFAULT/`live` endpoints.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.providers.agentcore.invoke import invoker_for

from .helpers import apply_all, plan, state, workspace

REASON = (
    "needs a real AWS account; run pytest -m live with credentials "
    "(and AGENTOPS_LIVE_BUCKET=<an S3 bucket in AGENTOPS_LIVE_REGION>)"
)
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("AGENTOPS_LIVE_BUCKET"), reason=REASON),
]


def test_live_lifecycle(tmp_path: Path) -> None:
    settings = {
        "orchestrator": False,
        "model": "offline:keyword",
        "secret": False,
        "region": os.environ.get("AGENTOPS_LIVE_REGION", "us-west-2"),
        "bucket": os.environ["AGENTOPS_LIVE_BUCKET"],
        "vendor": True,
        "ready": "15m",
    }
    root = workspace(tmp_path, **settings)  # type: ignore[arg-type]
    try:
        apply_all(root)
        assert not plan(root).has_changes
        agent = state(root).resources["agent.specialist[prd]"]
        result = invoker_for(agent).invoke({"prompt": "hi"})
        assert result.ok, result.error
        workspace(root, prompt="Be brief.", **settings)  # type: ignore[arg-type]
        apply_all(root)
        assert not plan(root).has_changes
    finally:
        apply_all(root, destroy=True)
