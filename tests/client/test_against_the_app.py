"""The client against the real app: AsyncClient in-process (ASGI), Client over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cuecard.client import (
    Agent,
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    PublishState,
    Training,
    ValidationError,
)
from tests.client.live import LiveServer
from tests.conftest import TokenFactory

MISSING = "550e8400-e29b-41d4-a716-446655440000"


def in_process(app: Any, token: str) -> AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return AsyncClient(
        "http://testserver", token, http_client=httpx.AsyncClient(transport=transport)
    )


@pytest.fixture
async def cuecard(app: Any, token: str) -> AsyncIterator[AsyncClient]:
    async with in_process(app, token) as client:
        yield client


class TestAgents:
    async def test_create_returns_a_typed_draft_agent(self, cuecard: AsyncClient) -> None:
        agent = await cuecard.agents.create("SupportBot", description="Helps.", language="en-US")

        assert isinstance(agent, Agent)
        assert (agent.name, agent.label, agent.current_status) == (
            "SupportBot",
            "SupportBot",
            "draft",
        )
        assert agent.trainings == []

    async def test_get_returns_the_agent_with_its_trainings(self, cuecard: AsyncClient) -> None:
        agent = await cuecard.agents.create("Bot")
        await cuecard.trainings.upsert(agent.id, node_id="a", subject="A", instructions="Do A.")

        fetched = await cuecard.agents.get(agent.id)

        assert fetched.id == agent.id
        assert [(t.node_id, t.subject) for t in fetched.trainings] == [("a", "A")]

    async def test_list_walks_every_page(self, cuecard: AsyncClient) -> None:
        created = {(await cuecard.agents.create(f"Bot {i}")).id for i in range(5)}

        listed = [agent.id async for agent in cuecard.agents.list(per_page=2)]

        assert sorted(listed) == sorted(created)

    async def test_list_page_returns_the_meta(self, cuecard: AsyncClient) -> None:
        for i in range(3):
            await cuecard.agents.create(f"Bot {i}")

        page = await cuecard.agents.list_page(page=2, per_page=2)

        assert len(page.data) == 1
        assert (page.meta.current_page, page.meta.last_page, page.meta.total) == (2, 2, 3)

    async def test_list_filters_by_search(self, cuecard: AsyncClient) -> None:
        await cuecard.agents.create("Sales")
        await cuecard.agents.create("Support")

        assert [a.name async for a in cuecard.agents.list(search="sup")] == ["Support"]

    async def test_update_changes_settings(self, cuecard: AsyncClient) -> None:
        agent = await cuecard.agents.create("Bot")

        updated = await cuecard.agents.update(agent.id, name="Renamed", llm_temperature=0.2)

        assert (updated.name, updated.llm_temperature) == ("Renamed", 0.2)

    async def test_publish_and_unpublish_return_the_state(self, cuecard: AsyncClient) -> None:
        agent = await cuecard.agents.create("Bot", description="A base prompt.")

        published = await cuecard.agents.publish(agent.id)
        unpublished = await cuecard.agents.unpublish(agent.id)

        assert isinstance(published, PublishState)
        assert (published.current_status, published.version) == ("published", 1)
        assert unpublished.current_status == "draft"

    async def test_delete_removes_the_agent(self, cuecard: AsyncClient) -> None:
        agent = await cuecard.agents.create("Bot")

        await cuecard.agents.delete(agent.id)

        with pytest.raises(NotFoundError):
            await cuecard.agents.get(agent.id)

    async def test_deleting_a_published_agent_is_a_conflict(self, cuecard: AsyncClient) -> None:
        agent = await cuecard.agents.create("Bot", description="A base prompt.")
        await cuecard.agents.publish(agent.id)

        with pytest.raises(ConflictError) as caught:
            await cuecard.agents.delete(agent.id)

        assert caught.value.code == "AGENT_IS_PUBLISHED"

    async def test_unknown_agent_is_not_found(self, cuecard: AsyncClient) -> None:
        with pytest.raises(NotFoundError) as caught:
            await cuecard.agents.get(MISSING)

        assert (caught.value.status, caught.value.message) == (404, "Agent not found")

    async def test_invalid_settings_raise_validation_error(self, cuecard: AsyncClient) -> None:
        with pytest.raises(ValidationError) as caught:
            await cuecard.agents.create("Bot", conversation_speed=9.0)

        assert list(caught.value.errors) == ["conversation_speed"]


class TestTrainings:
    async def test_upsert_by_node_id_updates_the_same_training(self, cuecard: AsyncClient) -> None:
        agent = await cuecard.agents.create("Bot")

        first = await cuecard.trainings.upsert(
            agent.id, node_id="faq", subject="FAQ", instructions="v1", position=3, pinned=True
        )
        second = await cuecard.trainings.upsert(
            agent.id, node_id="faq", subject="FAQ", instructions="v2"
        )

        assert isinstance(first, Training)
        assert second.id == first.id
        assert (second.instructions, second.position, second.pinned) == ("v2", 3, True)

    async def test_list_returns_every_training_and_filters_by_status(
        self, cuecard: AsyncClient
    ) -> None:
        agent = await cuecard.agents.create("Bot")
        await cuecard.trainings.upsert(agent.id, subject="On", instructions="x")
        await cuecard.trainings.upsert(
            agent.id, subject="Off", instructions="y", current_status="inactive"
        )

        everything = await cuecard.trainings.list(agent.id)
        inactive = await cuecard.trainings.list(agent.id, current_status="inactive")

        assert [t.subject for t in everything] == ["On", "Off"]
        assert [t.subject for t in inactive] == ["Off"]

    async def test_delete_removes_the_training(self, cuecard: AsyncClient) -> None:
        agent = await cuecard.agents.create("Bot")
        training = await cuecard.trainings.upsert(agent.id, subject="S", instructions="I")

        await cuecard.trainings.delete(agent.id, training.id)

        assert await cuecard.trainings.list(agent.id) == []
        with pytest.raises(NotFoundError):
            await cuecard.trainings.delete(agent.id, training.id)

    async def test_missing_fields_raise_validation_error_per_field(
        self, cuecard: AsyncClient
    ) -> None:
        agent = await cuecard.agents.create("Bot")

        with pytest.raises(ValidationError) as caught:
            await cuecard.trainings.upsert(agent.id, subject=" ", instructions="")

        assert caught.value.errors == {
            "subject": ["The subject field is required."],
            "instructions": ["The instructions field is required."],
        }


class TestAuthErrors:
    async def test_wrong_token_is_an_authentication_error(self, app: Any) -> None:
        async with in_process(app, "talq_not_a_real_token") as client:
            with pytest.raises(AuthenticationError) as caught:
                await client.agents.get(MISSING)

        assert caught.value.status == 401

    async def test_read_only_token_may_read_but_not_write(
        self, app: Any, cuecard: AsyncClient, make_token: TokenFactory
    ) -> None:
        agent = await cuecard.agents.create("Bot")
        async with in_process(app, await make_token(read_only=True)) as reader:
            assert (await reader.agents.get(agent.id)).id == agent.id
            with pytest.raises(PermissionDeniedError) as caught:
                await reader.trainings.upsert(agent.id, subject="S", instructions="I")

        assert caught.value.message == "You are not authorized to create training for this agent."

    async def test_another_environment_sees_not_found(
        self, app: Any, cuecard: AsyncClient, make_token: TokenFactory
    ) -> None:
        agent = await cuecard.agents.create("Bot")
        async with in_process(app, await make_token("other")) as stranger:
            with pytest.raises(NotFoundError):
                await stranger.agents.get(agent.id)


class TestBlockingClientOverHttp:
    async def test_the_whole_lifecycle(self, server: LiveServer, token: str) -> None:
        with Client(server.url, token) as client:
            agent = client.agents.create("Bot")
            training = client.trainings.upsert(
                agent.id, node_id="hello", subject="Hello", instructions="Greet warmly."
            )
            state = client.agents.publish(agent.id)
            listed = [a.id for a in client.agents.list()]
            trainings = client.trainings.list(agent.id)
            client.agents.unpublish(agent.id)
            client.trainings.delete(agent.id, training.id)
            client.agents.delete(agent.id)

        assert state.version == 1
        assert listed == [agent.id]
        assert [t.node_id for t in trainings] == ["hello"]

    async def test_errors_arrive_as_exceptions(self, server: LiveServer, token: str) -> None:
        with Client(server.url, token) as client, pytest.raises(NotFoundError):
            client.agents.get(MISSING)
