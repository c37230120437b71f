"""Per-turn retrieval: rank the trainings a compiled config left out of the prompt.

A hybrid ranker: an in-process BM25 (Okapi, k1=1.2, b=0.75) fused with dense sentence embeddings
(all-MiniLM-L6-v2, `cuecard.runtime.embedding`), both built once per compiled version (cached with
it), so a query is one short model run, a matrix-vector product and a few dictionary lookups.

- Terms (BM25): lower-cased words, stemmed by the Snowball stemmer of the agent's language (so
  "returned" meets "returns"); English stop words are dropped; CJK text, which has no spaces,
  becomes character bigrams. The subject counts twice: it names what the training is about.
- Vectors (dense): a training is the normalised sum of its subject's and its instructions'
  vectors.
- The query is the recent conversation, not one message: the last user turn weighs 1, each earlier
  user turn half the one after it, assistant turns a quarter of that. (BM25: a term takes the
  highest weight it has, so a word repeated by the caller does not drown the others.) The dense
  query is the weighted sum of the user turns' vectors only: an assistant turn would weigh a
  quarter or less there, and encoding the agent's own, longer replies would double the model's
  cost of a caller turn; its words still count in BM25.
- Fusion: `DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT) * bm25 / (bm25 + BM25_HALF)`. The saturation
  maps BM25's unbounded score onto [0, 1) without looking at the other documents, so a score means
  the same thing for every query; rank fusion (RRF) cannot say "nothing here is relevant".
- Relevance: a training is a candidate only if its fused score, less `BACKGROUND_WEIGHT` times the
  turn's cosine with the nearest of a fixed set of small-talk and off-domain requests
  (`cuecard.runtime.off_topic`), reaches `THRESHOLD`. A turn that is closer to "what's the
  weather like tomorrow" than to any training retrieves nothing, while most real questions stand
  well above that background (not all: it costs some recall at the edge, bench/README.md). A
  fixed bar on the fused score alone could not tell "is it going to rain" (0.28 to opening
  hours) from a paraphrase that scores the same.
  The constants were tuned on the dev half of the labelled set in bench/retrieval/ and measured
  on the other half (bench/README.md).
- Languages the model does not cover rank with BM25 alone: every training that scores.
- Selection: best score first (ties by the training order), at most `top_k`, and only as many as
  fit the token budget.
"""

from __future__ import annotations

import asyncio
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import snowballstemmer  # type: ignore[import-untyped]

from cuecard.runtime import embedding
from cuecard.runtime.compile import Block, Compiled
from cuecard.runtime.embedding import Encoder, Vector, encoder_for
from cuecard.runtime.off_topic import BACKGROUND

if TYPE_CHECKING:
    from cuecard.runtime.vector_store import VectorStore

K1 = 1.2
B = 0.75
SUBJECT_WEIGHT = 2
RECENT_MESSAGES = 6
ASSISTANT_WEIGHT = 0.25
# Fusion (see the module docstring); tuned on the dev split by bench/retrieval_bench.py --tune.
DENSE_WEIGHT = 0.9
BM25_HALF = 12.0
DENSE_SUBJECT_WEIGHT = 1.0
BACKGROUND_WEIGHT = 0.5
# A background sentence this close to one of the agent's trainings is not small talk for it.
# Fixed, not tuned: below the similarity of the bench's clearest related pairs (about 0.4).
BACKGROUND_MAX_SIMILARITY = 0.3
THRESHOLD = 0.088
# Encoding more texts than this, or indexing more trainings, runs in a worker thread.
BUILD_INLINE_MAX = 16

_WORD = re.compile(r"\w+")
_STEMMERS = {
    "en": "english", "pt": "portuguese", "es": "spanish", "fr": "french", "de": "german",
    "it": "italian", "nl": "dutch",
}  # fmt: skip
_STOP_WORDS_TEXT = """
a an and are as at be been but by can could did do does for from had has have he her his how i
if in into is it its me my no not of on or our she so that the their them then there these they
this to too us was we were what when where which who why will with would you your yours ok okay
hi hello please thanks thank just
"""
_ENGLISH_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


# Hiragana, katakana, CJK ideographs, hangul syllables: scripts written without spaces.
_CJK = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@lru_cache(maxsize=16)
def analyzer(language: str) -> Callable[[str], list[str]]:
    """text -> index terms, for an agent language such as "en-US"."""
    code = language.split("-")[0].lower()
    algorithm = _STEMMERS.get(code)
    stemmer = snowballstemmer.stemmer(algorithm) if algorithm else None
    stop_words = _ENGLISH_STOP_WORDS if code == "en" else frozenset()

    @lru_cache(maxsize=65536)
    def term(word: str) -> str:
        return stemmer.stemWord(word) if stemmer is not None else word

    def analyze(text: str) -> list[str]:
        words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
        if not _CJK.search(text):
            return [term(word) for word in words if word not in stop_words]
        terms: list[str] = []
        for word in words:
            if _CJK.search(word):
                terms.extend(word[i : i + 2] for i in range(max(1, len(word) - 1)))
            elif word not in stop_words:
                terms.append(term(word))
        return terms

    return analyze


