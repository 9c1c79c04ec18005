"""Gate checks: what a QualityGate refers to, and whether its promotion can ever happen.

Pipeline role: part of `resolve`, after the other run checks. Besides the references (the
agent, dataset, environments, `covers:`), two promises of `promotes:` are checked up front
instead of surfacing as a blocked line in some later plan:

* the gate can promote: every agent it covers has the same digest in the gate's environment
  as in each environment it promotes (the digest differs only by what the environment
  resolves, `digests.env_attrs`: a model alias `fast` that is `offline:keyword` in tst and a
  Bedrock model in prd means the gate tests one digest and prd would receive another, so
  prd is blocked for ever) - an error, at the `promotes` entry, saying what differs;
* every agent of a promoted environment is covered by a gate that promotes it (its agent,
  their callees, their `covers:`, `engine.spec.coverage`) - otherwise a warning: the plan
  blocks that agent there, so nothing unsafe happens, but the user should know before.
"""

from __future__ import annotations

from engine.spec.coverage import call_closure, covered
from engine.spec.digests import env_attrs
from engine.spec.run_checks import RunChecks
from engine.spec.schema import Document, QualityGate
from engine.spec.specs import Spec


class GateChecks(RunChecks):
    """Checks of the QualityGates; appends diagnostics to the workspace."""

    def check_gate(self, gate: Spec[QualityGate]) -> None:
        s = gate.doc.spec
        g: Spec[Document] = gate
        self.run_common(g, s.agent, s.environment, s.evaluators)
        self.dataset_in_env(g, s.dataset, s.environment)
        self.callees_in_env(g, s.agent, s.environment)
        self.envs(g, ("spec", "promotes"), s.promotes)
        if s.agent in self.ws.agents:
            runs_in = self.ws.agent_envs(s.agent)
            for i, env in enumerate(s.promotes):
                if env in self.ws.environments and env not in runs_in:
                    self.error(
                        g,
                        ("spec", "promotes", i),
                        f"agent '{s.agent}' does not run in '{env}'",
                        f"add {env} to agent.{s.agent}'s environments",
                    )
        if s.baseline is not None and s.baseline.environment is not None:
            at = ("spec", "baseline", "environment")
            if (
                self.ref(g, at, "Environment", s.baseline.environment)
                and s.agent in self.ws.agents
                and s.baseline.environment not in self.ws.agent_envs(s.agent)
            ):
                self.error(
                    g,
                    at,
                    f"agent '{s.agent}' does not run in '{s.baseline.environment}': nothing "
                    "there to compare with",
                    f"add {s.baseline.environment} to agent.{s.agent}'s environments, or "
                    "name another baseline environment",
                )
        if s.environment in s.promotes:
            self.error(
                g,
                ("spec", "environment"),
                "the test environment cannot also be promoted by the gate",
            )
        self.check_covers(gate)
        self.check_promotable(gate)

    def check_covers(self, gate: Spec[QualityGate]) -> None:
        s = gate.doc.spec
        g: Spec[Document] = gate
        calls = self._calls()
        unit = {s.agent, *call_closure(calls, s.agent)}
        for i, name in enumerate(s.covers):
            at = ("spec", "covers", i)
            if not self.ref(g, at, "Agent", name):
                continue
            if name in unit:
                how = "is the gate's agent" if name == s.agent else f"is called by '{s.agent}'"
                self.warn(
                    g, at, f"'{name}' {how}: the gate covers it already", "remove it from covers"
                )
            elif s.environment in self.ws.environments and s.environment not in (
                self.ws.agent_envs(name)
            ):
                self.error(
                    g,
                    at,
                    f"covered agent '{name}' does not run in '{s.environment}': the gate "
                    "vouches for its digest there",
                    f"add {s.environment} to agent.{name}'s environments",
                )

    def check_promotable(self, gate: Spec[QualityGate]) -> None:
        """Error at each `promotes` entry whose environment resolves a covered agent to
        another digest than the gate's environment does."""
        s = gate.doc.spec
        g: Spec[Document] = gate
        if s.environment not in self.ws.environments or s.agent not in self.ws.agents:
            return
        names = [n for n in covered(self._calls(), s) if n in self.ws.agents]
        for i, env in enumerate(s.promotes):
            if env not in self.ws.environments or env == s.environment:
                continue
            for name in names:
                agent = self.ws.agents[name].doc.spec
                envs = self.ws.agent_envs(name)
                if env not in envs or s.environment not in envs:
                    continue
                tested = env_attrs(self.ws, agent, s.environment)
                shipped = env_attrs(self.ws, agent, env)
                if None in tested.values() or None in shipped.values() or tested == shipped:
                    continue  # an undefined alias is reported at the agent
                what = "; ".join(
                    f"{key} '{getattr(agent, key)}' is {tested[key]} in {s.environment} but "
                    f"{shipped[key]} in {env}"
                    for key in sorted(tested)
                    if tested[key] != shipped[key]
                )
                self.error(
                    g,
                    ("spec", "promotes", i),
                    f"can never promote agent '{name}' to '{env}': the digest it tests in "
                    f"'{s.environment}' is not the one '{env}' would receive ({what})",
                    f"give environment {s.environment} the same models as {env} - "
                    "examples/aws/environments/ has a tst that mirrors its prd - or gate in "
                    f"an environment that resolves them as {env} does",
                )

    def check_coverage(self) -> None:
        """Warn, at a gate's `promotes` entry, about each agent of a promoted environment
        that no gate promoting that environment covers."""
        calls = self._calls()
        gates = sorted(self.ws.gates.items())
        for env in sorted({e for _, g in gates for e in g.doc.spec.promotes}):
            if env not in self.ws.environments:
                continue
            promoting = [(n, g) for n, g in gates if env in g.doc.spec.promotes]
            held = {a for _, g in promoting for a in covered(calls, g.doc.spec)}
            name, first = promoting[0]
            at = ("spec", "promotes", first.doc.spec.promotes.index(env))
            for agent in sorted(self.ws.agents):
                if agent in held or env not in self.ws.agent_envs(agent):
                    continue
                self.warn(
                    first,
                    at,
                    f"'{env}' is promoted, but agent '{agent}' runs there and no gate covers "
                    f"it: the plan blocks every change to agent.{agent}[{env}]",
                    f"give it a QualityGate that promotes {env}, or list it in covers: of "
                    f"qualitygate.{name}, which vouches for its digest without evaluating it",
                )

    def _calls(self) -> dict[str, list[str]]:
        return {n: a.doc.spec.calls for n, a in self.ws.agents.items()}
