from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory, bearer
from tests.runtime.helpers import add_training, linear_flow, publish, set_flow

CreateAgent = Callable[..., Awaitable[dict[str, Any]]]
Headers = dict[str, str]

# A small labelled set: twelve support trainings and, for each, a caller question that should
# find it. Several questions use other word forms than the training ("cancel" / "cancelled",
# "shipped" / "shipping", "deliver" / "delivery") so stemming is exercised.
TRAININGS = {
    "Refund policy": "Customers can get a full refund within 30 days of purchase if the product "
    "is unused. Refunds go back to the original payment method in 5 to 7 business days.",
    "Returns and exchanges": "To return an item, the customer prints a prepaid return label from "
    "their account. Exchanges for a different size are free.",
    "Shipping times": "Standard shipping takes 3 to 5 business days; express shipping arrives the "
    "next day when ordered before 2 pm.",
    "International delivery": "We deliver to Canada, Mexico and the European Union. Customs "
    "duties are paid by the recipient.",
    "Order cancellation": "An order can be cancelled free of charge until it has shipped. After "
    "that, the customer must wait for delivery and start a return.",
    "Password reset": "If a caller cannot log in, send a password reset link to the email on "
    "file. Never read a password aloud.",
    "Billing disputes": "For a charge the caller does not recognise, verify the last four digits "
    "of the card and open a billing dispute ticket.",
    "Store hours": "Our stores open at 9 am and close at 8 pm Monday to Saturday; they are closed "
    "on Sundays and public holidays.",
    "Warranty claims": "Electronics carry a two year warranty against manufacturing defects. "
    "Damage from drops or water is not covered.",
    "Loyalty points": "Members earn one point per dollar spent; 100 points become a 5 dollar "
    "voucher at checkout.",
    "Appointment booking": "Repairs in store need an appointment; offer the earliest free slot "
    "and confirm it by text message.",
    "Escalation to a human": "If the caller asks for a manager or a human, transfer the call to "
    "the support queue and tell them the expected wait time.",
}
LABELLED = [
    ("Can I get a refund for the blender I bought?", "Refund policy"),
    ("How do I return these shoes?", "Returns and exchanges"),
    ("How fast do you ship packages?", "Shipping times"),
    ("Do you deliver to Mexico?", "International delivery"),
    ("I want to cancel my order", "Order cancellation"),
    ("I forgot my password and I can't log in", "Password reset"),
    ("There is a charge on my card I don't recognize", "Billing disputes"),
    ("What time do you open on Saturday?", "Store hours"),
    ("My headphones broke, are they under warranty?", "Warranty claims"),
    ("How many points do I need for a voucher?", "Loyalty points"),
    ("I need to book an appointment for a repair", "Appointment booking"),
    ("Let me talk to a manager", "Escalation to a human"),
]


@pytest.fixture
async def support_agent(
    client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
) -> dict[str, Any]:
    """An agent whose trainings are far over its budget, so all of them are retrieved."""
    agent = await create_agent(training_budget_tokens=50)
    ids = {}
    for subject, instructions in TRAININGS.items():
        training = await add_training(
            client, headers, agent["id"], subject=subject, instructions=instructions
        )
        ids[subject] = training["id"]
    return {**agent, "training_ids": ids}


async def retrieve(
    client: httpx.AsyncClient, headers: Headers, agent_id: object, **body: Any
) -> httpx.Response:
    body.setdefault("version", "draft")
    return await client.post(
        f"/api/v1/agents/{agent_id}/runtime/retrieve", json=body, headers=headers
    )


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


