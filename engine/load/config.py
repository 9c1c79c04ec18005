"""The load runner's configuration file: what the parent asks the Locust process to do.

Role: the one contract between `engine.providers.runs.loadtest` (which writes it from a LoadTest
spec) and `engine.load.runner` (which reads it). Standard library only, because the runner
imports it right after Locust and the parent must not pay for Locust. The file holds no
secret: the local runtime's token is read by the runner from `token_file` (mode 0600), so
copying the config to another machine for a remote worker copies no credential.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from engine.state.private import write_private

Target = Literal["local", "agentcore"]
Behaviour = Literal["answer", "refuse"]

#: an open model keeps this many seconds of requests in flight before the rate drops
OPEN_MODEL_HEADROOM_S = 4.0
MAX_POOL_USERS = 2000
#: with `requests` and no `duration`, the run still stops after this long
REQUESTS_TIME_LIMIT_S = 600.0


#: the columns of one raw sample (a JSON array per line in the runner's out file)
SAMPLE_FIELDS = ("t", "ms", "ok", "st", "err", "p", "cold", "s", "w", "txt")
OK, MS = SAMPLE_FIELDS.index("ok"), SAMPLE_FIELDS.index("ms")


class ConfigError(ValueError):
    """The config file is missing, not JSON, or lacks a field; the runner exits 2 with it."""


@dataclass(frozen=True)
class PromptEntry:
    name: str
    prompt: str
    tags: tuple[str, ...] = ()
    expect: Behaviour = "answer"


@dataclass(frozen=True)
class Step:
    """One ramp step: hold `users` (closed) or `arrival_rate` (open) for `duration` seconds."""

    duration: float
    users: int | None = None
    arrival_rate: float | None = None


@dataclass(frozen=True)
class RunnerConfig:
    run_id: str
    prompts: tuple[PromptEntry, ...]
    #: closed model: concurrent users; open model: the size of the paced user pool
    users: int
    spawn_rate: float
    #: seconds after which the generator stops by itself (duration, steps or the request cap)
    time_limit: float
    target: Target = "local"
    #: local runtime: the invocation URL and the file holding the bearer token
    url: str = ""
    token_file: str | None = None
    #: AgentCore: the runtime ARN, its region and endpoint qualifier
    agent_arn: str | None = None
    region: str | None = None
    qualifier: str | None = None
    #: open model: requests per second (None for the closed model)
    arrival_rate: float | None = None
    steps: tuple[Step, ...] = ()
    #: stop after this many requests in all (None: stop on time only)
    requests: int | None = None
    workers: int = 0
    #: per request, seconds
    timeout: float = 30.0
    #: how long users may finish their request in flight once the run stops
    stop_timeout: float = 5.0
    #: characters of each answer kept in the samples (graded by the parent)
    response_chars: int = 4000
    progress_interval: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def open_model(self) -> bool:
        return self.arrival_rate is not None or any(s.arrival_rate for s in self.steps)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    def write(self, path: Path) -> None:
        write_private(path, self.to_json() + "\n")  # names the token file; lives in a run dir

    @classmethod
    def read(cls, path: Path) -> RunnerConfig:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read the load config {path}: {exc}") from exc
        except ValueError as exc:
            raise ConfigError(f"the load config {path} is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"the load config {path} must be a JSON object")
        try:
            prompts = tuple(
                PromptEntry(
                    p["name"], p["prompt"], tuple(p.get("tags", ())), p.get("expect", "answer")
                )
                for p in data.pop("prompts")
            )
            steps = tuple(Step(**s) for s in data.pop("steps", ()))
            config = cls(prompts=prompts, steps=steps, **data)
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"the load config {path} is incomplete or wrong: {exc}") from exc
        if not config.prompts:
            raise ConfigError(f"the load config {path} has no prompts")
        return config


def open_pool_size(peak_rate: float) -> int:
    """Users an open model needs so that `peak_rate` holds while latency < the headroom.

    Locust paces each user with `constant_throughput(rate / pool)`; a user whose request takes
    longer than its period falls behind, so the pool must cover rate x latency.
    """
    return max(1, min(MAX_POOL_USERS, math.ceil(peak_rate * OPEN_MODEL_HEADROOM_S)))


def rate_at(elapsed: float, arrival_rate: float | None, steps: tuple[Step, ...]) -> float:
    """The target arrival rate `elapsed` seconds into the run (open model)."""
    t = 0.0
    for step in steps:
        t += step.duration
        if elapsed < t and step.arrival_rate is not None:
            return step.arrival_rate
    if steps and steps[-1].arrival_rate is not None:
        return steps[-1].arrival_rate
    return arrival_rate or 0.0
