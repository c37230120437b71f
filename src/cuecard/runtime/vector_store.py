"""The text embedding cache in the database (table `text_embeddings`).

Encoding a thousand trainings takes tens of seconds of CPU, and every server process and every
new version of an agent needs the vectors again. A vector depends only on the text and the
encoder, so it is stored once under (encoder id, SHA-256 of the text): a process that builds an
index reads what any process has encoded before and encodes only texts never seen.

It is a cache: a read or write that fails (a busy or unreachable database) is logged and the
index is built by encoding, never failing the request. Each read and write is its own short
transaction, outside the request's, so a request that rolls back or closes its connection early
(a test conversation waiting on the LLM) still leaves the vectors for the next one.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Mapping, Sequence

import asyncpg
import numpy as np

from cuecard.core.db import Database
from cuecard.core.errors import ServiceUnavailable
from cuecard.runtime.embedding import DIMENSIONS, Vector

log = logging.getLogger("cuecard.runtime")

# Keys per SELECT ... IN (...): far below SQLite's and asyncpg's parameter limits.
_CHUNK = 500
_BYTES = DIMENSIONS * 4
# The driver's own errors, and the 503s core.db turns database faults into.
_FAULTS = (
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
    ServiceUnavailable,
)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class VectorStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # The encoders whose background texts (cuecard.runtime.off_topic) this process stored.
        self.background_saved: set[str] = set()

    async def load(self, model: str, texts: Sequence[str]) -> dict[str, Vector]:
        """The stored vectors of those texts that have one."""
        by_hash = {text_hash(text): text for text in texts}
        hashes = list(by_hash)
        found: dict[str, Vector] = {}
        try:
            async with self.db.transaction() as uow:
                for start in range(0, len(hashes), _CHUNK):
                    chunk = hashes[start : start + _CHUNK]
                    names = {f"h{i}": value for i, value in enumerate(chunk)}
                    rows = await uow.all(
                        "SELECT text_hash, vector FROM text_embeddings WHERE model = :model "
                        f"AND text_hash IN ({', '.join(':' + name for name in names)})",
                        {"model": model, **names},
                    )
                    for row in rows:
                        raw = bytes(row["vector"])
                        if len(raw) == _BYTES:
                            found[by_hash[row["text_hash"]]] = np.frombuffer(raw, dtype="<f4")
        except _FAULTS as exc:
            log.warning("could not read stored text embeddings, encoding instead: %s", exc)
            return {}
        return found

    async def save(self, model: str, vectors: Mapping[str, Vector]) -> None:
        """Store new vectors; a text another process stored meanwhile keeps its row."""
        if not vectors:
            return
        rows = [
            {
                "model": model,
                "text_hash": text_hash(text),
                "vector": np.asarray(vector, dtype="<f4").tobytes(),
            }
            for text, vector in vectors.items()
        ]
        try:
            async with self.db.transaction() as uow:
                await uow.write_many(
                    "INSERT INTO text_embeddings (model, text_hash, vector) "
                    "VALUES (:model, :text_hash, :vector) "
                    "ON CONFLICT (model, text_hash) DO NOTHING",
                    rows,
                )
        except _FAULTS as exc:
            log.warning("could not store text embeddings: %s", exc)