class TestRanking:
    async def test_each_labelled_question_finds_its_training_in_the_top_three(
        self, client: httpx.AsyncClient, headers: Headers, support_agent: dict[str, Any]
    ) -> None:
        # Top three, not first: the hybrid ranker reads "How do I return these shoes?" as close
        # to the refund policy as to the returns training, and both are fair answers.
        firsts = 0
        for question, subject in LABELLED:
            response = await retrieve(
                client, headers, support_agent["id"], messages=[user(question)],
                top_k=3, budget_tokens=10_000,
            )  # fmt: skip
            assert response.status_code == 200, response.text
            documents = response.json()["documents"]
            assert documents, question
            found = {d["subject"]: d for d in documents}
            assert subject in found, (question, documents)
            assert found[subject]["training_id"] == support_agent["training_ids"][subject]
            assert found[subject]["content"] == TRAININGS[subject]
            firsts += documents[0]["subject"] == subject
            scores = [d["score"] for d in documents]
            assert scores == sorted(scores, reverse=True) and scores[-1] > 0
        assert firsts >= len(LABELLED) - 1

    async def test_the_last_user_turn_weighs_most(
        self, client: httpx.AsyncClient, headers: Headers, support_agent: dict[str, Any]
    ) -> None:
        messages = [
            user("I want to cancel my order"),
            assistant("I can help with that."),
            user("Actually first, what time do you open on Saturday?"),
        ]
        response = await retrieve(
            client, headers, support_agent["id"], messages=messages, budget_tokens=10_000
        )
        subjects = [d["subject"] for d in response.json()["documents"]]
        assert subjects[0] == "Store hours"
        assert "Order cancellation" in subjects  # the earlier turn still counts, just less

    async def test_the_assistant_turns_weigh_less_than_the_callers(
        self, client: httpx.AsyncClient, headers: Headers, support_agent: dict[str, Any]
    ) -> None:
        async def first_subject(messages: list[dict[str, str]]) -> str:
            response = await retrieve(
                client, headers, support_agent["id"], messages=messages, budget_tokens=10_000
            )
            subject: str = response.json()["documents"][0]["subject"]
            return subject

        assert (
            await first_subject([assistant("Is it about the warranty?"), user("Return label")])
            == "Returns and exchanges"
        )
        assert (
            await first_subject([assistant("Is it about a return label?"), user("Warranty")])
            == "Warranty claims"
        )

    async def test_nothing_is_returned_when_nothing_matches(
        self, client: httpx.AsyncClient, headers: Headers, support_agent: dict[str, Any]
    ) -> None:
        response = await retrieve(
            client, headers, support_agent["id"], messages=[user("Zebras? Quantum!")]
        )
        assert response.json()["documents"] == []