class Bm25Index:
    """An inverted index over trainings: term -> (docs, BM25 weight of the term in each doc).

    The weight (idf times the saturated, length-normalised term frequency) is fixed once the
    index is built, so a query only multiplies by its own term weights and adds, a term's whole
    postings at once. Postings are numpy arrays: 12 bytes each rather than a tuple's ~90.
    """

    def __init__(self, blocks: Sequence[Block], analyze: Callable[[str], list[str]]) -> None:
        self.blocks = list(blocks)
        self.analyze = analyze
        self.smallest = min((block.tokens for block in self.blocks), default=0)
        counted: list[Counter[str]] = []
        for block in self.blocks:
            counts = Counter(analyze(block.instructions))
            for subject_term in analyze(block.subject):
                counts[subject_term] += SUBJECT_WEIGHT
            counted.append(counts)
        lengths = [sum(counts.values()) for counts in counted]
        average = (sum(lengths) / len(lengths)) if lengths else 1.0
        norms = [K1 * (1 - B + B * length / (average or 1.0)) for length in lengths]
        frequencies: dict[str, list[tuple[int, int]]] = {}
        for doc, counts in enumerate(counted):
            for word, frequency in counts.items():
                frequencies.setdefault(word, []).append((doc, frequency))
        total = len(self.blocks)
        self.postings: dict[str, tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]] = {}
        for word, docs in frequencies.items():
            idf = math.log(1 + (total - len(docs) + 0.5) / (len(docs) + 0.5))
            self.postings[word] = (
                np.fromiter((doc for doc, _ in docs), dtype=np.int32, count=len(docs)),
                np.fromiter(
                    (idf * tf * (K1 + 1) / (tf + norms[doc]) for doc, tf in docs),
                    dtype=np.float64,
                    count=len(docs),
                ),
            )

    def scores(self, weights: dict[str, float]) -> npt.NDArray[np.float64]:
        """The score of every document, by position in `blocks`."""
        scores = np.zeros(len(self.blocks), dtype=np.float64)
        for word, weight in weights.items():
            posting = self.postings.get(word)
            if posting is not None:
                docs, values = posting  # a document appears once in a term's postings
                scores[docs] += weight * values
        return scores


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    content: str


def _turn_weights(messages: Sequence[Turn]) -> list[tuple[Turn, float]]:
    """The recent turns with their weight: the last user turn 1, earlier ones less."""
    weighted: list[tuple[Turn, float]] = []
    later_user_turns = 0
    for message in reversed(messages[-RECENT_MESSAGES:]):
        if message.role == "user":
            weight = 0.5**later_user_turns
            later_user_turns += 1
        elif message.role == "assistant":
            weight = ASSISTANT_WEIGHT * 0.5**later_user_turns
        else:
            continue
        weighted.append((message, weight))
    return weighted


def query_weights(messages: Sequence[Turn], analyze: Callable[[str], list[str]]
                  ) -> dict[str, float]:  # fmt: skip
    weights: dict[str, float] = {}
    for message, weight in _turn_weights(messages):
        for word in analyze(message.content):
            weights[word] = max(weights.get(word, 0.0), weight)
    return weights


def query_vector(messages: Sequence[Turn], encoder: Encoder) -> Vector | None:
    """The recent user turns' vectors, weighted (assistant turns count in BM25 only)."""
    total: Vector | None = None
    for message, weight in _turn_weights(messages):
        if message.role != "user" or not message.content.strip():
            continue
        vector = encoder.encode(message.content) * np.float32(weight)
        total = vector if total is None else total + vector
    if total is None:
        return None
    norm = float(np.linalg.norm(total))
    return total / norm if norm else None


def background_for(matrix: npt.NDArray[np.float32], encoder: Encoder) -> npt.NDArray[np.float32]:
    """The background sentences' vectors, less those close to one of these trainings."""
    background = encoder.encode_all(list(BACKGROUND))
    if not len(matrix):
        return background
    keep = (background @ matrix.T).max(axis=1) < BACKGROUND_MAX_SIMILARITY
    kept: npt.NDArray[np.float32] = background[keep]
    return kept


class DenseIndex:
    """One unit vector per training: its subject's and instructions' vectors, summed."""

    def __init__(self, blocks: Sequence[Block], encoder: Encoder) -> None:
        self.encoder = encoder
        subjects = encoder.encode_all([block.subject for block in blocks])
        instructions = encoder.encode_all([block.instructions for block in blocks])
        matrix = DENSE_SUBJECT_WEIGHT * subjects + instructions
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self.matrix = (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)
        self.background = background_for(self.matrix, encoder)


