from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from cuecard.app import create_app
from cuecard.core.config import Settings
from tests.conftest import TokenFactory, bearer
from tests.runtime import pipecat_flow_config as pipecat
from tests.runtime.helpers import add_training, config, linear_flow, native, publish, set_flow

CreateAgent = Callable[..., Awaitable[dict[str, Any]]]
Agent = dict[str, Any]
Headers = dict[str, str]


class TestWhichVersion:
    async def test_published_of_an_agent_never_published_is_409(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        response = await client.get(f"/api/v1/agents/{agent['id']}/runtime-config", headers=headers)
        assert response.status_code == 409
        assert response.json()["code"] == "AGENT_NOT_PUBLISHED"

    async def test_draft_changes_at_once_and_published_only_after_publish(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Refunds", instructions="Old.")
        await publish(client, headers, agent["id"])
        await add_training(client, headers, agent["id"], subject="Shipping", instructions="New.")

        draft = await native(client, headers, agent["id"], "draft")
        published = await native(client, headers, agent["id"], "published")
        assert "### Shipping\nNew." in draft["system_prompt"]
        assert "Shipping" not in published["system_prompt"]
        assert draft["config_hash"] != published["config_hash"]

        await publish(client, headers, agent["id"])
        published = await native(client, headers, agent["id"], "published")
        assert published["system_prompt"] == draft["system_prompt"]
        assert published["config_hash"] == draft["config_hash"]

    async def test_a_numbered_version_serves_that_snapshot(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], node_id="n", instructions="First.")
        await publish(client, headers, agent["id"])
        await add_training(client, headers, agent["id"], node_id="n", instructions="Second.")
        await publish(client, headers, agent["id"])

        first = await config(client, headers, agent["id"], 1)
        second = await config(client, headers, agent["id"], 2)
        assert first.headers["X-Cuecard-Version"] == "1"
        assert "First." in first.text and "Second." not in first.text
        assert "Second." in second.text
        latest = await config(client, headers, agent["id"], "published")
        assert latest.headers["X-Cuecard-Version"] == "2"
        assert latest.content == second.content

    async def test_a_version_that_does_not_exist_is_404(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"])
        await publish(client, headers, agent["id"])
        response = await config(client, headers, agent["id"], 2)
        assert response.status_code == 404
        assert response.json()["code"] == "VERSION_NOT_FOUND"

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"version": "latest"}, "version"),
            ({"version": "0"}, "version"),
            ({"version": "-1"}, "version"),
            ({"format": "yaml"}, "format"),
        ],
    )
    async def test_an_unknown_version_or_format_is_422(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        agent: Agent,
        query: dict[str, str],
        field: str,
    ) -> None:
        response = await client.get(
            f"/api/v1/agents/{agent['id']}/runtime-config", params=query, headers=headers
        )
        assert response.status_code == 422
        assert response.json()["errors"] == {field: [f"The selected {field} is invalid."]}

    async def test_a_read_only_token_may_read_configs(
        self, client: httpx.AsyncClient, make_token: TokenFactory, agent: Agent
    ) -> None:
        reader = bearer(await make_token(read_only=True))
        response = await config(client, reader, agent["id"], "draft")
        assert response.status_code == 200

    async def test_an_agent_of_another_environment_is_404(
        self, client: httpx.AsyncClient, make_token: TokenFactory, agent: Agent
    ) -> None:
        stranger = bearer(await make_token("other"))
        response = await config(client, stranger, agent["id"], "draft")
        assert response.status_code == 404
        assert response.json()["code"] == "AGENT_NOT_FOUND"

    async def test_without_a_token_is_401(self, client: httpx.AsyncClient, agent: Agent) -> None:
        response = await config(client, {}, agent["id"], "draft")
        assert response.status_code == 401


