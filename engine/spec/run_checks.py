"""Run checks: what an Experiment, QualityGate or LoadTest refers to must exist and fit.

Pipeline role: part of `resolve`. A run names an agent, an environment, often a dataset and
evaluators: each must exist, the dataset must be synced to the environment, the agent and
its callees must run there, and matrix values must make a valid agent. A LoadTest's
prompts file is read here too (`prompts.py`). QualityGates: `gate_checks.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from engine.spec.checks import Checks
from engine.spec.diagnostics import did_you_mean
from engine.spec.evaluator_names import check_evaluator
from engine.spec.explain import explain
from engine.spec.prompts import load_prompts_file
from engine.spec.schema import (
    AgentSpec,
    Document,
    EvaluatorRef,
    Experiment,
    LoadTest,
    Monitor,
)
from engine.spec.specs import Spec


class RunChecks(Checks):
    """Checks of the runs; appends diagnostics to the workspace."""

    def run_common(
        self,
        spec: Spec[Document],
        agent: str,
        env: str,
        evaluators: Sequence[EvaluatorRef] = (),
        at: tuple[str, ...] = ("spec", "evaluators"),
        *,
        remote: bool = True,
    ) -> None:
        self.ref(spec, ("spec", "agent"), "Agent", agent)
        self.ref(spec, ("spec", "environment"), "Environment", env)
        env_spec = self.ws.environments.get(env)
        judge = None if env_spec is None else env_spec.doc.spec.judge is not None
        store = None if env_spec is None else env_spec.doc.spec.store
        for i, ev in enumerate(evaluators):
            if not remote and ev.use.startswith("langfuse:"):
                problem: tuple[str, str | None] | None = (
                    f"'{ev.use}' is a score Langfuse computes after a run is recorded; a "
                    "LoadTest grades its responses locally, under load",
                    "wait for remote scores in a QualityGate, or grade with a local evaluator",
                )
            else:
                problem = check_evaluator(
                    ev, self.ws.root, judge_configured=judge, store=store, confined=self.ws.confined
                )
            if problem:
                self.error(spec, (*at, i, "use"), problem[0], problem[1])

    def dataset_in_env(self, spec: Spec[Document], dataset: str, env: str) -> None:
        if self.ref(spec, ("spec", "dataset"), "Dataset", dataset) and (
            env in self.ws.environments and env not in self.ws.dataset_envs(dataset)
        ):
            self.error(
                spec,
                ("spec", "dataset"),
                f"dataset '{dataset}' is not synced to environment '{env}'",
                f"add {env} to dataset.{dataset}'s environments",
            )

    def callees_in_env(self, spec: Spec[Document], agent: str, env: str) -> None:
        a = self.ws.agents.get(agent)
        if a is None or env not in self.ws.environments:
            return
        for callee in a.doc.spec.calls:
            if callee in self.ws.agents and env not in self.ws.agent_envs(callee):
                self.error(
                    spec,
                    ("spec", "environment"),
                    f"agent '{agent}' calls '{callee}', which does not run in '{env}'",
                    f"add {env} to agent.{callee}'s environments",
                )

    def check_experiment(self, ex: Spec[Experiment]) -> None:
        s = ex.doc.spec
        e: Spec[Document] = ex
        self.run_common(e, s.agent, s.environment, s.evaluators)
        self.dataset_in_env(e, s.dataset, s.environment)
        self.callees_in_env(e, s.agent, s.environment)
        base = self.ws.agents.get(s.agent)
        if base is None:
            return
        fields = {f.alias or n for n, f in AgentSpec.model_fields.items()}
        base_data = base.raw.data["spec"]  # type: ignore[index]
        for key, values in s.matrix.items():
            if key.startswith("env."):
                continue
            if key not in fields:
                self.error(
                    e,
                    ("spec", "matrix", key),
                    f"matrix key '{key}' is not an agent field",
                    did_you_mean(key, fields) or "use an agent field or env.NAME",
                )
                continue
            for i, value in enumerate(values):
                data = {**base_data, key: value.value}
                # A matrix prompt replaces the base prompt, whichever way it was given.
                for a, b in (
                    ("systemPrompt", "systemPromptFile"),
                    ("systemPromptFile", "systemPrompt"),
                ):
                    if key == a:
                        data.pop(b, None)
                try:
                    AgentSpec.model_validate(data)
                except ValidationError as exc:
                    for problem in explain(exc, data, AgentSpec)[:1]:
                        self.error(
                            e,
                            ("spec", "matrix", key, i),
                            f"matrix value: {problem.message}",
                            problem.hint,
                        )
                if key == "model" and isinstance(value.value, str):
                    self.model(e, ("spec", "matrix", key, i), value.value, [s.environment])

    def check_loadtest(self, lt: Spec[LoadTest]) -> None:
        s = lt.doc.spec
        t: Spec[Document] = lt
        self.run_common(
            t,
            s.agent,
            s.environment,
            s.grading.evaluators,
            ("spec", "grading", "evaluators"),
            remote=False,
        )
        if (
            s.agent in self.ws.agents
            and s.environment in self.ws.environments
            and s.environment not in self.ws.agent_envs(s.agent)
        ):
            self.error(
                t,
                ("spec", "environment"),
                f"agent '{s.agent}' does not run in '{s.environment}'",
                f"add {s.environment} to agent.{s.agent}'s environments",
            )
        if s.prompts is not None:
            self.ws.prompts[lt.name] = list(s.prompts)
        elif s.prompts_file and self.file(
            t, ("spec", "promptsFile"), s.prompts_file, "prompts file"
        ):
            prompts, diags = load_prompts_file(self.ws.root, s.prompts_file, t.base_address)
            self.ws.diagnostics.extend(diags)
            if prompts is not None:
                self.ws.prompts[lt.name] = prompts

    def check_monitor(self, mon: Spec[Monitor]) -> None:
        s = mon.doc.spec
        t: Spec[Document] = mon
        self.run_common(t, s.agent, s.environment, s.evaluators)
        if (
            s.agent in self.ws.agents
            and s.environment in self.ws.environments
            and s.environment not in self.ws.agent_envs(s.agent)
        ):
            self.error(
                t,
                ("spec", "environment"),
                f"agent '{s.agent}' is not deployed in '{s.environment}', so it has no "
                "traces there to monitor",
                f"monitor an environment agent.{s.agent} runs in "
                f"({', '.join(self.ws.agent_envs(s.agent)) or 'none'}), or add "
                f"{s.environment} to its environments",
            )
        env = self.ws.environments.get(s.environment)
        # AgentCore agents write no local trace; with `store: langfuse` they export their
        # spans to Langfuse and the Monitor reads them there (providers.runs.monitor_source).
        if env is not None and env.doc.spec.runtime != "local" and env.doc.spec.store != "langfuse":
            self.error(
                t,
                ("spec", "environment"),
                f"'{s.environment}' runs agents on {env.doc.spec.runtime} with store: "
                f"{env.doc.spec.store}: its agents' traces go nowhere a Monitor can read "
                "(not the local trace store), so this Monitor would never judge a trace",
                f"give environment {s.environment} store: langfuse (its agents then export "
                "their spans to Langfuse and the Monitor reads them there; docs/aws.md)",
            )
