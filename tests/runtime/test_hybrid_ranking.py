"""The hybrid ranker through POST .../runtime/retrieve: paraphrases, the relevance threshold,
BM25 alone where the model has no language, determinism and the off-loop build."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from cuecard.runtime import retrieval
from cuecard.runtime.compile import compile_snapshot
from cuecard.runtime.embedding import encoder_for
from cuecard.runtime.retrieval import Turn, retrieve
from tests.runtime.helpers import add_training

CreateAgent = Callable[..., Awaitable[dict[str, Any]]]
Headers = dict[str, str]

TRAININGS = {
    "Refunds": "Refunds are issued to the original payment method within 5 business days.",
    "Returns": "Items can be sent back within 30 days with the prepaid label.",
    "Store hours": "Stores open at 9 am and close at 6 pm, Monday to Saturday.",
    "Password reset": "Send a password reset link to the email on the account.",
    "Delivery tracking": "Every order gets a tracking link by text once it is dispatched.",
}


async def _agent(
    client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent, language: str
) -> dict[str, Any]:
    agent = await create_agent(training_budget_tokens=5, language=language)
    for subject, instructions in TRAININGS.items():
        await add_training(client, headers, agent["id"], subject=subject, instructions=instructions)
    return agent


async def _subjects(
    client: httpx.AsyncClient, headers: Headers, agent_id: str, text: str
) -> list[str]:
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
    return [d["subject"] for d in response.json()["documents"]]


class TestHybridRanking:
    async def test_a_paraphrase_without_the_trainings_words_finds_it(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await _agent(client, headers, create_agent, "en-US")
        assert (await _subjects(client, headers, agent["id"], "I want my money back"))[0] == (
            "Refunds"
        )
        assert (await _subjects(client, headers, agent["id"], "where is my parcel"))[0] == (
            "Delivery tracking"
        )

    async def test_an_off_topic_turn_retrieves_nothing(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await _agent(client, headers, create_agent, "en-US")
        assert await _subjects(client, headers, agent["id"], "who won the football yesterday") == []

    async def test_small_talk_near_a_training_retrieves_nothing(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await _agent(client, headers, create_agent, "en-US")
        assert await _subjects(client, headers, agent["id"], "will it rain on Saturday") == []
        assert (await _subjects(client, headers, agent["id"], "are you open on Saturday"))[0] == (
            "Store hours"
        )

    async def test_a_language_the_model_lacks_ranks_with_bm25_alone(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        # Same English texts, agent in Dutch: no dense model, so the paraphrase finds nothing,
        # while a shared word still does.
        agent = await _agent(client, headers, create_agent, "nl-NL")
        assert await _subjects(client, headers, agent["id"], "reimbursement wanted") == []
        assert (await _subjects(client, headers, agent["id"], "password link"))[0] == (
            "Password reset"
        )

    async def test_the_same_request_gives_the_same_documents_and_scores(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await _agent(client, headers, create_agent, "en-US")
        body = {
            "version": "draft",
            "budget_tokens": 10_000,
            "messages": [{"role": "user", "content": "can I send this back for cash"}],
        }
        path = f"/api/v1/agents/{agent['id']}/runtime/retrieve"
        first = (await client.post(path, json=body, headers=headers)).json()["documents"]
        second = (await client.post(path, json=body, headers=headers)).json()["documents"]
        assert first and first == second


def _snapshot(trainings: list[tuple[str, str]], language: str = "en-US") -> dict[str, Any]:
    return {
        "agent": {"id": "a", "language": language, "training_budget_tokens": 1},
        "trainings": [
            {
                "id": f"t{i}",
                "node_id": None,
                "subject": subject,
                "instructions": text,
                "current_status": "active",
                "position": i,
                "pinned": False,
                "created_at": "2026-01-01T00:00:00.000000Z",
            }
            for i, (subject, text) in enumerate(trainings)
        ],
    }


class TestFusion:
    def test_the_score_is_the_weighted_sum_of_cosine_and_saturated_bm25(self) -> None:
        compiled = compile_snapshot(_snapshot(list(TRAININGS.items())))
        messages = [Turn("user", "how do I reset my password")]
        found = retrieve(compiled, messages, budget_tokens=10_000)
        index = retrieval.index_for(compiled)
        encoder = encoder_for("en-US")
        assert encoder is not None and index.dense is not None
        query = retrieval.query_vector(messages, encoder)
        assert query is not None
        bm25 = index.bm25.scores(retrieval.query_weights(messages, index.bm25.analyze))
        top = found.documents[0]
        position = index.blocks.index(top.block)
        cosine = float(index.dense.matrix[position] @ query)
        expected = retrieval.DENSE_WEIGHT * cosine + (1 - retrieval.DENSE_WEIGHT) * (
            bm25[position] / (bm25[position] + retrieval.BM25_HALF)
        )
        assert top.block.subject == "Password reset"
        assert top.score == pytest.approx(expected, abs=1e-4)
        # Every returned document cleared the bar over the background, and the ranking is by score.
        nearest = float((index.dense.background @ query).max())
        scores = [doc.score for doc in found.documents]
        assert scores == sorted(scores, reverse=True)
        assert min(scores) - retrieval.BACKGROUND_WEIGHT * nearest >= retrieval.THRESHOLD - 1e-4

    def test_a_turn_nearer_small_talk_than_any_training_retrieves_nothing(self) -> None:
        compiled = compile_snapshot(_snapshot(list(TRAININGS.items())))
        index = retrieval.index_for(compiled)
        encoder = encoder_for("en-US")
        assert encoder is not None and index.dense is not None
        rain = [Turn("user", "will it rain on Saturday")]
        query = retrieval.query_vector(rain, encoder)
        assert query is not None
        hours = [b.subject for b in index.blocks].index("Store hours")
        fused = retrieval.DENSE_WEIGHT * float(index.dense.matrix[hours] @ query)
        # On its fused score alone "Store hours" would pass (it shares "Saturday" and the week);
        # what rejects it is that the turn is closer still to the weather small talk.
        assert fused >= retrieval.THRESHOLD
        assert retrieve(compiled, rain, budget_tokens=10_000).documents == []
        opening = retrieve(
            compiled, [Turn("user", "are you open on Saturday")], budget_tokens=10_000
        )
        assert [d.block.subject for d in opening.documents][:1] == ["Store hours"]

    def test_background_close_to_the_agents_own_trainings_is_left_out(self) -> None:
        # For a bus company, "what time does the bus leave" is a real question, not small talk.
        bus = compile_snapshot(
            _snapshot([("Timetable", "Buses leave the central station every 20 minutes.")])
        )
        shop = compile_snapshot(_snapshot(list(TRAININGS.items())))
        bus_index, shop_index = retrieval.index_for(bus), retrieval.index_for(shop)
        assert bus_index.dense is not None and shop_index.dense is not None
        assert len(bus_index.dense.background) < len(shop_index.dense.background)
        found = retrieve(bus, [Turn("user", "what time does the bus leave")], budget_tokens=10_000)
        assert [d.block.subject for d in found.documents] == ["Timetable"]

    def test_assistant_turns_count_in_bm25_but_not_in_the_dense_query(self) -> None:
        encoder = encoder_for("en-US")
        assert encoder is not None
        analyze = retrieval.analyzer("en-US")
        caller = [Turn("user", "my parcel has not come"), Turn("user", "what now")]
        with_reply = [caller[0], Turn("assistant", "Sorry, which warranty plan?"), caller[1]]
        before = retrieval.query_vector(caller, encoder)
        after = retrieval.query_vector(with_reply, encoder)
        assert before is not None and after is not None
        assert (before == after).all()
        assert "warranti" in retrieval.query_weights(with_reply, analyze)
        assert "warranti" not in retrieval.query_weights(caller, analyze)

    def test_lexical_evidence_breaks_a_semantic_tie(self) -> None:
        # Two trainings with the same meaning; the caller uses the second one's exact words.
        compiled = compile_snapshot(
            _snapshot(
                [
                    ("Opening times", "We open at nine and close at six."),
                    ("Opening times", "Our shop opens 9 to 6, Zaterdag included."),
                ]
            )
        )
        found = retrieve(compiled, [Turn("user", "are you open Zaterdag")], budget_tokens=10_000)
        assert found.documents[0].block.training_id == "t1"

    def test_equal_trainings_keep_the_training_order(self) -> None:
        same = ("Refunds", "Refunds go back to the card in 5 days.")
        compiled = compile_snapshot(_snapshot([same, same, same]))
        found = retrieve(compiled, [Turn("user", "money back")], budget_tokens=10_000)
        assert [d.block.training_id for d in found.documents] == ["t0", "t1", "t2"]
        assert len({d.score for d in found.documents}) == 1

    async def test_a_big_index_is_built_in_a_worker_thread(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        threads: list[str] = []
        build = retrieval.Index.__init__

        def spy(self: retrieval.Index, *args: Any) -> None:
            import threading

            threads.append(threading.current_thread().name)
            build(self, *args)

        monkeypatch.setattr(retrieval.Index, "__init__", spy)
        small = compile_snapshot(_snapshot([("Small", "One training only.")]))
        await retrieval.prepare_index(small)
        assert threads == []  # small: built inline on first retrieve, not here
        big = compile_snapshot(
            _snapshot(
                [(f"Topic {i}", f"Instructions number {i} about thing {i * 7}.") for i in range(40)]
            )
        )
        await retrieval.prepare_index(big)
        assert len(threads) == 1 and threads[0] != "MainThread"
        assert retrieval.has_index(big)
