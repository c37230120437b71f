"""Compiled configs, kept in process memory so an unchanged agent is never recompiled.

Keys name content that cannot change: `(agent_id, "version", n)` is an immutable snapshot, and
`(agent_id, "draft", draft_revision)` is the draft at one revision, since every write to an agent
or its trainings bumps `draft_revision` in the same transaction. A write therefore never has to
invalidate anything: the next read asks for a new key, and stale entries age out of the LRU.
Each server process has its own cache; they agree because the keys come from the database.

The LRU is bounded by trainings held, not entries: one agent with 1,000 trainings weighs as much
as a hundred small ones. A compiled training costs about 2 KB with its BM25 postings (measured
with 500-character instructions) plus 1.5 KB for its dense vector (384 float32), so the default
bound is about 70 MB per process.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from cuecard.core.metrics import COMPILED_CONFIG_CACHE
from cuecard.runtime.compile import Compiled

if TYPE_CHECKING:
    from cuecard.runtime.vector_store import VectorStore

_HITS = COMPILED_CONFIG_CACHE.labels("hit")
_MISSES = COMPILED_CONFIG_CACHE.labels("miss")

CacheKey = tuple[str, str, int]


def draft_key(agent_id: str, draft_revision: int) -> CacheKey:
    return (agent_id, "draft", draft_revision)


def version_key(agent_id: str, version: int) -> CacheKey:
    return (agent_id, "version", version)


def _weight(compiled: Compiled) -> int:
    return 1 + len(compiled.snapshot["trainings"])


class CompiledCache:
    def __init__(self, max_trainings: int = 20_000) -> None:
        self.max_trainings = max_trainings
        self._entries: OrderedDict[CacheKey, Compiled] = OrderedDict()
        self._weight = 0
        # Where index builds find and keep text vectors; set once the database is open.
        self.vectors: VectorStore | None = None

    def get(self, key: CacheKey) -> Compiled | None:
        compiled = self._entries.get(key)
        if compiled is not None:
            self._entries.move_to_end(key)
            _HITS.inc()
        else:
            _MISSES.inc()
        return compiled

    def put(self, key: CacheKey, compiled: Compiled) -> None:
        if key in self._entries:
            self._weight -= _weight(self._entries.pop(key))
        self._entries[key] = compiled
        self._weight += _weight(compiled)
        # Always keep the newest entry, even one heavier than the whole bound.
        while self._weight > self.max_trainings and len(self._entries) > 1:
            _, evicted = self._entries.popitem(last=False)
            self._weight -= _weight(evicted)

    def __len__(self) -> int:
        return len(self._entries)
