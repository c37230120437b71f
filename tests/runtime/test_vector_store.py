"""The text embedding cache (table text_embeddings): a server process that builds an index reads
the vectors any process stored before, encodes only texts never seen, and ranks exactly as if it
had encoded everything itself. Each test uses texts of its own, since the encoder (and what it
holds in memory) is shared by the whole test process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import numpy as np

from cuecard.app import create_app
from cuecard.core.config import Settings
from cuecard.core.db import Database
from cuecard.runtime import retrieval
from cuecard.runtime.compile import compile_snapshot
from cuecard.runtime.embedding import Encoder, encoder_for
from cuecard.runtime.vector_store import VectorStore, text_hash
from tests.runtime.helpers import add_training
from tests.runtime.test_hybrid_ranking import _snapshot

CreateAgent = Callable[..., Awaitable[dict[str, Any]]]
Headers = dict[str, str]


def _trainings() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]  # texts no other test has encoded
    return {
        f"Refunds {tag}": f"Refunds of order {tag} go back to the card within 5 business days.",
        f"Store hours {tag}": f"Store {tag} opens at 9 am and closes at 6 pm, Monday to Saturday.",
        f"Password reset {tag}": f"Send account {tag} a password reset link by email.",
    }


def _encoder() -> Encoder:
    encoder = encoder_for("en-US")
    assert encoder is not None
    return encoder


async def _retrieve(
    client: httpx.AsyncClient, headers: Headers, agent_id: str, text: str
) -> list[tuple[str, float]]:
    response = await client.post(
        f"/api/v1/agents/{agent_id}/runtime/retrieve",
        json={
            "version": "draft",
            "messages": [{"role": "user", "content": text}],
            "budget_tokens": 10_000,
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return [(d["subject"], d["score"]) for d in response.json()["documents"]]


async def _stored(app: Any, model: str, texts: list[str]) -> int:
    names = {f"h{i}": text_hash(text) for i, text in enumerate(texts)}
    async with app.state.db.transaction() as uow:
        row = await uow.one(
            "SELECT count(*) AS n FROM text_embeddings WHERE model = :model "
            f"AND text_hash IN ({', '.join(':' + name for name in names)})",
            {"model": model, **names},
        )
    assert row is not None
    return int(row["n"])


@asynccontextmanager
async def _another_process(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database with nothing in memory: its own compiled configs, and
    the encoder emptied of vectors, as in a freshly started worker."""
    _encoder().forget()
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def _agent(
    client: httpx.AsyncClient,
    headers: Headers,
    create_agent: CreateAgent,
    trainings: dict[str, str],
) -> str:
    agent = await create_agent(training_budget_tokens=5, language="en-US")
    for subject, instructions in trainings.items():
        await add_training(client, headers, agent["id"], subject=subject, instructions=instructions)
    return str(agent["id"])


class TestEmbeddingCache:
    async def test_another_process_reads_the_vectors_instead_of_encoding(
        self,
        app: Any,
        client: httpx.AsyncClient,
        headers: Headers,
        create_agent: CreateAgent,
        settings: Settings,
    ) -> None:
        trainings = _trainings()
        agent_id = await _agent(client, headers, create_agent, trainings)
        first = await _retrieve(client, headers, agent_id, "I want my money back")
        assert first and first[0][0].startswith("Refunds")
        texts = [*trainings, *trainings.values()]
        assert await _stored(app, _encoder().model_id, texts) == len(texts)

        async with _another_process(settings) as other:
            before = _encoder().encoded
            again = await _retrieve(other, headers, agent_id, "I want my money back")
            # Only the caller's turn went through the model: every training came from the table.
            assert _encoder().encoded - before == 1
        assert again == first

    async def test_a_new_version_encodes_only_the_texts_never_seen(
        self,
        app: Any,
        client: httpx.AsyncClient,
        headers: Headers,
        create_agent: CreateAgent,
        settings: Settings,
    ) -> None:
        trainings = _trainings()
        agent_id = await _agent(client, headers, create_agent, trainings)
        await _retrieve(client, headers, agent_id, "when do you open")
        tag = uuid.uuid4().hex[:8]
        added = {f"Gift cards {tag}": f"Gift card {tag} never expires and works in every store."}
        await add_training(
            client,
            headers,
            agent_id,
            subject=f"Gift cards {tag}",
            instructions=added[f"Gift cards {tag}"],
        )
        async with _another_process(settings) as other:
            before = _encoder().encoded
            found = await _retrieve(other, headers, agent_id, "do gift vouchers run out")
            # The new training's subject and instructions, and the turn; nothing else.
            assert _encoder().encoded - before == 3
        assert found[0][0] == f"Gift cards {tag}"
        texts = [*trainings, *trainings.values(), *added, *added.values()]
        assert await _stored(app, _encoder().model_id, texts) == len(texts)

    async def test_a_vector_stored_by_another_model_is_never_used(
        self,
        app: Any,
        client: httpx.AsyncClient,
        headers: Headers,
        create_agent: CreateAgent,
    ) -> None:
        trainings = _trainings()
        # Rows for these very texts, under another encoder's id, all pointing the same way: if
        # they were read, every training would look alike and the ranking would be lost.
        same = np.zeros(384, dtype="<f4")
        same[0] = 1.0
        async with app.state.db.transaction() as uow:
            await uow.write_many(
                "INSERT INTO text_embeddings (model, text_hash, vector) "
                "VALUES (:model, :text_hash, :vector)",
                [
                    {"model": "another-model", "text_hash": text_hash(t), "vector": same.tobytes()}
                    for t in [*trainings, *trainings.values()]
                ],
            )
        agent_id = await _agent(client, headers, create_agent, trainings)
        turn = "I forgot my login details"
        before, turn_cached = _encoder().encoded, _encoder().cached(turn)
        found = await _retrieve(client, headers, agent_id, turn)
        assert _encoder().encoded - before == 2 * len(trainings) + (0 if turn_cached else 1)
        assert found[0][0].startswith("Password reset")
        assert len({score for _, score in found}) == len(found)

    async def test_a_database_that_fails_only_means_encoding(self, database_url: str) -> None:
        trainings = _trainings()
        closed = await Database.connect(database_url)
        await closed.close()  # every read and write of the store now fails
        compiled = compile_snapshot(_snapshot(list(trainings.items())))
        before = _encoder().encoded
        await retrieval.prepare_index(compiled, VectorStore(closed))
        assert _encoder().encoded - before >= 2 * len(trainings)
        turn = [retrieval.Turn("user", "money back please")]
        found = retrieval.retrieve(compiled, turn, budget_tokens=10_000)
        assert found.documents[0].block.subject.startswith("Refunds")
