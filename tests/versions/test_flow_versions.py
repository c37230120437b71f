"""Flows in published versions: snapshot, restore and diff."""

from __future__ import annotations

from typing import Any

import httpx

from tests.flows.test_flows import SALES_FLOW, flow
from tests.runtime.helpers import add_training, linear_flow, native, publish, set_flow

Headers = dict[str, str]
Agent = dict[str, Any]


async def current_flow(client: httpx.AsyncClient, headers: Headers, agent: Agent) -> Any:
    response = await client.get(f"/api/v1/agents/{agent['id']}/flow", headers=headers)
    return response.json()["data"]


async def restore(client: httpx.AsyncClient, headers: Headers, agent: Agent, version: int
                  ) -> dict[str, Any]:  # fmt: skip
    url = f"/api/v1/agents/{agent['id']}/versions/{version}/restore"
    response = await client.post(url, headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def diff(client: httpx.AsyncClient, headers: Headers, agent: Agent, **query: Any
               ) -> dict[str, Any]:  # fmt: skip
    url = f"/api/v1/agents/{agent['id']}/diff"
    response = await client.get(url, params=query, headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


class TestSnapshot:
    async def test_a_version_freezes_the_flow(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Tone")
        saved = await set_flow(client, headers, agent["id"], SALES_FLOW)
        await publish(client, headers, agent["id"])
        await set_flow(client, headers, agent["id"], None)

        version = await client.get(f"/api/v1/agents/{agent['id']}/versions/1", headers=headers)

        frozen = version.json()["data"]["snapshot"]["flow"]
        assert frozen["conversation_mode"] == "flow_driven"
        assert frozen["flow_config"] == saved["flow_config"]
        published = await native(client, headers, agent["id"], "published")
        assert published["flow"]["initial_node"] == "node-greet"


class TestRestore:
    async def test_the_versions_flow_comes_back_as_a_new_save(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Tone")
        await set_flow(client, headers, agent["id"], SALES_FLOW)
        await publish(client, headers, agent["id"])
        await set_flow(client, headers, agent["id"], linear_flow("a", "b"))

        result = await restore(client, headers, agent, 1)

        assert result["flow_restored"] is True
        assert await current_flow(client, headers, agent) == {
            "conversation_mode": "flow_driven",
            "flow_config": SALES_FLOW,
        }
        versions = await client.get(f"/api/v1/agents/{agent['id']}/flow/versions", headers=headers)
        assert [v["number"] for v in versions.json()["data"]["versions"]] == [3, 2, 1]
        assert (await diff(client, headers, agent, **{"from": 1, "to": "draft"}))[
            "has_changes"
        ] is False

    async def test_an_unchanged_flow_is_not_saved_again(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Tone", instructions="v1")
        await set_flow(client, headers, agent["id"], SALES_FLOW)
        await publish(client, headers, agent["id"])
        await add_training(client, headers, agent["id"], subject="Other")

        result = await restore(client, headers, agent, 1)

        assert result["flow_restored"] is False
        versions = await client.get(f"/api/v1/agents/{agent['id']}/flow/versions", headers=headers)
        assert len(versions.json()["data"]["versions"]) == 1

    async def test_a_version_without_a_flow_restores_llm_driven(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], node_id="billing", subject="Cards")
        await publish(client, headers, agent["id"])
        await set_flow(client, headers, agent["id"], linear_flow("billing"))
        assert (await native(client, headers, agent["id"]))["nodes"] != {}

        result = await restore(client, headers, agent, 1)

        assert result["flow_restored"] is True
        assert (await current_flow(client, headers, agent))["conversation_mode"] == "llm_driven"
        assert "### Cards" in (await native(client, headers, agent["id"]))["system_prompt"]


class TestDiff:
    async def test_a_flow_change_is_a_change(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Tone")
        await set_flow(client, headers, agent["id"], SALES_FLOW)
        await publish(client, headers, agent["id"])
        changed = flow()
        changed["nodes"][2]["content"] = "Which week suits you?"
        changed["nodes"].append({"id": "node-extra", "type": "end"})
        changed["nodes"][2]["next"] = "node-extra"
        changed["nodes"] = [n for n in changed["nodes"] if n["id"] != "node-end"]
        await set_flow(client, headers, agent["id"], changed)

        result = await diff(client, headers, agent)

        assert result["has_changes"] is True
        assert result["settings"] == [] and result["trainings"]["changed"] == []
        assert result["flow"] == {
            "changed": True,
            "conversation_mode": {
                "field": "conversation_mode", "from": "flow_driven", "to": "flow_driven",
            },
            "nodes_added": ["node-extra"],
            "nodes_removed": ["node-end"],
            "nodes_changed": ["node-book"],
            "initial_node_changed": False,
            "global_functions_changed": False,
        }  # fmt: skip

    async def test_switching_the_mode_is_a_change(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Tone")
        await publish(client, headers, agent["id"])
        await set_flow(client, headers, agent["id"], SALES_FLOW)

        result = await diff(client, headers, agent)

        assert result["has_changes"] is True
        assert result["flow"]["conversation_mode"]["from"] == "llm_driven"
        assert result["flow"]["nodes_added"] == [n["id"] for n in SALES_FLOW["nodes"]]

    async def test_no_flow_change_no_flow_diff(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Tone")
        await set_flow(client, headers, agent["id"], SALES_FLOW)
        await publish(client, headers, agent["id"])

        result = await diff(client, headers, agent)

        assert result["has_changes"] is False and result["flow"]["changed"] is False
