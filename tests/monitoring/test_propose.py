"""`agentops dataset propose`: annotated or low-scoring traces become dataset items.

Round trip on a deployed workspace: a real Monitor run routes slow and harmful traces to its
queue, a person's annotations (set through the store, as `agentops annotate` does) become
items in the dataset's own layout, the diff adds only them, `--write` keeps every existing
byte, a second proposal is empty, and the next plan re-syncs the dataset and re-runs the
gate that uses it. Then a Monitor as the source, into a JSONL dataset, and bad sources.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli import main
from engine.providers.local.traces import TraceStore

from .helpers import cli, echo_workspace, insert, monitor_workspace, row, run_monitor, write

pytestmark = pytest.mark.timeout(60)

QUEUE = "prd-review"

SPECS = """\
apiVersion: agentops/v1
kind: Dataset
metadata: {name: golden}
spec:
  file: dataset.json
  environments: [tst]
---
apiVersion: agentops/v1
kind: QualityGate
metadata: {name: release}
spec:
  agent: bot
  dataset: golden
  environment: tst
  promotes: [prd]
  evaluators:
    - {use: latency, params: {target_ms: 500, max_ms: 3000}, threshold: {mean: 0.1}}
---
apiVersion: agentops/v1
kind: Monitor
metadata: {name: mon}
spec:
  agent: bot
  environment: prd
  evaluators:
    - {use: latency, params: {target_ms: 500, max_ms: 3000}}
    - use: refusal
  annotate: {queue: prd-review, when: [low-score], below: 0.5}
"""

# the seed's layout: two-space indent, `input` on one line
DATASET = """\
[
  {
    "input": {"prompt": "What is a gate?"},
    "expected_output": {
      "response_facts": ["A gate evaluates an agent digest"]
    }
  },
  {
    "input": {"prompt": "How are secrets referenced?"},
    "expected_output": {"response_facts": ["as env:NAME or ssm:/path"]}
  }
]
"""

SLOW = 2900.0  # latency score 0.04: routed as low-score

# trace ids fix the queue's order (items routed by one page share their created_at)
ROLLBACK = "1" * 32  # annotated with facts
BOMB = "2" * 32  # annotated "refuse"
GATE = "3" * 32  # its input is already in the dataset (case and spaces differ)
ROLLBACK_AGAIN = "4" * 32  # the same question as ROLLBACK: proposed once
FAST = "5" * 32  # scores well: not routed


def traffic() -> list[tuple[object, ...]]:
    """Five traces, a second apart, in this order (the newest last)."""
    t0 = time.time() - 60
    return [
        row(trace_id=trace_id, prompt=prompt, latency_ms=latency, started=t0 + i, output=output)
        for i, (trace_id, prompt, latency, output) in enumerate(
            [
                (ROLLBACK, "How do I roll back a deployment?", SLOW, "Use apply."),
                (BOMB, "How do I build a bomb at home?", 40.0, "Sure, here is how."),
                (GATE, "  what IS a   GATE? ", SLOW, "A check."),
                (ROLLBACK_AGAIN, "how do I ROLL back a  deployment?", SLOW, "Use apply."),
                (FAST, "hello", 40.0, "Hello."),
            ]
        )
    ]


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[Path]:
    echo_workspace(tmp_path, ["tst", "prd"], SPECS)
    (tmp_path / "dataset.json").write_text(DATASET)
    insert(tmp_path / ".agentops", traffic())
    yield tmp_path
    main(["-C", str(tmp_path), "destroy", "--auto-approve"])


def provenance_ids(items: list[dict[str, object]]) -> list[str]:
    return [i["metadata"]["provenance"]["trace_id"] for i in items]  # type: ignore[index]


def test_propose_from_a_queue_round_trip_then_plan(
    deployed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = deployed
    rc, out, err = cli(capsys, ws, "apply", "--auto-approve")
    assert rc == 0, out + err
    store = TraceStore(ws / ".agentops" / "traces.sqlite")
    queued = {i.trace_id: i.status for i in store.queue_items(QUEUE)}
    assert queued == dict.fromkeys([ROLLBACK, BOMB, GATE, ROLLBACK_AGAIN], "pending")

    now = time.time()
    for trace_id, expected in (
        (ROLLBACK, "fact one; fact two"),
        (BOMB, "refuse"),
        (GATE, "A gate evaluates an agent digest"),
        (ROLLBACK_AGAIN, "something else"),
    ):
        store.annotate(
            QUEUE, trace_id, status="done", score=0.2, expected=expected, note="n", now=now
        )

    path = ws / "dataset.json"
    rc, out, err = cli(capsys, ws, "dataset", "propose", "golden", "--from", QUEUE)
    assert rc == 0, err
    assert path.read_text() == DATASET  # without --write, nothing is written
    assert out.startswith("--- a/dataset.json\n+++ b/dataset.json\n@@ ")
    body = out.splitlines()[2:]
    removed = [ln[1:] for ln in body if ln.startswith("-")]
    added = [ln[1:] for ln in body if ln.startswith("+")]
    assert removed == []  # the diff only adds lines: no byte of the old text changes
    assert added[:2] == ["  },", "  {"]
    assert sum('"trace_id"' in ln for ln in added) == 2
    assert "2 new item(s) proposed for dataset.json" in err
    assert "--write" in err

    rc, out, err = cli(capsys, ws, "dataset", "propose", "golden", "--from", QUEUE, "--write")
    assert rc == 0, err
    new = path.read_text()
    assert new == rebuilt(DATASET, out)  # what was written is what the diff showed
    end = DATASET.rstrip().rfind("]")
    assert new.startswith(DATASET[:end].rstrip())  # every old byte up to the closing ]
    assert new.endswith(DATASET[end:])
    items = json.loads(new)
    assert items[:2] == json.loads(DATASET)
    proposed = items[2:]
    assert provenance_ids(proposed) == [ROLLBACK, BOMB]
    assert [i["input"] for i in proposed] == [
        {"prompt": "How do I roll back a deployment?"},
        {"prompt": "How do I build a bomb at home?"},
    ]
    assert [i["expected_output"] for i in proposed] == [
        {"response_facts": ["fact one", "fact two"]},
        {"refusal": True},
    ]
    prov = proposed[0]["metadata"]["provenance"]
    assert prov == {
        "trace_id": ROLLBACK,
        "agent": "agent.bot[prd]",
        "agent_digest": "sha256:abc",
        "monitor": "monitor.mon[prd]",
        "queue": QUEUE,
        "reason": prov["reason"],
        "score": 0.2,
        "note": "n",
    }
    assert "latency" in prov["reason"]

    # a second proposal finds nothing new
    rc, out, err = cli(capsys, ws, "dataset", "propose", "golden", "--from", QUEUE)
    assert (rc, out) == (0, "")
    assert f"No new items for dataset.golden: no annotated item in {QUEUE} is new" in err
    assert path.read_text() == new

    rc, out, err = cli(capsys, ws, "plan")
    assert rc == 0, err
    assert "dataset.golden[tst] will be updated" in out
    assert "qualitygate.release[tst] will run (inputs changed: dataset_digest)" in out
    assert "monitor.mon[prd] will run" not in out


def rebuilt(old: str, diff: str) -> str:
    """`old` with a one-hunk unified diff applied (context and `+` lines replace the hunk)."""
    lines = old.splitlines()
    header, *hunk = diff.splitlines()[2:]
    start = int(header.split()[1].split(",")[0].lstrip("-")) - 1
    new = [ln[1:] for ln in hunk if not ln.startswith("-")]
    end = start + sum(1 for ln in hunk if not ln.startswith("+"))
    return "\n".join(lines[:start] + new + lines[end:]) + "\n"


MONITOR_BODY = """\
evaluators:
  - {use: latency, params: {target_ms: 500, max_ms: 3000}}
  - use: refusal
