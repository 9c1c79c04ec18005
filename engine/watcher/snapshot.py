"""The last valid desired state, kept in memory while the files on disk do not validate.

Pipeline role: replaces `reconcile.prepare`'s desired views for a resync of a broken
workspace. A broken save must not change what the watcher converges to, and the files the
last valid workspace pointed at may be half-written or gone by now (the dataset file being
edited, a prompt file renamed). So at every valid cycle we keep, in memory:

- the parsed workspace (dataset items and load-test prompts are already in it),
- with every `systemPromptFile` read and inlined (the local runtime re-reads the prompt
  when it restarts an agent; the digest is unchanged because it covers the text),
- the desired views, run inputs and provider names `prepare` computed from it.

A resync while broken then plans against exactly that, without reading a spec again. The
one thing not kept in memory is agent code: a restarted agent process runs what is in its
source directory (copying every agent's tree per cycle would cost more than it protects).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from engine.providers.base import Desired, RunInputs
from engine.reconcile import Session, recover_pending
from engine.spec.addresses import Address
from engine.spec.workspace import Spec, Workspace


@dataclass(frozen=True)
class Snapshot:
    ws: Workspace
    desired: dict[Address, Desired]
    run_inputs: dict[Address, RunInputs]
    providers: dict[Address, str]
    #: wall time of the cycle that validated it
    taken: float


def take(s: Session, wall: float) -> Snapshot:
    """Keep what a prepared session desires (call after `prepare`)."""
    return Snapshot(
        ws=_inline_prompts(s.ws),
        desired=dict(s.desired),
        run_inputs=dict(s.run_inputs),
        providers=dict(s.providers),
        taken=wall,
    )


def restore(s: Session, snap: Snapshot) -> None:
    """`prepare` for a session opened on `snap.ws`, from memory; observation is separate."""
    s.recovered = recover_pending(s)
    s.desired = dict(snap.desired)
    s.run_inputs = dict(snap.run_inputs)
    s.providers = dict(snap.providers)


def _inline_prompts(ws: Workspace) -> Workspace:
    pinned = copy.copy(ws)
    pinned.agents = dict(ws.agents)
    for name, agent in ws.agents.items():
        spec = agent.doc.spec
        if spec.system_prompt_file is None:
            continue
        text = (ws.root / spec.system_prompt_file).read_text(encoding="utf-8")
        # model_copy skips validation on purpose: the inline and file forms are exclusive
        # in the schema, and this copy is never validated again.
        new_spec = spec.model_copy(update={"system_prompt": text, "system_prompt_file": None})
        pinned.agents[name] = Spec(agent.doc.model_copy(update={"spec": new_spec}), agent.raw)
    return pinned