class TestDeterminism:
    async def test_the_same_version_gives_byte_identical_output_in_every_format(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent, settings: Settings
    ) -> None:
        for i in range(5):
            await add_training(client, headers, agent["id"], subject=f"S{i}", instructions="é ✓")
        await add_training(client, headers, agent["id"], node_id="billing")
        await publish(client, headers, agent["id"])
        for fmt in ("native", "pipecat-flows", "openai-messages"):
            first = await config(client, headers, agent["id"], 1, fmt)
            again = await config(client, headers, agent["id"], 1, fmt)
            assert again.content == first.content
        # A server that never compiled it (its cache is empty) writes the same bytes.
        other = create_app(settings)
        async with other.router.lifespan_context(other):
            transport = httpx.ASGITransport(app=other)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as fresh:
                compiled_there = []
                for fmt in ("pipecat-flows", "native", "openai-messages"):
                    ours = await config(client, headers, agent["id"], 1, fmt)
                    theirs = await config(fresh, headers, agent["id"], 1, fmt)
                    assert theirs.content == ours.content
                    compiled_there.append(theirs.headers["X-Cuecard-Cache"])
                assert compiled_there == ["miss", "hit", "hit"]

    async def test_trainings_are_ordered_by_position_nulls_last_then_creation(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], subject="unpositioned-1")
        await add_training(client, headers, agent["id"], subject="second", position=2)
        await add_training(client, headers, agent["id"], subject="unpositioned-2")
        await add_training(client, headers, agent["id"], subject="first", position=-5)
        prompt = (await native(client, headers, agent["id"]))["system_prompt"]
        order = [line.removeprefix("### ") for line in prompt.splitlines() if line[:4] == "### "]
        assert order == ["first", "second", "unpositioned-1", "unpositioned-2"]

    async def test_rewriting_a_training_unchanged_keeps_the_hash(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        """Only content is compiled: a new updated_at or draft revision changes nothing."""
        await add_training(client, headers, agent["id"], node_id="n", instructions="Same.")
        before = await config(client, headers, agent["id"])
        await add_training(client, headers, agent["id"], node_id="n", instructions="Same.")
        after = await config(client, headers, agent["id"])
        assert (
            after.headers["X-Cuecard-Draft-Revision"] != before.headers["X-Cuecard-Draft-Revision"]
        )
        assert after.headers["X-Cuecard-Cache"] == "miss"
        assert after.content == before.content

    async def test_the_draft_equal_to_a_version_has_its_hash(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"])
        await publish(client, headers, agent["id"])
        draft = await config(client, headers, agent["id"], "draft")
        published = await config(client, headers, agent["id"], "published")
        listed = await client.get(f"/api/v1/agents/{agent['id']}/versions/1", headers=headers)
        assert draft.headers["ETag"] == published.headers["ETag"]
        assert published.headers["ETag"] == f'"{listed.json()["data"]["config_hash"]}"'


class TestEtag:
    async def test_if_none_match_with_the_config_hash_answers_304(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"])
        first = await config(client, headers, agent["id"])
        config_hash = first.json()["config_hash"]
        assert first.headers["ETag"] == f'"{config_hash}"'
        for tag in (f'"{config_hash}"', f'W/"{config_hash}"', f'"other", "{config_hash}"', "*"):
            response = await client.get(
                f"/api/v1/agents/{agent['id']}/runtime-config?version=draft",
                headers={**headers, "If-None-Match": tag},
            )
            assert response.status_code == 304, tag
            assert response.content == b""
            assert response.headers["ETag"] == first.headers["ETag"]

    async def test_a_stale_etag_gets_the_new_config(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        first = await config(client, headers, agent["id"])
        await add_training(client, headers, agent["id"], subject="New")
        response = await client.get(
            f"/api/v1/agents/{agent['id']}/runtime-config?version=draft",
            headers={**headers, "If-None-Match": first.headers["ETag"]},
        )
        assert response.status_code == 200
        assert "### New" in response.json()["system_prompt"]


class TestCache:
    async def test_an_unchanged_agent_is_not_recompiled(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"])
        await publish(client, headers, agent["id"])
        served = [
            (await config(client, headers, agent["id"], version, fmt)).headers["X-Cuecard-Cache"]
            for version, fmt in [
                ("draft", "native"),
                ("draft", "pipecat-flows"),
                ("published", "native"),  # compiled by the publish itself
                (1, "openai-messages"),
                ("published", "native"),
            ]
        ]
        assert served == ["miss", "hit", "hit", "hit", "hit"]

    async def test_every_write_is_seen_by_the_next_read(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        agent_id = agent["id"]
        training = await add_training(client, headers, agent_id, node_id="n", instructions="v1")
        await set_flow(client, headers, agent_id, linear_flow("n"))
        await publish(client, headers, agent_id)

        async def read_after(write: Awaitable[httpx.Response]) -> dict[str, Any]:
            await config(client, headers, agent_id)  # warm the cache
            response = await write
            assert response.status_code == 200, response.text
            after = await config(client, headers, agent_id)
            assert after.headers["X-Cuecard-Cache"] == "miss"
            data: dict[str, Any] = after.json()
            return data

        url = f"/api/v1/agents/{agent_id}"
        body = {"node_id": "n", "subject": "Subject", "instructions": "v2"}
        seen = await read_after(client.post(f"{url}/trainings", json=body, headers=headers))
        assert seen["nodes"]["n"]["task_messages"][0]["content"].endswith("v2")
        body = {"subject": "Global", "instructions": "g"}
        seen = await read_after(client.post(f"{url}/trainings", json=body, headers=headers))
        assert "### Global" in seen["system_prompt"]
        seen = await read_after(
            client.patch(url, json={"description": "Base prompt."}, headers=headers)
        )
        assert seen["system_prompt"].startswith("Base prompt.")
        seen = await read_after(client.delete(f"{url}/trainings/{training['id']}", headers=headers))
        assert seen["nodes"] == {}
        seen = await read_after(client.post(f"{url}/versions/1/restore", headers=headers))
        assert seen["nodes"]["n"]["task_messages"][0]["content"].endswith("v1")
        mode = {"conversation_mode": "llm_driven"}
        seen = await read_after(client.put(f"{url}/flow", json=mode, headers=headers))
        assert seen["nodes"] == {} and seen["system_prompt"].endswith("v1")

    async def test_the_first_fetch_after_publish_is_not_compiled_again(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent, settings: Settings
    ) -> None:
        await add_training(client, headers, agent["id"])
        await publish(client, headers, agent["id"])
        await add_training(client, headers, agent["id"], subject="Second")
        await publish(client, headers, agent["id"])
        first = await config(client, headers, agent["id"], "published")
        assert first.headers["X-Cuecard-Cache"] == "hit"
        assert "### Second" in first.json()["system_prompt"]
        # Only the server that published has it: another one compiles the stored version.
        other = create_app(settings)
        async with other.router.lifespan_context(other):
            transport = httpx.ASGITransport(app=other)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as fresh:
                theirs = await config(fresh, headers, agent["id"], "published")
        assert theirs.headers["X-Cuecard-Cache"] == "miss"
        assert theirs.content == first.content

    async def test_a_published_version_stays_cached_while_the_draft_changes(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"])
        await publish(client, headers, agent["id"])
        first = await config(client, headers, agent["id"], "published")
        await add_training(client, headers, agent["id"], subject="Draft only")
        again = await config(client, headers, agent["id"], "published")
        assert again.headers["X-Cuecard-Cache"] == "hit"
        assert again.content == first.content


class TestContent:
    async def test_inactive_trainings_never_appear(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        hidden = await add_training(
            client, headers, agent["id"], subject="Hidden", instructions="Secret rule.",
            current_status="inactive",
        )  # fmt: skip
        hidden_node = await add_training(
            client, headers, agent["id"], node_id="billing", subject="Node secret",
            instructions="Secret node rule.", current_status="inactive",
        )  # fmt: skip
        shown = await add_training(client, headers, agent["id"], subject="Shown")
        await publish(client, headers, agent["id"])
        for version in ("draft", "published"):
            for fmt in ("native", "pipecat-flows", "openai-messages"):
                text = (await config(client, headers, agent["id"], version, fmt)).text
                for absent in ("Hidden", "Secret", hidden["id"], hidden_node["id"], "billing"):
                    assert absent not in text, (version, fmt, absent)
                assert "Shown" in text
        data = await native(client, headers, agent["id"])
        assert data["system_training_ids"] == [shown["id"]]
        assert data["budget"]["active_count"] == 1

    async def test_deactivating_a_training_removes_it(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], node_id="n", subject="Goes away")
        assert "Goes away" in (await config(client, headers, agent["id"])).text
        await add_training(
            client, headers, agent["id"], node_id="n", subject="Goes away",
            current_status="inactive",
        )  # fmt: skip
        assert "Goes away" not in (await config(client, headers, agent["id"])).text

    async def test_description_and_global_trainings_make_the_system_prompt(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(description="You are Ana, a support agent.")
        a = await add_training(client, headers, agent["id"], subject="Refunds", instructions="R.")
        b = await add_training(client, headers, agent["id"], subject="Hours", instructions="H.")
        data = await native(client, headers, agent["id"])
        assert data["system_prompt"] == (
            "You are Ana, a support agent.\n\n### Refunds\nR.\n\n### Hours\nH."
        )
        assert data["system_training_ids"] == [a["id"], b["id"]]

    async def test_node_trainings_go_to_their_node_only(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        t = await add_training(client, headers, agent["id"], node_id="billing", subject="Cards")
        await set_flow(client, headers, agent["id"], linear_flow("greeting", "billing"))
        data = await native(client, headers, agent["id"])
        assert "Cards" not in data["system_prompt"]
        assert data["nodes"] == {
            "billing": {
                "task_messages": [{"role": "system", "content": "### Cards\nInstructions."}],
                "training_ids": [t["id"]],
            }
        }
        assert data["flow"]["nodes"]["billing"]["training_ids"] == [t["id"]]
        assert data["flow"]["nodes"]["greeting"]["training_ids"] == []

    async def test_without_a_flow_a_node_id_is_only_the_trainings_identity(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        # The spec's Request 1, on an agent with a description and no flow.
        agent = await create_agent(description="You help customers.")
        t = await add_training(
            client, headers, agent["id"], node_id="training-node-123",
            subject="Product Knowledge", instructions="Premium includes 24/7 support.",
        )  # fmt: skip
        data = await native(client, headers, agent["id"])
        assert data["nodes"] == {} and data["flow"] is None
        assert data["conversation_mode"] == "llm_driven"
        assert data["system_training_ids"] == [t["id"]]
        messages = (await config(client, headers, agent["id"], fmt="openai-messages")).json()
        assert messages["messages"] == [
            {
                "role": "system",
                "content": "You help customers.\n\n### Product Knowledge\n"
                "Premium includes 24/7 support.",
            }
        ]
        flows = (await config(client, headers, agent["id"], fmt="pipecat-flows")).json()
        assert "### Product Knowledge" in flows["nodes"]["start"]["role_message"]

    async def test_a_flow_naming_the_node_id_scopes_the_training_to_that_node(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(description="You help customers.")
        await add_training(
            client, headers, agent["id"], node_id="training-node-123",
            subject="Product Knowledge", instructions="Premium includes 24/7 support.",
        )  # fmt: skip
        await set_flow(client, headers, agent["id"], linear_flow("greet", "training-node-123"))
        messages = (await config(client, headers, agent["id"], fmt="openai-messages")).json()
        flows = (await config(client, headers, agent["id"], fmt="pipecat-flows")).json()
        data = await native(client, headers, agent["id"])

        assert "Product Knowledge" not in data["system_prompt"]
        for document, role in ((messages, "messages"), (flows, "role_message")):
            greet = str(document["nodes"]["greet"][role])
            scoped = str(document["nodes"]["training-node-123"][role])
            assert "### Product Knowledge" not in greet and "### Product Knowledge" in scoped
        assert "### Product Knowledge" not in str(messages["messages"])  # the call's start

    async def test_a_flow_without_the_node_leaves_the_training_global(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], node_id="billing", subject="Cards")
        await set_flow(client, headers, agent["id"], linear_flow("greeting", "other"))
        data = await native(client, headers, agent["id"])
        assert "### Cards" in data["system_prompt"] and data["nodes"] == {}
        flows = (await config(client, headers, agent["id"], fmt="pipecat-flows")).json()
        assert all("### Cards" in n["role_message"] for n in flows["nodes"].values())

    async def test_settings_the_runtime_needs_are_included(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(
            language="pt-BR", initial_message="Olá!", who_speaks_first="user",
            conversation_speed=1.5, llm_temperature=0.2, idle_time_seconds=12,
            interrupt_sensitivity="high",
        )  # fmt: skip
        settings = (await native(client, headers, agent["id"]))["settings"]
        assert settings["language"] == "pt-BR"
        assert settings["initial_message"] == "Olá!"
        assert settings["who_speaks_first"] == "user"
        assert settings["conversation_speed"] == 1.5
        assert settings["llm_temperature"] == 0.2
        assert settings["idle_time_seconds"] == 12
        assert settings["interrupt_sensitivity"] == "high"
        assert settings["enable_recording"] is False

    async def test_tokens_are_cl100k_counts(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(description="hello world")
        await add_training(client, headers, agent["id"], node_id="n", subject="A", instructions="B")
        await set_flow(client, headers, agent["id"], linear_flow("n"))
        tokens = (await native(client, headers, agent["id"]))["tokens"]
        # cl100k_base: "hello world" is 2 tokens; "### A\nB" is 4 ("###", " A", "\n", "B").
        assert tokens["encoding"] == "cl100k_base"
        assert (tokens["system"], tokens["nodes"], tokens["total"]) == (2, {"n": 4}, 6)
        assert "estimate" in tokens["note"]

    async def test_an_empty_prompt_is_warned(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        data = await native(client, headers, agent["id"])
        assert data["system_prompt"] == ""
        assert [w["code"] for w in data["warnings"]] == ["EMPTY_PROMPT"]


class TestBudget:
    async def test_every_active_training_is_inline_when_they_fit(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        for i in range(3):
            await add_training(client, headers, agent["id"], subject=f"S{i}")
        await add_training(client, headers, agent["id"], node_id="n")
        data = await native(client, headers, agent["id"])
        assert data["budget"]["mode"] == "inline"
        assert data["budget"]["budget_tokens"] == 2000
        assert (data["budget"]["inline_count"], data["budget"]["retrieved_count"]) == (4, 0)
        assert data["budget"]["retrieve_endpoint"] is None

    async def test_over_budget_keeps_node_and_pinned_inline_and_retrieves_the_rest(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(training_budget_tokens=40)
        pinned = await add_training(
            client, headers, agent["id"], subject="Pinned", instructions="Always.", pinned=True
        )
        node = await add_training(client, headers, agent["id"], node_id="billing")
        await set_flow(client, headers, agent["id"], linear_flow("billing"))
        loose = [
            await add_training(
                client, headers, agent["id"], subject=f"Loose {i}", instructions="word " * 10
            )
            for i in range(3)
        ]
        response = await config(client, headers, agent["id"])
        data = response.json()
        budget = data["budget"]
        assert budget["mode"] == "retrieve" == response.headers["X-Cuecard-Budget-Mode"]
        assert budget["active_count"] == 5
        assert (budget["inline_count"], budget["node_count"], budget["pinned_count"]) == (2, 1, 1)
        assert budget["retrieved_count"] == 3
        assert budget["retrieved_training_ids"] == [t["id"] for t in loose]
        assert budget["retrieve_endpoint"] == f"/api/v1/agents/{agent['id']}/runtime/retrieve"
        assert budget["active_tokens"] > 40
        assert data["system_training_ids"] == [pinned["id"]]
        assert data["nodes"]["billing"]["training_ids"] == [node["id"]]
        assert "Loose" not in data["system_prompt"]

    async def test_changing_the_budget_switches_the_mode(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        for i in range(3):
            await add_training(client, headers, agent["id"], subject=f"S{i}")
        assert (await native(client, headers, agent["id"]))["budget"]["mode"] == "inline"
        url = f"/api/v1/agents/{agent['id']}"
        await client.patch(url, json={"training_budget_tokens": 5}, headers=headers)
        assert (await native(client, headers, agent["id"]))["budget"]["mode"] == "retrieve"
        await client.patch(url, json={"training_budget_tokens": 5000}, headers=headers)
        assert (await native(client, headers, agent["id"]))["budget"]["mode"] == "inline"

    async def test_a_training_over_the_budget_on_its_own_is_warned(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(training_budget_tokens=10)
        big = await add_training(client, headers, agent["id"], instructions="many words " * 20)
        warnings = (await native(client, headers, agent["id"]))["warnings"]
        assert {"TRAINING_OVER_BUDGET": big["id"]} == {
            w["code"]: w["training_id"] for w in warnings if w["code"] == "TRAINING_OVER_BUDGET"
        }


class TestFormats:
    async def test_pipecat_flows_output_loads_as_a_flow_config(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(description="You are Bo.", initial_message="Hi {{ name }}!")
        await add_training(
            client, headers, agent["id"], subject="Vars", instructions="Say {{ order.id }} as is."
        )
        await add_training(client, headers, agent["id"], node_id="billing", subject="Cards")
        await add_training(client, headers, agent["id"], node_id="start", subject="Open")
        response = await config(client, headers, agent["id"], fmt="pipecat-flows")
        flow = pipecat.FlowConfig.model_validate(response.json())
        assert flow.initial_node == "start"
        assert set(flow.nodes) == {"start"}  # no flow: one node, whatever the node_ids
        start = flow.nodes["start"]
        assert start.role_message is not None
        # Trainings are prose: pipecat must show their braces, not look them up in its state.
        assert pipecat.render(start.role_message, {}) == (
            "You are Bo.\n\n### Vars\nSay {{ order.id }} as is.\n\n### Cards\nInstructions."
            "\n\n### Open\nInstructions."
        )
        assert [m.role for m in start.task_messages] == ["developer"]
        assert start.pre_actions[0].type == "tts_say"
        assert pipecat.render(start.pre_actions[0].model_extra["text"], {}) == "Hi {{ name }}!"
        assert start.respond_immediately is False

    async def test_pipecat_flows_without_trainings_still_has_a_start_node(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        response = await config(client, headers, agent["id"], fmt="pipecat-flows")
        flow = pipecat.FlowConfig.model_validate(response.json())
        assert list(flow.nodes) == ["start"]
        assert flow.nodes["start"].task_messages
        assert flow.nodes["start"].respond_immediately is True

    async def test_openai_messages_are_the_system_messages_to_send(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(description="Base.", llm_temperature=0.3)
        await add_training(client, headers, agent["id"], subject="G", instructions="g")
        await add_training(client, headers, agent["id"], node_id="n", subject="N", instructions="n")
        response = await config(client, headers, agent["id"], fmt="openai-messages")
        data = response.json()
        assert data["messages"] == [{"role": "system", "content": "Base.\n\n### G\ng\n\n### N\nn"}]
        assert data["tools"] == [] and data["initial_node"] == "start"
        assert data["nodes"]["start"]["messages"] == data["messages"]
        assert data["temperature"] == 0.3
        assert data["retrieval"] == {"mode": "inline", "endpoint": None}
        assert data["config_hash"] == response.headers["ETag"].strip('"')
