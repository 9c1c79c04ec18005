"""LocustProvider: runs a LoadTest against an agent and judges it by its SLOs.

Role: the job provider for `kind: LoadTest` (route "locust"). One run:

    resolve the agent (URL + token file, or ARN) and ping it -> write the runner config
    -> start `python -m engine.load.runner` (one local process, or a Locust master and
       `workers` worker processes) under `engine.load.supervisor` (own process group,
       live progress on stderr, hard deadline, always reaped)
    -> read the raw samples -> grade answers (`load_grading`) -> exact percentiles and
       SLOs overall and per tag (`engine.load.analysis`) -> samples to the store
       (`load_records`), markdown and HTML reports in .agentops/reports/<run id>.{md,html}
       (`agentops report loadtest.<name>` writes them again from the store), terminal table
    -> RunResult: "failed" names every failed SLO with its measured value and limit; the
       summary's `report` holds both report paths (workspace-relative), as evaluation runs do,
       and its `cost` the plan's estimate next to what the run used (`load_cost`).

The provider never imports Locust: the generator's gevent patching must not meet this
process (see `engine.load`).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import engine
from engine.errors import AgentOpsError, ProviderError
from engine.load import report
from engine.load.analysis import analyze, read_samples
from engine.load.config import (
    REQUESTS_TIME_LIMIT_S,
    PromptEntry,
    RunnerConfig,
    Step,
    open_pool_size,
)
from engine.load.supervisor import Outcome, Supervisor, install_interrupt_handlers, runner_command
from engine.load.timeline import users_log
from engine.providers.base import Context, RunInputs, RunResult
from engine.providers.local.store import LocalStore
from engine.providers.runs.inputs import langfuse_recorder, run_inputs
from engine.providers.runs.load_cost import load_actual
from engine.providers.runs.load_grading import grade, judge_config
from engine.providers.runs.load_records import save_run
from engine.providers.runs.load_target import Target, preflight, resolve_target
from engine.spec.addresses import Address
from engine.spec.graph import GraphNode
from engine.spec.schema.loadtest import LoadPrompt, LoadTestSpec
from engine.state.model import RunRecord, now_iso
from engine.state.private import private_dir, write_private
from engine.terminal import Terminal

STARTUP_GRACE_S = 20.0  # importing Locust, workers connecting
CPU_WARNING = 0.9


def runner_config(
    spec: LoadTestSpec, prompts: list[LoadPrompt], target: Target, run_id: str
) -> RunnerConfig:
    """The generator's instructions, from the spec (load model, limits) and the target."""
    steps = tuple(Step(s.duration, s.users, s.arrival_rate) for s in spec.steps)
    rates = [r for r in (spec.arrival_rate, *(s.arrival_rate for s in steps)) if r]
    if rates:
        users = open_pool_size(max(rates))
        spawn_rate = float(users)  # the whole pool at once; first requests are staggered
    else:
        users = spec.users or max(s.users or 1 for s in steps)
        spawn_rate = spec.spawn_rate or float(users)
    limits = [sum(s.duration for s in steps)] if steps else []
    if spec.duration is not None:
        limits.append(spec.duration)
    return RunnerConfig(
        run_id=run_id,
        prompts=tuple(PromptEntry(p.name, p.prompt, tuple(p.tags), p.behaviour) for p in prompts),
        users=users,
        spawn_rate=spawn_rate,
        time_limit=min(limits) if limits else REQUESTS_TIME_LIMIT_S,
        target="agentcore" if target.kind == "agentcore" else "local",
        url=target.url,
        token_file=target.token_file,
        agent_arn=target.arn,
        region=target.region,
        qualifier=target.qualifier,
        arrival_rate=spec.arrival_rate,
        steps=steps,
        requests=spec.requests,
        workers=spec.workers,
        timeout=spec.timeout,
        stop_timeout=min(spec.timeout, 10.0),
        # a profile name, not a credential: the runner resolves it like the AWS CLI
        extra={"aws_profile": target.profile} if target.profile else {},
    )


def describe_load(config: RunnerConfig) -> str:
    if config.steps:
        kind = "users" if not config.open_model else "req/s"
        ramp = " → ".join(
            f"{s.users or s.arrival_rate:g} {kind} for {s.duration:g}s" for s in config.steps
        )
        what = f"ramp {ramp}"
    elif config.open_model:
        what = f"open model: {config.arrival_rate:g} req/s over a pool of {config.users} users"
    else:
        what = f"closed model: {config.users} users (spawn rate {config.spawn_rate:g}/s)"
    if config.requests is not None:
        what += f", {config.requests} requests"
    what += f", time limit {config.time_limit:g}s"
    return what + (f", {config.workers} Locust workers" if config.workers else "")


