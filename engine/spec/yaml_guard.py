"""YAML guards: what a document must not be before (and while) it is composed.

Pipeline role: part of `load`, called by `loader.py`. The C composer (libyaml, through
ruamel's extension) recurses once per nesting level on the C stack: 30,000 nested `[` kill
the process with a segmentation fault before the loader's own depth check ever runs. So a
text that *could* nest that deep is first walked as a flat event stream (the C parser keeps
its own heap stack, it does not recurse), and refused at the first level past the limit.
Most spec files cannot nest deeply at all: every level needs one of the characters
`[ { - ? :`, so a text with few of them skips the walk and costs nothing.

Tags are checked here too: a spec is plain data, and `!!python/object/apply:...` or a local
`!tag` is never something the user meant to be a string.
"""

from __future__ import annotations

from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent

from engine.spec.diagnostics import SourceLocation

#: nesting the C composer is known to survive with a small (1 MB) thread stack; a text that
#: nests deeper is refused before composing (the loader's own limit, MAX_DEPTH, is lower and
#: is reported per document for anything between the two)
SAFE_COMPOSE_DEPTH = 1_000
#: the longest YAML text parsed at all (characters): specs are small; this bounds memory and time
MAX_YAML_CHARS = 10 * 1024 * 1024
#: every nesting level needs at least one of these characters
_NESTING_CHARS = "[{-?:"

YAML_TAG_PREFIX = "tag:yaml.org,2002:"
#: the tags a spec may use (mostly implicitly): YAML 1.2's core schema plus the types the
#: loader keeps as the text they were written as (timestamps, binary, sets, omaps)
ALLOWED_TAGS = frozenset(
    {"!"}
    | {
        YAML_TAG_PREFIX + t
        for t in (
            "str",
            "int",
            "float",
            "bool",
            "null",
            "map",
            "seq",
            "merge",
            "timestamp",
            "binary",
            "set",
            "omap",
            "pairs",
        )
    }
)


class TooDeep(Exception):
    """Raised by `check_depth`: where the first collection past the loader's limit starts."""

    def __init__(self, line: int, col: int) -> None:
        super().__init__(f"nesting deeper than {SAFE_COMPOSE_DEPTH} levels")
        self.line, self.col = line, col


def could_nest_deeply(text: str) -> bool:
    """False when `text` cannot nest past SAFE_COMPOSE_DEPTH (cheap: a few `str.count`s)."""
    budget = 0
    for ch in _NESTING_CHARS:
        budget += text.count(ch)
        if budget > SAFE_COMPOSE_DEPTH:
            return True
    return False


def check_depth(loader_class: type, text: str, limit: int) -> None:
    """Walk the event stream of `text`; raise TooDeep if it nests past SAFE_COMPOSE_DEPTH.

    TooDeep points where nesting first went past `limit` (the loader's own limit), so the
    diagnostic is the one the loader gives for shallower documents. YAML errors are left to
    the real parse, which reports them with positions."""
    parser = loader_class(text)
    depth = 0
    first: tuple[int, int] | None = None
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth == limit + 2 and first is None:  # the loader counts from 0
                    first = (event.start_mark.line + 1, event.start_mark.column + 1)
                if depth > SAFE_COMPOSE_DEPTH and first is not None:
                    raise TooDeep(*first)
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
                if depth <= limit + 1:
                    first = None
    except TooDeep:
        raise
    except Exception:  # noqa: BLE001 - invalid YAML: the real parse says where and why
        return
    finally:
        dispose = getattr(parser, "dispose", None)
        if dispose is not None:
            dispose()


def too_large(text: str, file: str) -> tuple[SourceLocation, str, str] | None:
    """(where, message, hint) when `text` is longer than any spec should be."""
    if len(text) <= MAX_YAML_CHARS:
        return None
    return (
        SourceLocation(file, 1, 1),
        f"file is larger than {MAX_YAML_CHARS // (1024 * 1024)} MB of text",
        "split it into several files; specs are small",
    )


def disallowed_tag(tag: str | None) -> str | None:
    """The tag as written (`!!python/...`, `!foo`) when a spec may not use it, else None."""
    if tag is None or tag in ALLOWED_TAGS:
        return None
    if tag.startswith(YAML_TAG_PREFIX):
        return "!!" + tag[len(YAML_TAG_PREFIX) :]
    return tag