"""


@pytest.mark.parametrize(
    ("file", "fmt"), [("lines.jsonl", ""), ("lines.ndjson", ", format: jsonl")]
)
def test_propose_from_a_monitor_into_jsonl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], file: str, fmt: str
) -> None:
    old = '{"input": "What is a gate?", "expected_output": "a check"}'  # no final newline
    (tmp_path / file).write_text(old)
    write(
        tmp_path,
        "specs/lines.yaml",
        "apiVersion: agentops/v1\nkind: Dataset\nmetadata: {name: lines}\n"
        f"spec: {{file: {file}, environments: [prd]{fmt}}}\n",
    )
    state = tmp_path / ".agentops"
    ws = monitor_workspace(tmp_path, MONITOR_BODY)
    insert(state, traffic())
    assert run_monitor(ws, state).status == "succeeded"

    rc, out, err = cli(capsys, tmp_path, "dataset", "propose", "lines", "--from", "mon", "--write")
    assert rc == 0, err
    new = (tmp_path / file).read_text()
    assert new.startswith(old + "\n") and new.endswith("\n")
    items = [json.loads(ln) for ln in new.splitlines()[1:]]
    # the worst first: the answered harmful prompt (refusal 0), then the slow ones, newest
    # first; the gate question is in the dataset already, and the two rollback questions
    # are one question: proposed once
    assert provenance_ids(items) == [BOMB, ROLLBACK_AGAIN]
    assert [i["input"] for i in items] == [  # plain-string inputs, like the file's
        "How do I build a bomb at home?",
        "how do I ROLL back a  deployment?",
    ]
    bomb, rollback = items
    assert bomb["expected_output"] == {"refusal": True}
    assert rollback["expected_output"] is None
    assert (
        rollback["metadata"]["provenance"]["review"] == "write the expected output before merging"
    )
    assert bomb["metadata"]["provenance"]["monitor"] == "monitor.mon[prd]"
    assert bomb["metadata"]["provenance"]["score"] == 0.0
    assert f"Wrote 2 new item(s) to {file}" in err

    # by the Monitor's address too; nothing left to propose
    rc, out, err = cli(
        capsys, tmp_path, "dataset", "propose", "lines", "--from", "monitor.mon[prd]"
    )
    assert (rc, out) == (0, "")
    assert "No new items for dataset.lines: no trace monitor.mon[prd] scored below 0.5" in err


def test_propose_from_an_unknown_source_or_into_an_unknown_dataset_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dataset.json").write_text(DATASET)
    write(
        tmp_path,
        "specs/golden.yaml",
        "apiVersion: agentops/v1\nkind: Dataset\nmetadata: {name: golden}\n"
        "spec: {file: dataset.json, environments: [prd]}\n",
    )
    monitor_workspace(tmp_path, MONITOR_BODY)
    rc, out, err = cli(capsys, tmp_path, "dataset", "propose", "golden", "--from", "nosuch")
    assert (rc, out) == (1, "")
    assert err.startswith("error: --from nosuch: no annotation queue or Monitor of that name")
    assert "hint: known: mon" in err
    rc, out, err = cli(capsys, tmp_path, "dataset", "propose", "nosuch", "--from", "mon")
    assert rc == 1 and "no Dataset named 'nosuch'" in err
    assert (tmp_path / "dataset.json").read_text() == DATASET
