"""Budget checks: a price table names real models, and a `maxCost` can be priced.

Pipeline role: part of `resolve`. An Environment's `pricing.models` keys must be its model
aliases or `provider:id` strings. A run whose budget (its own, or its environment's) sets
`maxCost` must find a price (`engine.spec.pricing.price_of`) for every model it invokes:
the agent's (each matrix `model` of an Experiment) and the judge's, for every evaluator that
asks one. Without one the estimate could not be compared with the cap, so it is an error at
the `maxCost` that needs it, naming the model and the environment to price it in.
"""

from __future__ import annotations

from engine.spec.checks import Checks
from engine.spec.diagnostics import Diagnostic, did_you_mean
from engine.spec.pricing import judge_model, price_of
from engine.spec.schema import Document, Environment, ExperimentSpec, LoadTestSpec
from engine.spec.schema.base import MODEL_RE
from engine.spec.schema.qualitygate import QualityGateSpec
from engine.spec.specs import Spec, Workspace

RunSpec = ExperimentSpec | QualityGateSpec | LoadTestSpec


def run_models(ws: Workspace, spec: RunSpec) -> list[tuple[str, str]]:
    """(model as written, what invokes it) for every model a run may pay for."""
    out: list[tuple[str, str]] = []
    agent = ws.agents.get(spec.agent)
    if isinstance(spec, ExperimentSpec) and "model" in spec.matrix:
        for mv in spec.matrix["model"]:
            if isinstance(mv.value, str):
                out.append((mv.value, "a matrix value of model"))
    elif agent is not None:
        out.append((agent.doc.spec.model, f"agent {spec.agent}'s model"))
    refs = spec.grading.evaluators if isinstance(spec, LoadTestSpec) else spec.evaluators
    for ref in refs:
        model = judge_model(ws, spec.environment, ref)
        if model is not None:
            out.append((model, f"the judge of evaluator '{ref.label}'"))
    return out


class BudgetChecks(Checks):
    """Price tables and the prices a `maxCost` needs; appends diagnostics to the workspace."""

    def check(self) -> None:
        for env in self.ws.environments.values():
            self.pricing_keys(env)
        runs: list[Spec[Document]] = [
            *self.ws.experiments.values(),
            *self.ws.gates.values(),
            *self.ws.loadtests.values(),
        ]
        for run in runs:
            self.priced(run)

    def pricing_keys(self, env: Spec[Environment]) -> None:
        pricing = env.doc.spec.pricing
        if pricing is None:
            return
        aliases = env.doc.spec.models
        for key in pricing.models:
            if key in aliases or MODEL_RE.match(key):
                continue
            at = env.loc("spec", "pricing", "models", key, value=False)  # the key itself
            self.ws.diagnostics.append(
                Diagnostic(
                    at,
                    f"pricing for '{key}', which is neither a model alias of environment "
                    f"'{env.name}' nor provider:id",
                    env.base_address,
                    did_you_mean(key, aliases)
                    or f"use an alias under spec.models ({', '.join(sorted(aliases)) or 'none'}) "
                    "or provider:id, e.g. openai:gpt-4o-mini",
                )
            )

    def priced(self, run: Spec[Document]) -> None:
        spec: RunSpec = run.doc.spec
        env = self.ws.environments.get(spec.environment)
        if env is None:
            return  # run_checks reports the missing environment
        env_budget = env.doc.spec.budget
        if spec.budget is not None and spec.budget.max_cost is not None:
            where, at = run, ("spec", "budget", "maxCost")
            whose = "its budget.maxCost"
        elif env_budget is not None and env_budget.max_cost is not None:
            where, at = env, ("spec", "budget", "maxCost")
            whose = f"the budget.maxCost of environment '{env.name}'"
        else:
            return
        seen: set[str] = set()
        for model, what in run_models(self.ws, spec):
            if model in seen or price_of(self.ws, env.name, model) is not None:
                continue
            seen.add(model)
            key = f'"{model}"' if ":" in model else model
            self.error(
                where,
                at,
                f"{run.base_address}[{env.name}] is capped by {whose}, but environment "
                f"'{env.name}' has no price for model '{model}' ({what})",
                f"under spec.pricing.models of {env.raw.file} add {key}: {{input: <price of 1M "
                "input tokens>, output: <price of 1M output tokens>}, or remove maxCost",
            )
