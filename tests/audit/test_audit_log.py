"""GET /api/v1/audit-log: every config write, with the token's id and label, filterable."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cuecard.auth import service as auth
from cuecard.core.config import Settings
from tests.conftest import TokenFactory, bearer


@pytest.fixture
async def labelled(app: Any, settings: Settings) -> tuple[str, dict[str, str]]:
    async with app.state.db.transaction() as uow:
        await auth.ensure_environment(uow, "default")
        info, secret = await auth.create_token(
            uow,
            settings.resolved_secret_key(),
            settings.token_prefix,
            "default",
            label="ci deploy",
        )
    return info.id, bearer(secret)


class TestAuditLog:
    async def test_config_writes_are_recorded_with_the_token_and_what_changed(
        self,
        client: httpx.AsyncClient,
        labelled: tuple[str, dict[str, str]],
        make_token: TokenFactory,
    ) -> None:
        token_id, headers = labelled
        agent = (await client.post("/api/v1/agents", headers=headers, json={"name": "Bot"})).json()[
            "data"
        ]
        base = f"/api/v1/agents/{agent['id']}"
        await client.patch(base, headers=headers, json={"language": "pt-BR"})
        training = (
            await client.post(
                f"{base}/trainings",
                headers=headers,
                json={"node_id": "n", "subject": "S", "instructions": "I"},
            )
        ).json()["data"]
        await client.post(f"{base}/publish", headers=headers)
        await client.delete(f"{base}/trainings/{training['id']}", headers=headers)

        reader = bearer(await make_token(read_only=True))
        log = await client.get("/api/v1/audit-log", headers=reader)
        assert log.status_code == 200
        entries = log.json()["data"]
        assert [e["action"] for e in entries] == [
            "training.deleted",
            "agent.published",
            "training.created",
            "agent.updated",
            "agent.created",
        ]
        assert {e["token"]["id"] for e in entries} == {token_id}
        assert {e["token"]["label"] for e in entries} == {"ci deploy"}
        updated = entries[3]
        assert updated["changes"] == {"language": {"from": "en-US", "to": "pt-BR"}}
        assert entries[1]["changes"]["version"] == 1
        assert entries[2]["target_id"] == training["id"]
        assert log.json()["meta"]["total"] == 5

    async def test_filters_and_tenancy(
        self,
        client: httpx.AsyncClient,
        labelled: tuple[str, dict[str, str]],
        make_token: TokenFactory,
    ) -> None:
        token_id, headers = labelled
        other_headers = bearer(await make_token())
        one = (await client.post("/api/v1/agents", headers=headers, json={"name": "A"})).json()
        await client.post("/api/v1/agents", headers=other_headers, json={"name": "B"})

        async def total(**params: Any) -> int:
            response = await client.get("/api/v1/audit-log", headers=headers, params=params)
            assert response.status_code == 200, response.text
            return int(response.json()["meta"]["total"])

        assert await total() == 2
        assert await total(agent_id=one["data"]["id"]) == 1
        assert await total(token_id=token_id) == 1
        assert await total(action="agent.created") == 2
        assert await total(action="agent.deleted") == 0
        assert await total(date_from="2000-01-01", date_to="2000-01-02") == 0
        elsewhere = bearer(await make_token("elsewhere"))
        response = await client.get("/api/v1/audit-log", headers=elsewhere)
        assert response.json()["data"] == []
        bad = await client.get("/api/v1/audit-log", headers=headers, params={"date_to": "x"})
        assert bad.json()["errors"] == {"date_to": ["The date to must be a valid date."]}


class TestTheWholeAgentIsAudited:
    async def test_flow_knowledge_advanced_and_action_writes_are_recorded(
        self, client: httpx.AsyncClient, labelled: tuple[str, dict[str, str]]
    ) -> None:
        token_id, headers = labelled
        agent = (await client.post("/api/v1/agents", headers=headers, json={"name": "Bot"})).json()[
            "data"
        ]
        base = f"/api/v1/agents/{agent['id']}"
        flow = {"initial_node_id": "a", "nodes": [{"id": "a", "type": "end"}]}
        writes = [
            await client.put(f"{base}/flow", headers=headers,
                             json={"conversation_mode": "flow_driven", "flow_config": flow}),
            await client.put(f"{base}/knowledge", headers=headers, json={
                "description": "You help callers.", "interrupt_sensitivity": "low",
                "ask_if_human_present_on_idle": False, "llm_temperature": 0.3,
                "initial_message_delay": 0}),
            await client.patch(f"{base}/advanced-settings", headers=headers,
                               json={"enable_initial_message_cache": False}),
            await client.post(f"{base}/actions", headers=headers, json={
                "node_id": "hold", "name": "Hold", "description": "Puts the caller on hold",
                "type": "hold", "hold_duration": 30}),
        ]  # fmt: skip
        assert [w.status_code for w in writes] == [200, 200, 200, 200], [w.text for w in writes]

        entries = (await client.get("/api/v1/audit-log", headers=headers)).json()["data"]
        actions = [e["action"] for e in entries]
        for expected in ("flow.updated", "agent.knowledge_updated",
                         "agent.advanced_settings_updated", "action.created"):  # fmt: skip
            assert expected in actions
        knowledge = next(e for e in entries if e["action"] == "agent.knowledge_updated")
        assert knowledge["changes"]["description"]["to"] == "You help callers."
        assert {e["token"]["id"] for e in entries} == {token_id}
