"""Test conversations, against a fake OpenAI-compatible server on 127.0.0.1 (`fake_llm.py`).

A fake is used for this one external service only (no real model runs here); the tests assert
what it *received*, which is what a voice runtime's LLM would receive.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from cuecard.core.config import Settings
from tests.conftest import SECRET, TokenFactory, bearer, free_port
from tests.runtime.fake_llm import FakeLlm, running_fake_llm
from tests.runtime.helpers import add_training, linear_flow, publish, set_flow

CreateAgent = Callable[..., Awaitable[dict[str, Any]]]
Headers = dict[str, str]


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    with running_fake_llm() as fake:
        yield fake


def llm_settings(database_url: str, base_url: str | None, timeout: float = 10.0) -> Settings:
    return Settings(
        database_url=database_url,
        env="test",
        secret_key=SECRET,
        llm_base_url=base_url,
        llm_api_key="sk-test" if base_url else None,
        llm_model="fake-model" if base_url else None,
        llm_timeout_seconds=timeout,
    )


@pytest.fixture
def settings(database_url: str, fake_llm: FakeLlm) -> Settings:
    return llm_settings(database_url, fake_llm.url)


async def converse(
    client: httpx.AsyncClient, headers: Headers, agent_id: object, *turns: str, **body: Any
) -> httpx.Response:
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": text}
        for i, text in enumerate(turns or ("Hello",))
    ]
    return await client.post(
        f"/api/v1/agents/{agent_id}/test-conversations",
        json={"messages": messages, **body},
        headers=headers,
    )


class TestWhatTheLlmReceives:
    async def test_the_compiled_prompt_then_the_conversation(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        create_agent: CreateAgent,
        fake_llm: FakeLlm,
    ) -> None:
        agent = await create_agent(description="You are Ana.", llm_temperature=0.2)
        training = await add_training(
            client, headers, agent["id"], subject="Refunds", instructions="Within 30 days."
        )
        response = await converse(client, headers, agent["id"], "Hi", "Hello!", "Refund?")

        assert response.status_code == 200, response.text
        received = fake_llm.last
        assert received.path == "/v1/chat/completions"
        assert received.headers["Authorization"] == "Bearer sk-test"
        assert received.body["model"] == "fake-model"
        assert received.body["temperature"] == 0.2
        assert received.messages == [
            {"role": "system", "content": "You are Ana.\n\n### Refunds\nWithin 30 days."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Refund?"},
        ]
        data = response.json()["data"]
        assert data["reply"] == {"role": "assistant", "content": "You said: Refund?"}
        assert data["finish_reason"] == "stop"
        debug = data["debug"]
        assert debug["messages"] == received.messages
        assert debug["version"] == "draft"
        assert debug["training_ids"] == {"system": [training["id"]], "node": [], "retrieved": []}
        assert debug["llm_model"] == "fake-model"
        assert debug["llm_latency_ms"] >= 0
        assert debug["llm_usage"]["total_tokens"] == 14
        tokens = debug["tokens"]
        assert tokens["total"] == tokens["system"] + tokens["conversation"] > tokens["system"] > 0
        config = await client.get(
            f"/api/v1/agents/{agent['id']}/runtime-config?version=draft", headers=headers
        )
        assert debug["config_hash"] == config.json()["config_hash"]

    async def test_active_trainings_are_sent_and_inactive_ones_are_not(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any], fake_llm: FakeLlm
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Kept", instructions="Use me.")
        await add_training(
            client, headers, agent["id"], subject="Dropped", instructions="Never me.",
            current_status="inactive",
        )  # fmt: skip
        await add_training(
            client, headers, agent["id"], node_id="n", subject="Off", instructions="Nor me.",
            current_status="inactive",
        )  # fmt: skip
        response = await converse(client, headers, agent["id"], node_id="n")
        assert response.status_code == 200, response.text
        assert "### Kept\nUse me." in fake_llm.last.text
        assert "Dropped" not in fake_llm.last.text
        assert "Nor me" not in fake_llm.last.text

    async def test_the_draft_differs_from_published_until_publish(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any], fake_llm: FakeLlm
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Old rule")
        await publish(client, headers, agent["id"])
        await add_training(client, headers, agent["id"], subject="New rule")

        await converse(client, headers, agent["id"], version="published")
        assert "Old rule" in fake_llm.last.text and "New rule" not in fake_llm.last.text
        await converse(client, headers, agent["id"], version="draft")
        assert "Old rule" in fake_llm.last.text and "New rule" in fake_llm.last.text
        await converse(client, headers, agent["id"], version=1)
        assert "New rule" not in fake_llm.last.text

        await publish(client, headers, agent["id"])
        await converse(client, headers, agent["id"], version="published")
        assert "New rule" in fake_llm.last.text

    async def test_node_trainings_are_sent_only_in_their_node(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any], fake_llm: FakeLlm
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Everywhere")
        billing = await add_training(
            client, headers, agent["id"], node_id="billing", subject="Cards", instructions="Visa."
        )
        await add_training(client, headers, agent["id"], node_id="greeting", subject="Hello")
        await set_flow(client, headers, agent["id"], linear_flow("greeting", "billing"))

        response = await converse(client, headers, agent["id"], node_id="billing")
        assert fake_llm.last.messages[1] == {"role": "system", "content": "### Cards\nVisa."}
        assert "Everywhere" in fake_llm.last.text and "### Hello" not in fake_llm.last.text
        assert response.json()["data"]["debug"]["training_ids"]["node"] == [billing["id"]]

        await converse(client, headers, agent["id"])
        assert "Cards" not in fake_llm.last.text and "### Hello" not in fake_llm.last.text

    async def test_without_a_flow_every_training_is_sent_whatever_its_node_id(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any], fake_llm: FakeLlm
    ) -> None:
        # The spec's Request 1: a node_id from a builder, on an agent that has no flow.
        await add_training(
            client, headers, agent["id"], node_id="training-node-123",
            subject="Product Knowledge",
            instructions="Our premium plan includes 24/7 support and unlimited API calls.",
        )  # fmt: skip

        await converse(client, headers, agent["id"])

        assert "### Product Knowledge" in fake_llm.last.messages[0]["content"]
        assert "unlimited API calls" in fake_llm.last.messages[0]["content"]

    async def test_over_budget_the_trainings_for_the_turn_are_retrieved(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        create_agent: CreateAgent,
        fake_llm: FakeLlm,
    ) -> None:
        agent = await create_agent(description="Base.", training_budget_tokens=120)
        refunds = await add_training(
            client, headers, agent["id"], subject="Refunds",
            instructions="Refunds are paid within 30 days. " * 3,
        )  # fmt: skip
        await add_training(
            client, headers, agent["id"], subject="Shipping",
            instructions="Shipping takes five business days. " * 3,
        )  # fmt: skip
        await add_training(
            client, headers, agent["id"], subject="Hours", instructions="Open 9 to 5. " * 10
        )
        response = await converse(client, headers, agent["id"], "Can I get a refund?")

        assert response.status_code == 200, response.text
        messages = fake_llm.last.messages
        assert messages[0] == {"role": "system", "content": "Base."}
        assert messages[1]["role"] == "system"
        assert messages[1]["content"].startswith("Trainings for this turn:\n\n### Refunds\n")
        assert "Shipping" not in fake_llm.last.text and "Hours" not in fake_llm.last.text
        assert messages[-1] == {"role": "user", "content": "Can I get a refund?"}
        debug = response.json()["data"]["debug"]
        assert debug["mode"] == "retrieve"
        assert debug["training_ids"]["retrieved"] == [refunds["id"]]

    async def test_a_version_that_does_not_exist_is_404_and_nothing_is_sent(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any], fake_llm: FakeLlm
    ) -> None:
        response = await converse(client, headers, agent["id"], version=3)
        assert response.status_code == 404
        assert fake_llm.received == []


class TestAccess:
    async def test_a_read_only_token_cannot_run_one(
        self, client: httpx.AsyncClient, make_token: TokenFactory, agent: dict[str, Any],
        fake_llm: FakeLlm,
    ) -> None:  # fmt: skip
        reader = bearer(await make_token(read_only=True))
        response = await converse(client, reader, agent["id"])
        assert response.status_code == 403
        assert response.json()["code"] == "UNAUTHORIZED"
        assert fake_llm.received == []

    async def test_messages_are_required(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/test-conversations",
            json={"version": "draft"},
            headers=headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"] == {"messages": ["The messages field is required."]}


class TestUpstreamFailures:
    async def test_an_llm_error_is_502_with_its_message_and_the_debug(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any], fake_llm: FakeLlm
    ) -> None:
        fake_llm.mode = "error"
        response = await converse(client, headers, agent["id"])
        assert response.status_code == 502
        body = response.json()
        assert body["code"] == "LLM_UPSTREAM_ERROR"
        assert body["message"] == "The LLM answered HTTP 500: The model is overloaded."
        assert body["debug"]["messages"][-1] == {"role": "user", "content": "Hello"}

    @pytest.mark.parametrize("mode", ["not-json", "no-choices"])
    async def test_an_answer_that_is_not_a_chat_completion_is_502(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        agent: dict[str, Any],
        fake_llm: FakeLlm,
        mode: str,
    ) -> None:
        fake_llm.mode = mode
        response = await converse(client, headers, agent["id"])
        assert response.status_code == 502
        assert response.json()["code"] == "LLM_UPSTREAM_ERROR"


class TestTimeout:
    @pytest.fixture
    def settings(self, database_url: str, fake_llm: FakeLlm) -> Settings:
        return llm_settings(database_url, fake_llm.url, timeout=0.3)

    async def test_an_llm_that_does_not_answer_in_time_is_504(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any], fake_llm: FakeLlm
    ) -> None:
        fake_llm.mode, fake_llm.delay_seconds = "slow", 1.0
        response = await converse(client, headers, agent["id"])
        assert response.status_code == 504
        assert response.json()["code"] == "LLM_TIMEOUT"
        assert response.json()["message"] == "The LLM did not answer within 0.3 seconds."


class TestUnreachable:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return llm_settings(database_url, f"http://127.0.0.1:{free_port()}/v1")

    async def test_an_llm_that_cannot_be_reached_is_502(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        response = await converse(client, headers, agent["id"])
        assert response.status_code == 502
        assert response.json()["message"] == "The LLM could not be reached (ConnectError)."


class TestMisconfiguredUrl:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return llm_settings(database_url, "localhost:11434/v1")

    async def test_a_base_url_without_a_scheme_is_a_clear_502(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        response = await converse(client, headers, agent["id"])
        assert response.status_code == 502
        assert response.json()["message"] == (
            "The LLM base URL 'localhost:11434/v1' is not an http:// or https:// URL."
        )


class TestWithoutAnLlm:
    @pytest.fixture
    def settings(self, database_url: str) -> Settings:
        return llm_settings(database_url, None)

    async def test_it_is_503_and_shows_what_would_be_sent(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(description="You are Ana.")
        await add_training(client, headers, agent["id"], subject="Rule", instructions="Be kind.")
        response = await converse(client, headers, agent["id"], "Hi")
        assert response.status_code == 503
        body = response.json()
        assert body["success"] is False
        assert body["code"] == "LLM_NOT_CONFIGURED"
        assert "CUECARD_LLM_BASE_URL" in body["message"]
        assert body["debug"]["messages"] == [
            {"role": "system", "content": "You are Ana.\n\n### Rule\nBe kind."},
            {"role": "user", "content": "Hi"},
        ]
        assert "reply" not in body