def _tail(log: Path, lines: int = 3) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text[-lines:]) or "(empty log)"


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Progress:
    """Live progress through the Terminal: a rewritten line live, a line every 2 s otherwise."""

    def __init__(self, address: str, limit: float, terminal: Terminal) -> None:
        self.address, self.limit, self.terminal = address, limit, terminal

    def __call__(self, e: Mapping[str, Any]) -> None:
        p95 = e.get("p95_ms")
        self.terminal.status(
            self.address,
            f"  {self.address}  {e.get('elapsed', 0):.0f}/{self.limit:g}s  "
            f"{e.get('requests', 0)} requests  {e.get('rps', 0):.1f} req/s  "
            f"{e.get('failures', 0)} failed  p95 {report.ms(p95) if p95 is not None else '—'}",
        )

    def end(self) -> None:
        self.terminal.status_end(self.address)


class LocustProvider:
    name: ClassVar[str] = "locust"
    kinds: ClassVar[frozenset[str]] = frozenset({"LoadTest"})

    def __init__(self, state_dir: Path, store: LocalStore) -> None:
        self.state_dir = state_dir
        self.store = store
        # Providers run in the applier's worker threads, which never see signals: the main
        # thread's handler must stop the load generators on Ctrl-C / SIGTERM.
        install_interrupt_handlers()

    def inputs(self, node: GraphNode, ctx: Context, digests: Mapping[Address, str]) -> RunInputs:
        return run_inputs(node, ctx, digests)

    def run(
        self, node: GraphNode, inputs: RunInputs, ctx: Context, prior: RunRecord | None
    ) -> RunResult:
        spec: LoadTestSpec = node.spec.doc.spec
        address, env = str(node.address), node.address.env or node.spec.doc.spec.environment
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        run_id = f"loadtest-{node.address.name}-{env}-{stamp}-{secrets.token_hex(2)}"
        started_at = now_iso()
        try:
            prompts = ctx.workspace.prompts.get(node.address.name) or []
            if not prompts:
                source = f"promptsFile '{spec.prompts_file}'" if spec.prompts_file else "prompts"
                raise ProviderError(
                    f"{address} has no prompts: its {source} did not load",
                    hint="run 'agentops validate' to see why",
                )
            target = resolve_target(spec.agent, env, ctx)
            preflight(target)
            judge = judge_config(ctx.workspace, env)
            # `store: langfuse`: keys resolved and checked before any load is generated
            recorder = langfuse_recorder(ctx, env)
        except AgentOpsError as exc:
            message = f"{exc} ({exc.hint})" if exc.hint else str(exc)
            cost = {"estimate": ctx.cost_estimates.get(address), "actual": None}
            return RunResult("failed", {"run_id": run_id, "error": message, "cost": cost}, message)
        config = runner_config(spec, prompts, target, run_id)
        run_dir = private_dir(self.state_dir / "loadtests") / run_id
        run_dir.mkdir(mode=0o700)
        try:
            outcome = self._generate(address, config, run_dir, ctx)
            samples = read_samples(
                run_dir / "samples.jsonl", {p.name: (p.expect, p.tags) for p in config.prompts}
            )
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        grading = grade(samples, spec.grading, ctx.workspace.root, judge)
        summary = self._summary(spec, config, target, outcome, samples, grading)
        summary["cost"] = {
            "estimate": ctx.cost_estimates.get(address),
            "actual": load_actual(ctx, spec, env, target, samples, grading),
        }
        problems = self._problems(outcome, config, summary)
        status = "succeeded" if summary["passed"] and not problems else "failed"
        if recorder is not None:
            from engine.providers.langfuse.loadrun import record_summary

            by_name = {p.name: p.prompt for p in config.prompts}
            summary["langfuse"], problem = record_summary(
                recorder, run_id=run_id, address=address, samples=samples, prompts=by_name
            )
            if problem is not None:
                problems.append(problem)
                status = "failed"
        summary["problems"] = problems  # the reports say why a run without failed SLOs failed
        summary["report"] = self._write_reports(address, status, summary, samples, ctx)
        save_run(
            self.store,
            run_id=run_id,
            address=address,
            agent=spec.agent,
            env=env,
            inputs_digest=inputs.digest,
            status=status,
            started_at=started_at,
            finished_at=now_iso(),
            summary=summary,
            samples=samples,
        )
        ctx.terminal.print(*report.summary_renderables(address, summary))
        failed = [r["message"] for r in summary["slos"] if not r["ok"]]
        # Only failed SLOs (the load ran and was measured): a verdict, not an error
        verdict = status == "failed" and not problems
        return RunResult(status, summary, "; ".join(problems + failed) or None, verdict=verdict)

    def _write_reports(
        self,
        address: str,
        status: str,
        summary: dict[str, Any],
        samples: list[Any],
        ctx: Context,
    ) -> dict[str, str]:
        """`.agentops/reports/<run id>.{md,html}`; their paths as shown (workspace-relative)."""
        reports = private_dir(self.state_dir / "reports")
        run_id = summary["run_id"]
        md, page = reports / f"{run_id}.md", reports / f"{run_id}.html"
        write_private(md, report.markdown(address, summary))
        from engine.load import html  # deferred: Jinja2 and the charts only when a run reports

        write_private(page, html.render_page(address, run_id, summary, samples, status))
        return {
            "markdown": _shown(md, ctx.workspace.root),
            "html": _shown(page, ctx.workspace.root),
        }

    def _generate(self, address: str, config: RunnerConfig, run_dir: Path, ctx: Context) -> Outcome:
        cfg, out = run_dir / "config.json", run_dir / "samples.jsonl"
        config.write(cfg)
        if config.workers:
            port = str(_free_port())
            master = ["--role", "master", "--master-port", port]
            worker = ["--role", "worker", "--master-host", "127.0.0.1", "--master-port", port]
            commands = [runner_command("--config", str(cfg), "--out", str(out), *master)]
            commands += [runner_command("--config", str(cfg), *worker)] * config.workers
        else:
            commands = [runner_command("--config", str(cfg), "--out", str(out))]
        env = dict(os.environ)
        root = str(Path(engine.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        # Tags like the local runtime's: a process left behind is findable in /proc.
        env.update(AGENTOPS_LOAD_RUN=config.run_id, AGENTOPS_WORKSPACE_ID=ctx.workspace_id)
        grace = STARTUP_GRACE_S + (10.0 if config.workers else 0.0) + config.stop_timeout + 10.0
        progress = Progress(address, config.time_limit, ctx.terminal)
        sup = Supervisor(
            commands,
            env=env,
            log_file=self.state_dir / "logs" / f"{config.run_id}.log",
            deadline_s=config.time_limit + grace,
            on_progress=progress,
        )
        try:
            return sup.run()
        finally:
            progress.end()

    def _summary(
        self,
        spec: LoadTestSpec,
        config: RunnerConfig,
        target: Target,
        outcome: Outcome,
        samples: list[Any],
        grading: dict[str, Any],
    ) -> dict[str, Any]:
        analysis = analyze(samples, spec.slos, spec.per_tag)
        cpu_max = max(outcome.cpu.values(), default=0.0)
        warnings = []
        if cpu_max > CPU_WARNING:
            warnings.append(
                f"the load generator used {cpu_max * 100:.0f} % of a CPU core: the numbers may "
                "measure the generator, not the agent (add 'workers' or lower the load)"
            )
        done = outcome.done or {}
        if config.requests and done.get("reason") == "duration":
            warnings.append(
                f"stopped by the time limit ({config.time_limit:g}s) after {len(samples)} of "
                f"{config.requests} requests"
            )
        if done.get("dropped"):
            warnings.append(
                f"{done['dropped']} arrivals found no free user: the open model's pool "
                f"({config.users} users) was exhausted, so the arrival rate was not held"
            )
        if done.get("aborted"):
            warnings.append(
                f"{done['aborted']} requests in flight were cut off when the run stopped"
            )
        return {
            "run_id": config.run_id,
            "target": target.shown,
            "load": describe_load(config),
            "stopped_by": "interrupt" if outcome.interrupted else done.get("reason", "killed"),
            **analysis,
            "generator": {"cpu_max": cpu_max, "processes": len(outcome.cpu)},
            "locust": done.get("locust", {}),
            # (seconds since the first request, users) at each change: the users chart
            "users_timeline": [
                list(p) for p in users_log(done.get("users"), samples[0].t if samples else 0.0)
            ],
            "grading": grading,
            "warnings": warnings,
        }

    def _problems(
        self, outcome: Outcome, config: RunnerConfig, summary: dict[str, Any]
    ) -> list[str]:
        """Why the run is not a valid measurement, apart from SLOs."""
        out: list[str] = []
        log = self.state_dir / "logs" / f"{config.run_id}.log"
        if outcome.interrupted:
            out.append(f"interrupted after {summary['overall']['requests']} requests")
        elif outcome.overran:
            out.append(
                f"the load generator did not stop by its deadline and was killed (log: {log})"
            )
        elif outcome.done is None:
            why = "; ".join(outcome.errors) or f"exit codes {outcome.exit_codes}: {_tail(log)}"
            out.append(f"the load generator failed: {why} (log: {log})")
        if not summary["overall"]["requests"] and not out:
            out.append("no request was recorded")
        return out
