"""Ephemeral agents: each variant of a run as a short-lived local agent, always torn down.

Pipeline role: between `matrix` and `cases`. A variant is started through the local runtime
provider (`LocalRuntimeProvider.spawn`) under an address of its own, e.g.
`experiment.hpo[dev]/v3`, so the process carries the workspace id and that address in its
environment: if a crash (or SIGKILL) leaves one behind, the next run of the same address
finds it by scanning /proc and stops it before it starts (`reap_leftovers`). Within a run,
`EphemeralAgents` is a context manager whose exit stops whatever is still running, on
success, failure, or interruption alike. Callees of the evaluated agent are the agents
deployed in the run's environment (`spawn` injects their URLs from `ctx.outputs`, and their
tokens in a callee-token file of the variant's address, removed when the variant stops). A
variant accepts only the engine token: no agent's `calls:` names it.

It also resolves the run environment's judge (`spec.judge`): `env:NAME` references are read
from the local environment here and handed to the evaluators, never printed or stored.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from engine.errors import PermanentError
from engine.evaluation.matrix import Variant
from engine.evaluators import JudgeConfig
from engine.providers.base import Context
from engine.providers.local.runtime import LocalRuntimeProvider, owned_processes
from engine.spec.workspace import Workspace

if TYPE_CHECKING:
    from engine.runtime.process import AgentProcess


def ephemeral_address(run_address: str, variant: str) -> str:
    return f"{run_address}/{variant}"


def reap_leftovers(workspace_id: str, run_address: str) -> list[int]:
    """Kill processes an earlier, crashed run of `run_address` left behind; their pids."""
    killed = []
    prefix = ephemeral_address(run_address, "")
    for address, pids in owned_processes(workspace_id).items():
        if not address.startswith(prefix):
            continue
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
                killed.append(pid)
    return killed


class EphemeralAgents:
    """Deploys variants one at a time and guarantees none outlives the run."""

    def __init__(
        self, runtime: LocalRuntimeProvider, ctx: Context, run_address: str, env: str, agent: str
    ) -> None:
        self.runtime = runtime
        self.ctx = ctx
        self.run_address = run_address
        self.env = env
        self.agent = agent
        self._live: dict[str, AgentProcess] = {}
        self._lock = threading.Lock()

    def deploy(self, variant: Variant) -> AgentProcess:
        """Start the variant and wait until it is healthy.

        The wait cannot be interrupted from inside, so a watcher kills the starting process
        when the apply is cancelled: Ctrl-C never waits for a health timeout. The caller sees
        the failed start and checks `ctx.cancel` to tell it from a real one.
        """
        address = ephemeral_address(self.run_address, variant.name)
        log_name = f"{self.run_address.split('[', 1)[0].replace('.', '-')}-{variant.name}"
        started = threading.Event()
        watcher = threading.Thread(
            target=self._kill_on_cancel, args=(address, started), daemon=True
        )
        watcher.start()
        try:
            proc = self.runtime.spawn(
                spec=variant.spec,
                address=address,
                name=self.agent,
                env_name=self.env,
                model=variant.model,
                digest=variant.digest,
                ctx=self.ctx,
                log_name=log_name,
            )
        except BaseException:
            self.runtime.forget(address)  # its callee-token file, written before the start
            raise
        finally:
            started.set()
            watcher.join()
        with self._lock:
            self._live[variant.name] = proc
        return proc

    def _kill_on_cancel(self, address: str, started: threading.Event) -> None:
        while not started.wait(0.1):
            if self.ctx.cancel.is_set():
                for pid in owned_processes(self.ctx.workspace_id).get(address, []):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signal.SIGKILL)
                return

    def stop(self, variant: Variant) -> None:
        from engine.runtime.process import stop_agent

        with self._lock:
            proc = self._live.pop(variant.name, None)
        if proc is not None:
            # Every request was awaited before this: nothing is in flight to drain.
            stop_agent(proc, grace=min(2.0, variant.spec.lifecycle.stop_grace))
        self.runtime.forget(ephemeral_address(self.run_address, variant.name))

    def stop_all(self) -> None:
        from engine.runtime.process import stop_agent

        with self._lock:
            live = list(self._live.items())
            self._live.clear()
        for name, proc in live:
            with contextlib.suppress(Exception):
                stop_agent(proc, grace=2.0)
            self.runtime.forget(ephemeral_address(self.run_address, name))
        # Anything of this run still tagged (e.g. a start interrupted half-way) goes too.
        reap_leftovers(self.ctx.workspace_id, self.run_address)

    def __enter__(self) -> EphemeralAgents:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()


def judge_config(ws: Workspace, env: str) -> JudgeConfig | None:
    """The environment's judge with its key resolved locally; None when none is set."""
    spec = ws.environments[env].doc.spec.judge
    if spec is None:
        return None
    model = ws.resolve_model(spec.model, env) or spec.model
    provider, _, model_id = model.partition(":")
    if provider == "offline":
        raise PermanentError(
            f"environment {env}: judge model '{spec.model}' is an offline policy, not an LLM",
            hint="use openai:<model> with spec.judge.baseUrl for any OpenAI-compatible server",
        )
    if provider == "bedrock" and not spec.base_url:
        raise PermanentError(
            f"environment {env}: judge model '{spec.model}' needs spec.judge.baseUrl (the "
            "Bedrock OpenAI-compatible endpoint)",
            hint="set judge.baseUrl, or use an openai:<model> judge",
        )
    api_key = None
    if spec.api_key is not None:
        scheme, _, target = spec.api_key.partition(":")
        if scheme != "env":
            raise PermanentError(
                f"environment {env}: judge apiKey {scheme}: references are not resolved by "
                "the local evaluator",
                hint="use env:NAME for the judge key",
            )
        api_key = os.environ.get(target)
        if api_key is None:
            raise PermanentError(
                f"environment {env}: judge apiKey references env:{target}, which is not set",
                hint=f"export {target} before running agentops",
            )
    return JudgeConfig(
        model=model_id or model,
        base_url=spec.base_url,
        api_key=api_key,
        choice_scores=spec.choice_scores,
    )
