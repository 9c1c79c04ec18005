"""An AgentCore runtime's logs in CloudWatch Logs, for `agentops logs AGENT`.

Pipeline role: the AgentCore side of `engine.commands.logs`. AgentCore writes a runtime's
output to the log group `/aws/bedrock-agentcore/runtimes/<runtime id>-<endpoint name>`
(streams `<date>/[runtime-logs]<session>` and `otel-rt-logs`); agentops' endpoint is `live`.
Events are read with FilterLogEvents across the group's streams, oldest first; following
polls from the newest timestamp seen, skipping event ids already printed (several events
may share a millisecond).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from engine.errors import ProviderError
from engine.providers.agentcore.aws import Aws, AwsTarget
from engine.providers.agentcore.errors import is_not_found
from engine.providers.agentcore.names import ENDPOINT_NAME

LOGS = "logs"


def log_group(runtime_id: str, endpoint: str = ENDPOINT_NAME) -> str:
    return f"/aws/bedrock-agentcore/runtimes/{runtime_id}-{endpoint}"


class CloudWatchLog:
    """The events of one runtime's log group: `first(since)`, then `more()` to follow."""

    def __init__(self, private: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        self.aws = Aws(AwsTarget.from_json(dict(private["target"])))
        runtime_id = str(outputs.get("runtime_id") or "")
        self.group = log_group(runtime_id, str(outputs.get("qualifier") or ENDPOINT_NAME))
        self.where = f"CloudWatch Logs {self.group} ({self.aws.target.region})"
        self._start_ms = 0
        self._seen: set[str] = set()
        self.missing = False

    def first(self, since: float | None) -> list[str]:
        self._start_ms = int(since * 1000) if since is not None else 0
        return self.more()

    def more(self) -> list[str]:
        params: dict[str, Any] = {"logGroupName": self.group, "startTime": self._start_ms}
        try:
            events = list(self.aws.pages(LOGS, "FilterLogEvents", "events", self.where, **params))
        except ProviderError as exc:
            if exc.__cause__ is not None and is_not_found(exc.__cause__):
                self.missing = True  # no log group yet: the runtime has not logged anything
                return []
            raise
        self.missing = False
        events.sort(key=lambda e: (int(e.get("timestamp", 0)), str(e.get("eventId", ""))))
        out = []
        for e in events:
            eid = str(e.get("eventId") or f"{e.get('logStreamName')}/{e.get('timestamp')}")
            if eid in self._seen:
                continue
            self._seen.add(eid)
            ts = int(e.get("timestamp", 0))
            self._start_ms = max(self._start_ms, ts)
            stamp = dt.datetime.fromtimestamp(ts / 1000, dt.UTC).isoformat(timespec="milliseconds")
            message = str(e.get("message", "")).rstrip("\n")
            out.append(f"{stamp} {message}")
        return out
