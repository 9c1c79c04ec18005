"""Property: whatever the bytes in a spec, dataset or prompts file, the engine only ever
answers with diagnostics. Never an exception, never the loader's last-resort catch-all.

Inputs start from the example workspace and the broken-spec corpus and are mutated the way
people (and editors, and merges) damage YAML: lines deleted or duplicated, characters swapped,
keys and values inserted, random unicode, deep nesting, huge numbers, tabs, anchors/aliases,
`<<` merge keys, empty documents and bytes that are not UTF-8.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.spec.diagnostics import Diagnostic
from engine.spec.graph import build_graph
from engine.spec.loader import load_text
from engine.spec.workspace import load_workspace

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO / "tests" / "corpus" / "validate"
EXAMPLE_FILES = sorted(
    p for d in ("specs", "environments") for p in (REPO / d).rglob("*.y*ml") if p.is_file()
)
SEEDS = [p.read_text("utf-8") for p in EXAMPLE_FILES] + [
    p.read_text("utf-8", errors="replace") for p in sorted(CORPUS.rglob("*.yaml"))
]
JSON_SEEDS = [(REPO / "dataset.json").read_text("utf-8"), (REPO / "load_config.json").read_text()]

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

KEYS = ["apiVersion", "kind", "metadata", "name", "spec", "model", "calls", "<<", "env", "x"]
NASTY = [
    "9" * 400,
    "-1e999",
    ".nan",
    "0x" + "f" * 80,
    "~",
    "null",
    "[]",
    "{}",
    "&a x",
    "*a",
    "!!binary aGk=",
    "!!set {a, b}",
    "!!python/object:os.system x",
    "!!python/object/apply:os.system [ls]",
    "!!python/name:os.system",
    "!custom {a: 1}",
    "!<tag:example.com,2000:x> y",
    "!!str 1",
    "! x",
    "2001-12-14",
    "'unterminated",
    '"\\uD800"',
    "|\n  block",
    "? complex",
    "\t",
    "%YAML 1.1",
    "---",
    "...",
    "ssm:/x",
    "env:",
    "evaluators/x.py:f",
    "../../etc/passwd",
    "/dev/null",
    "a\x00b",
]
scalars = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=12),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats().map(repr),
)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str]) -> bytes:
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        op = draw(st.integers(0, 11))
        if op == 0 and lines:  # delete a line
            del lines[i]
        elif op == 1 and lines:  # duplicate a line
            lines.insert(i, lines[i])
        elif op == 2 and len(text) > 1:  # swap two characters
            j = draw(st.integers(0, len(text) - 2))
            text = text[:j] + text[j + 1] + text[j] + text[j + 2 :]
            continue
        elif op == 3:  # insert a key with a value at some indentation
            indent = " " * draw(st.integers(0, 8))
            lines.insert(i, f"{indent}{draw(st.sampled_from(KEYS))}: {draw(scalars)}")
        elif op == 4:  # random unicode anywhere
            j = draw(st.integers(0, len(text)))
            text = text[:j] + draw(st.text(min_size=1, max_size=8)) + text[j:]
            continue
        elif op == 5:  # deep nesting, also past the composer's guard
            lines.insert(i, "deep: " + draw(nested()).replace("\n", " "))
        elif op == 6:  # tabs
            lines[i] = lines[i].replace("  ", "\t", 1)
        elif op == 7:  # anchors and aliases
            lines[i] = lines[i] + " &a"
            lines.insert(draw(st.integers(0, len(lines))), "  alias: *a")
        elif op == 8:  # merge keys
            lines.insert(i, draw(st.sampled_from(["  <<: *a", "<<: {x: 1}", "  <<: [*a, 1]"])))
        elif op == 9:  # empty documents
            lines.insert(i, "---\n---")
        elif op == 10:  # replace a value with something nasty
            head, sep, _ = lines[i].partition(": ")
            lines[i] = head + (sep or ": ") + draw(scalars)
        else:  # truncate
            lines = lines[:i]
        text = "\n".join(lines)
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:  # bytes that are not UTF-8
        j = draw(st.integers(0, len(data)))
        data = (
            data[:j]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]))
            + data[j:]
        )
    return data


class Raw(str):
    """A scalar written into the YAML as is (unquoted), so tags and odd forms get through."""


def _documents() -> list[object]:
    docs: list[object] = []
    for text in SEEDS:
        docs.extend(d.data for d in load_text(text, "seed.yaml")[0])
    return docs


DOCUMENTS = _documents()
BY_KIND: dict[str, list[object]] = {}
for _doc in DOCUMENTS:
    if isinstance(_doc, dict) and isinstance(_doc.get("kind"), str):
        BY_KIND.setdefault(_doc["kind"], []).append(_doc)

#: scalars YAML turns into something other than JSON data, or numbers that break arithmetic
CONFUSING = [
    "2001-12-14",
    "2001-12-14T21:59:43.10-05:00",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [{a: 1}]",
    "!!timestamp 2001-12-14",
    "!!float 1e999",
    "-.inf",
    ".nan",
    "1e400",
    "9" * 400,
    "-" + "9" * 400,
    "0o777777777777777777777777777777777777777",
]
leaves = st.one_of(
    st.sampled_from(CONFUSING).map(Raw),
    st.sampled_from(NASTY).map(Raw),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),
    st.text(max_size=10),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.sampled_from(KEYS), st.text(max_size=5), max_size=3),
)


def emit(node: object, indent: int = 0) -> str:
    """Block-style YAML: scalars as JSON (valid YAML) unless they are `Raw`."""
    pad = " " * indent
    if isinstance(node, dict) and node:
        return "".join(f"{pad}{json.dumps(str(k))}:" + _child(v, indent) for k, v in node.items())
    if isinstance(node, list) and node:
        return "".join(f"{pad}-" + _child(v, indent + 2, inline=True) for v in node)
    return f"{pad}{_scalar(node)}\n"


def _child(value: object, indent: int, inline: bool = False) -> str:
    if isinstance(value, dict | list) and value:
        return "\n" + emit(value, indent + (0 if inline else 2))
    return f" {_scalar(value)}\n"


def _scalar(value: object) -> str:
    if isinstance(value, Raw):
        return str(value).replace("\n", " ")
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    if isinstance(value, float) and value != value:
        return ".nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    return json.dumps(value)


def _leaf_paths(node: object, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(node, dict) and node:
        return [p for k, v in node.items() for p in _leaf_paths(v, (*path, k))]
    if isinstance(node, list) and node:
        return [p for i, v in enumerate(node) for p in _leaf_paths(v, (*path, i))]
    return [path]


def _set(node: object, path: tuple[str | int, ...], value: object) -> object:
    if not path:
        return value
    if isinstance(node, dict):
        return {**node, path[0]: _set(node[path[0]], path[1:], value)}
    if isinstance(node, list) and isinstance(path[0], int):
        return [_set(v, path[1:], value) if i == path[0] else v for i, v in enumerate(node)]
    return node


@st.composite
def one_document(draw: st.DrawFn) -> object:
    """A seed document of a random kind (kinds equally likely, whatever the seed counts)."""
    kind = draw(st.sampled_from(sorted(BY_KIND)))
    return draw(st.sampled_from(BY_KIND[kind]))


@st.composite
def tree_mutated(draw: st.DrawFn) -> bytes:
    """Valid documents with one value replaced, or many values replaced, dropped or misspelt.

    One odd value in an otherwise valid document is what reaches the late stages (resolving
    references, reading dataset items, digests), so that is the common case here.
    """
    docs = copy.deepcopy(draw(st.lists(one_document(), min_size=1, max_size=3)))
    texts = []
    for doc in docs:
        if draw(st.booleans()):
            path = draw(st.sampled_from(_leaf_paths(doc)))
            value = draw(st.one_of(st.sampled_from(CONFUSING).map(Raw), leaves))
            mutated_doc = _set(doc, path, value)
        else:
            mutated_doc = _scramble(draw, doc)
        meta = mutated_doc.get("metadata") if isinstance(mutated_doc, dict) else None
        if isinstance(meta, dict) and draw(st.booleans()):  # no clash with the example's names
            meta["name"] = f"{meta.get('name')}-{draw(st.integers(0, 9))}"
        texts.append(emit(mutated_doc))
    return "---\n".join(texts).encode("utf-8", "surrogatepass")


def _scramble(draw: st.DrawFn, doc: object) -> object:
    rnd = draw(st.randoms(use_true_random=False))
    values = draw(st.lists(leaves, min_size=1, max_size=3))
    p = draw(st.sampled_from([0.05, 0.2, 0.5]))

    def walk(node: object) -> object:
        if isinstance(node, dict):
            out: dict[str, object] = {}
            for key, value in node.items():
                r = rnd.random()
                if r < p / 4:
                    continue  # dropped
                out[key[:-1] + "x" if r < p / 2 else key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node if rnd.random() >= p / 4]
        return rnd.choice(values) if rnd.random() < p else node

    return walk(doc)


yaml_alphabet = st.sampled_from(list("ab:- []{},&*!|>'\"\n\t#<~?%@`0.é\u2028\ufeff"))
random_yaml = st.text(alphabet=yaml_alphabet, max_size=200)


OPENERS = ["[", "{a: ", "- ", "[{a: ", "? ", "a:\n  "]
CLOSERS = {"[": "]", "{a: ": "}", "[{a: ": "}]"}


@st.composite
def nested(draw: st.DrawFn) -> str:
    """Nesting of every kind (flow, block, mixed), from harmless to past the composer guard."""
    depth = draw(st.one_of(st.integers(1, 150), st.integers(900, 1100), st.integers(1, 5000)))
    kinds = draw(st.lists(st.sampled_from(OPENERS), min_size=1, max_size=3))
    opened = [kinds[i % len(kinds)] for i in range(depth)]
    flow = False
    text = ""
    for op in opened:  # block indicators are not allowed inside a flow collection
        if flow and op not in CLOSERS:
            op = "["
        flow = flow or op in CLOSERS
        text += op
    closing = "".join(CLOSERS.get(op, "") for op in reversed(opened) if op in CLOSERS)
    tail = draw(st.sampled_from(["x", "", "!!python/object:x y", "&a [*a]"]))
    return text + tail + closing


@st.composite
def sized(draw: st.DrawFn) -> str:
    """Big texts: long scalars, many keys, many documents."""
    n = draw(st.integers(1, 3000))
    shape = draw(st.integers(0, 2))
    if shape == 0:
        return "a: " + "x" * (n * 100) + "\n"
    if shape == 1:
        return "".join(f"k{i}: [{i}, {{v: {i}}}]\n" for i in range(n))
    return "---\n".join(f"- {i}\n" for i in range(n))


def check(diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        line = d.format()  # every diagnostic renders
        assert d.location.line >= 0 and d.location.col >= 0
        assert not d.message.startswith("cannot parse YAML"), line  # the catch-all fired


@given(
    st.one_of(
        random_yaml,
        mutated(SEEDS).map(lambda b: b.decode("utf-8", "replace")),
        nested(),
        sized(),
    )
)
@SETTINGS
def test_the_loader_only_ever_produces_diagnostics(text: str) -> None:
    docs, diagnostics = load_text(text, "f.yaml")
    check(diagnostics)
    for doc in docs:
        assert doc.values[()] == doc.start


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the example workspace; each example overwrites one file and restores it."""
    root = tmp_path_factory.mktemp("fuzz-workspace")
    for name in ("specs", "environments", "agents", "prompts", "evaluators"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dataset.json", "load_config.json"):
        shutil.copy(REPO / name, root / name)
    yield root


TARGETS = [p.relative_to(REPO).as_posix() for p in EXAMPLE_FILES]


@given(
    target=st.sampled_from(TARGETS + ["specs/extra.yaml"]),
    data=st.one_of(tree_mutated(), mutated(SEEDS), tree_mutated(), random_yaml.map(str.encode)),
)
@SETTINGS
def test_load_workspace_only_ever_produces_diagnostics(
    workspace: Path, target: str, data: bytes
) -> None:
    run_with(workspace, target, data)


@given(target=st.sampled_from(["dataset.json", "load_config.json"]), data=mutated(JSON_SEEDS))
@SETTINGS
def test_dataset_and_prompt_files_only_ever_produce_diagnostics(
    workspace: Path, target: str, data: bytes
) -> None:
    run_with(workspace, target, data)


def run_with(root: Path, target: str, data: bytes) -> None:
    path = root / target
    original = path.read_bytes() if path.exists() else None
    path.write_bytes(data)
    try:
        ws = load_workspace(root)
        check(ws.diagnostics)
        if ws.ok:
            build_graph(ws)  # a valid workspace always has a DAG
    finally:
        if original is None:
            path.unlink()
        else:
            path.write_bytes(original)


MINI = {
    "environments/dev.yaml": """\
apiVersion: agentops/v1
kind: Environment
metadata: {name: dev, labels: {team: x}}
spec:
  runtime: local
  store: local
  models: {fast: "offline:keyword"}
  judge: {model: fast, apiKey: "env:KEY"}
""",
    "specs/agents.yaml": """\
apiVersion: agentops/v1
kind: Agent
metadata: {name: bot}
spec:
  source: agent
  entrypoint: app.py
  model: fast
  systemPrompt: hello
  tools: [{name: docs, command: python, args: [x.py], env: {A: b}}]
  env: {DOCS: docs}
  secrets: {TOKEN: "env:TOKEN"}
  calls: [helper]
  environments: [dev]
  lifecycle: {idleTimeout: 5m, healthTimeout: 30}
---
apiVersion: agentops/v1
kind: Agent
metadata: {name: helper}
spec: {source: agent, entrypoint: app.py, model: "offline:keyword"}
""",
    "specs/runs.yaml": """\
apiVersion: agentops/v1
kind: Dataset
metadata: {name: golden}
spec:
  items:
    - {id: a, input: hi, expected_output: {trajectory: [x], refusal: false}, metadata: {k: v}}
    - {input: {q: 1}, expected_output: hello}
---
apiVersion: agentops/v1
kind: QualityGate
metadata: {name: release}
spec:
  agent: bot
  dataset: golden
  environment: dev
  evaluators: [{use: facts, threshold: {mean: 0.5}, passAt: 0.5}, refusal]
  latency: {p95Ms: 100}
  timeout: 10s
---
apiVersion: agentops/v1
kind: Experiment
metadata: {name: hpo}
spec:
  agent: bot
  dataset: golden
  environment: dev
  matrix: {model: [fast, "offline:semantic"], systemPrompt: [{name: a, value: b}]}
  evaluators: [facts]
  objective: {metric: facts}
---
apiVersion: agentops/v1
kind: LoadTest
metadata: {name: traffic}
spec:
  agent: bot
  environment: dev
  prompts: [{name: hi, prompt: hello, tags: [t], expect: answer}]
  users: 1
  duration: 1s
  slos: {p95Ms: 10, errorRate: 0.1}
""",
}
#: one value per kind of surprise: not JSON data, huge, not finite, empty, nested
SWEEP_VALUES = [
    "2001-12-14",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "9" * 400,
    ".nan",
    "-.inf",
    "null",
    "[[1]]",
    "{a: {b: 1}}",
]


def test_any_odd_value_in_any_field_is_only_a_diagnostic(tmp_path: Path) -> None:
    """A systematic sweep the random tests would rarely hit: one odd value in one field of an
    otherwise valid workspace, for every field and every odd value."""
    root = tmp_path
    (root / "agent").mkdir()
    (root / "agent" / "app.py").write_text("")
    for rel, text in MINI.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    assert load_workspace(root).ok, [d.format() for d in load_workspace(root).diagnostics]
    failures = []
    for rel, text in MINI.items():
        docs = [d.data for d in load_text(text, rel)[0]]
        for i, doc in enumerate(docs):
            for path in _leaf_paths(doc):
                for value in SWEEP_VALUES:
                    changed = [
                        _set(d, path, Raw(value)) if j == i else d for j, d in enumerate(docs)
                    ]
                    (root / rel).write_bytes("---\n".join(emit(d) for d in changed).encode())
                    try:
                        ws = load_workspace(root)
                        check(ws.diagnostics)
                        if ws.ok:
                            build_graph(ws)
                    except Exception as exc:  # noqa: BLE001 - collected, reported below
                        failures.append(f"{rel} doc {i} {path} = {value!r}: {exc!r}")
        (root / rel).write_text(text)
    assert failures == []
