"""Offline sentence similarity for `facts` (method ``semantic``), backed by WordLlama.

Role: a small embedding model that runs with no network and no GPU. WordLlama
(``pip install wordllama``, MIT) ships its default model *inside the wheel*: the 256-dim
``l2_supercat`` token embeddings (16 MB safetensors) and the tokenizer config. Loading takes
~0.3 s once per process; embedding a few sentences takes microseconds.

Gotcha (wordllama 0.4.0): ``WordLlama.load()`` looks for the bundled tokenizer in
``wordllama/tokenizer/`` while the wheel installs it in ``wordllama/tokenizers/``, so a
plain ``load()`` tries to download it from Hugging Face and fails offline. Passing
``cache_dir=<the wordllama package dir>`` makes its cache lookup (``<cache_dir>/tokenizers``)
hit the bundled file, and ``disable_download=True`` guarantees it never touches the network
(verified with ``HF_HUB_OFFLINE=1`` inside ``unshare -n``).

What the score means: WordLlama averages token embeddings, so it measures *topical*
closeness. Paraphrases with shared vocabulary score high (0.6-0.9), unrelated text near 0;
it does **not** see negation ("open source" vs "closed source" still scores high) and
misses paraphrases with no shared words. Use the judge method when correctness matters.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from engine.errors import EvaluatorConfigError
from engine.evaluators.judge import INSTALL_HINT

_lock = threading.Lock()
_model: Any = None


def available() -> bool:
    """Whether wordllama is installed (checked without importing it)."""
    from importlib.util import find_spec

    return find_spec("wordllama") is not None


def require() -> None:
    if not available():
        raise EvaluatorConfigError(
            "facts with method 'semantic' needs the 'wordllama' package, which is not installed",
            hint=f"{INSTALL_HINT}, or use method: lexical",
        )


def model() -> Any:
    """The process-wide WordLlama model, loaded on first use from the wheel's own files."""
    global _model
    with _lock:
        if _model is None:
            from importlib import import_module
            from pathlib import Path

            # import_module keeps mypy from demanding stubs wordllama does not ship.
            wordllama = import_module("wordllama")
            package_dir = Path(wordllama.__file__ or ".").parent
            _model = wordllama.WordLlama.load(cache_dir=package_dir, disable_download=True)
        return _model


def best_similarity(text: str, candidates: Sequence[str]) -> tuple[float, int]:
    """(cosine similarity, index) of the candidate closest to `text`; (0.0, -1) if none."""
    if not candidates or not text.strip():
        return 0.0, -1
    wl = model()
    import numpy as np

    with np.errstate(invalid="ignore", divide="ignore"):
        vectors = wl.embed([text, *candidates], norm=True)
    sims = np.asarray(vectors[1:] @ vectors[0], dtype=float)
    # Empty or out-of-vocabulary strings embed to a zero vector -> NaN after normalising.
    sims = np.nan_to_num(sims, nan=0.0)
    best = int(np.argmax(sims))
    return float(sims[best]), best