class Index:
    """What a version ranks with: BM25 always, dense vectors where the language has them."""

    def __init__(self, blocks: Sequence[Block], language: str) -> None:
        self.bm25 = Bm25Index(blocks, analyzer(language))
        encoder = encoder_for(language)
        self.dense = DenseIndex(blocks, encoder) if encoder is not None and blocks else None

    @property
    def blocks(self) -> list[Block]:
        return self.bm25.blocks

    def scores(self, messages: Sequence[Turn]) -> list[float]:
        """The score of every training (by position); only those > 0 are candidates."""
        lexical = self.bm25.scores(query_weights(messages, self.bm25.analyze))
        if self.dense is None:
            bm25_scores: list[float] = lexical.tolist()
            return bm25_scores
        query = query_vector(messages, self.dense.encoder)
        if query is None:
            return [0.0] * len(lexical)
        cosine = self.dense.matrix @ query
        fused = DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT) * lexical / (lexical + BM25_HALF)
        # Rounded so that float noise in the last bits never reorders equal trainings.
        fused = np.round(fused, 6)
        background = self.dense.background @ query
        nearest = float(background.max()) if len(background) else 0.0
        relevant = fused - BACKGROUND_WEIGHT * nearest >= THRESHOLD
        scores: list[float] = np.where(relevant, fused, 0.0).tolist()
        return scores


@dataclass(frozen=True, slots=True)
class Document:
    block: Block
    score: float


@dataclass(frozen=True, slots=True)
class Retrieval:
    documents: list[Document]
    budget_tokens: int
    used_tokens: int
    # Every candidate by rank (training position, score), before top_k and the budget: what a test
    # run shows when an expected training did not make it.
    ranking: list[tuple[int, float]] = field(default_factory=list)


_INDEX = "ranker"


def index_for(compiled: Compiled) -> Index:
    """The ranker of a compiled version, built on first use and kept with it."""
    return compiled.memo(_INDEX, lambda: Index(compiled.retrieved, compiled.language))


def has_index(compiled: Compiled) -> bool:
    return compiled.has_memo(_INDEX)


def _texts(compiled: Compiled) -> list[str]:
    """Every text the dense index of a version needs a vector of."""
    texts = [text for block in compiled.retrieved for text in (block.subject, block.instructions)]
    return [*texts, *BACKGROUND]


def _encode(encoder: Encoder, texts: Sequence[str]) -> dict[str, Vector]:
    return {text: encoder.encode(text) for text in texts}


async def prepare_index(compiled: Compiled, vectors: VectorStore | None = None) -> None:
    """Build the ranker of a version before its first retrieve, without blocking the event loop.

    Loading the model (seconds, once per process) and encoding many trainings run in a worker
    thread. With a `VectorStore`, vectors some process already computed are read from the
    database and only texts never seen are encoded (then stored for the others). Two requests
    racing here may both build the index: the results are equal and one is kept.
    """
    if has_index(compiled) or not compiled.retrieved:
        return
    if embedding.supports(compiled.language) and not embedding.loaded():
        await asyncio.to_thread(encoder_for, compiled.language)
    encoder = encoder_for(compiled.language)
    if encoder is None:
        if len(compiled.retrieved) > BUILD_INLINE_MAX:
            await asyncio.to_thread(index_for, compiled)
        return
    missing = encoder.missing(_texts(compiled))
    if missing and vectors is not None:
        encoder.remember(await vectors.load(encoder.model_id, missing))
        missing = encoder.missing(missing)
    if len(missing) > BUILD_INLINE_MAX:
        fresh = await asyncio.to_thread(_encode, encoder, missing)
    else:
        fresh = _encode(encoder, missing)
    if vectors is not None:
        if encoder.model_id not in vectors.background_saved:
            # Once per process and database: this process may have encoded the background for
            # another database, and a new process should find it here.
            fresh.update(_encode(encoder, [t for t in BACKGROUND if t not in fresh]))
            vectors.background_saved.add(encoder.model_id)
        await vectors.save(encoder.model_id, fresh)
    if len(compiled.retrieved) > BUILD_INLINE_MAX:
        await asyncio.to_thread(index_for, compiled)  # BM25 postings of many trainings


def default_budget(compiled: Compiled, node_id: str | None) -> int:
    """What is left of the training budget once the inline trainings of this turn are in."""
    return max(0, compiled.budget_tokens - compiled.pinned_tokens - compiled.node_tokens(node_id))


def retrieve(
    compiled: Compiled,
    messages: Sequence[Turn],
    *,
    node_id: str | None = None,
    top_k: int = 5,
    budget_tokens: int | None = None,
) -> Retrieval:
    budget = default_budget(compiled, node_id) if budget_tokens is None else budget_tokens
    index = index_for(compiled)
    scores = index.scores(messages)
    # Blocks are in training order, and a stable sort keeps that order among equal scores.
    ranked = sorted(
        [doc for doc, score in enumerate(scores) if score > 0],
        key=scores.__getitem__,
        reverse=True,
    )
    chosen: list[Document] = []
    used = 0
    for doc in ranked:
        block = index.blocks[doc]
        if used + block.tokens > budget:
            if budget - used < index.bm25.smallest:
                break  # nothing else can fit
            continue
        chosen.append(Document(block, round(scores[doc], 4)))
        used += block.tokens
        if len(chosen) == top_k:
            break
    return Retrieval(chosen, budget, used, [(doc, round(scores[doc], 4)) for doc in ranked])
