# Generated from agents/agentkit/embedding.py by scripts/vendor_harm.py - do not edit here.
# ruff: noqa
# mypy: ignore-errors
"""Sentence embeddings for the offline policies: WordLlama vectors read from its wheel.

Used by the semantic retriever (`agentkit.offline`) and the harm detector (`agentkit.harm`).
Kept in its own module so that the engine's Monitors can use the very same vectors (the
harm detector's weights were fitted on them): `scripts/vendor_harm.py` copies this file,
`harm.py` and `harm_lexicon.py` into `engine/evaluators/harm/`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> Any:  # numpy (n, d) array of unit vectors
        ...


class _WordLlamaEmbedder:
    """WordLlama ``l2_supercat`` 256-d token embeddings, mean-pooled - read straight from the files
    that the ``wordllama`` wheel bundles (``weights/`` and ``tokenizers/``).

    Only the package's data files are used, not its Python code: its loader differs between
    releases (0.4.x has x86-64/Windows wheels only; arm64 - AgentCore, Apple silicon - resolves
    to the pure-Python 0.2.x), would fall back to a download from a hub when a lookup misses, and
    reconfigures logging at import. The pooling below is WordLlama's own: average the token
    vectors of the text (no special tokens), then L2-normalise.
    """

    WEIGHTS = "weights/l2_supercat_256.safetensors"
    TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"

    def __init__(self, package_dir: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        pkg = package_dir or wordllama_package_dir()
        self._matrix = load_file(str(pkg / self.WEIGHTS))["embedding.weight"].astype("float32")
        self._tokenizer = Tokenizer.from_file(str(pkg / self.TOKENIZER))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _vector(self, text: str) -> Any:
        import numpy as np

        ids = self._tokenizer.encode(text, add_special_tokens=False).ids
        if not ids:
            return np.zeros(self._matrix.shape[1], dtype=np.float32)
        ids_arr = np.clip(np.asarray(ids), 0, self._matrix.shape[0] - 1)
        vec = self._matrix[ids_arr].mean(axis=0)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed(self, texts: list[str]) -> Any:
        import numpy as np

        with self._lock:
            if len(self._cache) > 20_000:  # bound memory in long-running processes
                self._cache.clear()
            for t in texts:
                if t not in self._cache:
                    # One text at a time: a vector never depends on what else was embedded.
                    self._cache[t] = self._vector(t)
            return np.stack([self._cache[t] for t in texts])


def wordllama_package_dir() -> Path:
    """Where the ``wordllama`` distribution keeps its files - found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "offline:semantic needs the 'wordllama' package (pip install 'wordllama>=0.2.2'); "
            "its wheel ships the embedding weights, nothing is downloaded"
        )
    return Path(next(iter(spec.submodule_search_locations)))


_EMBEDDER: Embedder | None = None
_EMBEDDER_LOCK = threading.Lock()


def get_embedder() -> Embedder:
    """Load the semantic backend once per process (about 0.3 s)."""
    global _EMBEDDER
    with _EMBEDDER_LOCK:
        if _EMBEDDER is None:
            _EMBEDDER = _WordLlamaEmbedder()
        return _EMBEDDER