class TestSelection:
    async def test_top_k_limits_the_documents(
        self, client: httpx.AsyncClient, headers: Headers, support_agent: dict[str, Any]
    ) -> None:
        question = "refund, return, shipping, delivery, order, password, card, warranty"
        response = await retrieve(
            client, headers, support_agent["id"], messages=[user(question)], top_k=2,
            budget_tokens=10_000,
        )  # fmt: skip
        assert len(response.json()["documents"]) == 2

    async def test_documents_stay_within_the_token_budget(
        self, client: httpx.AsyncClient, headers: Headers, support_agent: dict[str, Any]
    ) -> None:
        question = "refund, return, shipping, delivery, order, password, card, warranty"
        roomy = await retrieve(
            client, headers, support_agent["id"], messages=[user(question)], top_k=10,
            budget_tokens=10_000,
        )  # fmt: skip
        tight = await retrieve(
            client, headers, support_agent["id"], messages=[user(question)], top_k=10,
            budget_tokens=80,
        )  # fmt: skip
        assert len(roomy.json()["documents"]) > len(tight.json()["documents"]) >= 1
        assert 0 < tight.json()["used_tokens"] <= 80 == tight.json()["budget_tokens"]

    async def test_the_default_budget_is_what_inline_trainings_leave(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(training_budget_tokens=100)
        await add_training(client, headers, agent["id"], subject="P", instructions="x", pinned=True)
        await add_training(client, headers, agent["id"], node_id="n", subject="N", instructions="y")
        await add_training(client, headers, agent["id"], instructions="refund " * 200)
        await set_flow(client, headers, agent["id"], linear_flow("n"))
        config = await client.get(
            f"/api/v1/agents/{agent['id']}/runtime-config?version=draft", headers=headers
        )
        tokens = config.json()["tokens"]
        pinned = tokens["system"]  # no description: the system prompt is the pinned training
        response = await retrieve(client, headers, agent["id"], messages=[user("refund")])
        assert response.json()["budget_tokens"] == 100 - pinned
        response = await retrieve(
            client, headers, agent["id"], messages=[user("refund")], node_id="n"
        )
        assert response.json()["budget_tokens"] == 100 - pinned - tokens["nodes"]["n"]

    async def test_only_trainings_left_out_of_the_prompt_are_retrieved(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(training_budget_tokens=30)
        for fields in (
            {"subject": "Pinned refund", "pinned": True},
            {"subject": "Node refund", "node_id": "billing"},
            {"subject": "Inactive refund", "current_status": "inactive"},
            {"subject": "Loose refund", "instructions": "refund " * 40},
        ):
            await add_training(client, headers, agent["id"], **fields)
        await set_flow(client, headers, agent["id"], linear_flow("billing"))
        response = await retrieve(
            client, headers, agent["id"], messages=[user("refund")], budget_tokens=10_000
        )
        assert [d["subject"] for d in response.json()["documents"]] == ["Loose refund"]
        assert response.json()["mode"] == "retrieve"

    async def test_a_node_id_that_names_no_flow_node_is_a_candidate(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(training_budget_tokens=30)
        await add_training(client, headers, agent["id"], subject="Scoped refund", node_id="billing")
        await add_training(client, headers, agent["id"], subject="Synced refund", node_id="a/b.md")
        await add_training(client, headers, agent["id"], subject="Loose", instructions="x " * 60)
        await set_flow(client, headers, agent["id"], linear_flow("billing"))

        response = await retrieve(
            client, headers, agent["id"], messages=[user("refund")], budget_tokens=10_000
        )

        assert [d["subject"] for d in response.json()["documents"]] == ["Synced refund"]

    async def test_without_a_flow_driven_mode_no_training_is_node_scoped(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(training_budget_tokens=30)
        await add_training(client, headers, agent["id"], subject="Node refund", node_id="billing")
        await add_training(client, headers, agent["id"], subject="Loose", instructions="x " * 60)
        await set_flow(client, headers, agent["id"], linear_flow("billing"))
        await set_flow(client, headers, agent["id"], None)  # back to llm_driven

        response = await retrieve(
            client, headers, agent["id"], messages=[user("refund")], budget_tokens=10_000
        )

        assert [d["subject"] for d in response.json()["documents"]] == ["Node refund"]

    async def test_in_inline_mode_there_is_nothing_to_retrieve(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Refunds")
        response = await retrieve(client, headers, agent["id"], messages=[user("refunds")])
        assert response.status_code == 200
        assert response.json()["documents"] == []
        assert response.json()["mode"] == "inline"

    async def test_published_is_the_default_version(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(training_budget_tokens=1)
        old = await add_training(client, headers, agent["id"], subject="Refund old")
        await publish(client, headers, agent["id"])
        new = await add_training(client, headers, agent["id"], subject="Refund new")
        url = f"/api/v1/agents/{agent['id']}/runtime/retrieve"
        body: dict[str, Any] = {"messages": [user("refund")], "budget_tokens": 1000}
        published = await client.post(url, json=body, headers=headers)
        draft = await client.post(url, json={**body, "version": "draft"}, headers=headers)
        assert published.json()["version"] == 1
        assert [d["training_id"] for d in published.json()["documents"]] == [old["id"]]
        assert {d["training_id"] for d in draft.json()["documents"]} == {old["id"], new["id"]}

    async def test_the_index_is_built_once_per_version(
        self, client: httpx.AsyncClient, headers: Headers, support_agent: dict[str, Any]
    ) -> None:
        served = []
        for _ in range(3):
            response = await retrieve(client, headers, support_agent["id"], messages=[user("x")])
            served.append(response.headers["X-Cuecard-Cache"])
        await add_training(client, headers, support_agent["id"], subject="New")
        response = await retrieve(client, headers, support_agent["id"], messages=[user("x")])
        served.append(response.headers["X-Cuecard-Cache"])
        assert served == ["miss", "hit", "hit", "miss"]

    async def test_trainings_in_a_language_without_spaces_are_found(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(language="ja-JP", training_budget_tokens=1)
        await add_training(
            client, headers, agent["id"], subject="返品", instructions="返品は30日以内"
        )
        await add_training(
            client, headers, agent["id"], subject="営業時間", instructions="午前9時から"
        )
        response = await retrieve(
            client, headers, agent["id"], messages=[user("営業時間を教えて")], budget_tokens=1000
        )
        assert [d["subject"] for d in response.json()["documents"]] == ["営業時間"]


class TestAccess:
    async def test_a_read_only_token_may_retrieve(
        self, client: httpx.AsyncClient, make_token: TokenFactory, support_agent: dict[str, Any]
    ) -> None:
        reader = bearer(await make_token(read_only=True))
        response = await retrieve(client, reader, support_agent["id"], messages=[user("refund")])
        assert response.status_code == 200

    async def test_published_of_an_agent_never_published_is_409(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        response = await retrieve(
            client, headers, agent["id"], version="published", messages=[user("hi")]
        )
        assert response.status_code == 409
        assert response.json()["code"] == "AGENT_NOT_PUBLISHED"

    @pytest.mark.parametrize(
        ("body", "errors"),
        [
            ({}, {"messages": ["The messages field is required."]}),
            ({"messages": []}, {"messages": ["The messages field must contain at least 1 items."]}),
            (
                {"messages": [{"role": "system", "content": "x"}]},
                {"messages.0.role": ["The selected messages.0.role is invalid."]},
            ),
            (
                {"messages": [{"role": "user", "content": "  "}]},
                {"messages.0.content": ["The messages.0.content field is required."]},
            ),
            (
                {"messages": [user("x")], "top_k": 0, "version": "v1"},
                {
                    "top_k": ["The top k must be between 1 and 50."],
                    "version": ["The selected version is invalid."],
                },
            ),
        ],
    )
    async def test_a_bad_request_is_422_with_every_error(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        agent: dict[str, Any],
        body: dict[str, Any],
        errors: dict[str, list[str]],
    ) -> None:
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/runtime/retrieve", json=body, headers=headers
        )
        assert response.status_code == 422
        assert response.json()["errors"] == errors
