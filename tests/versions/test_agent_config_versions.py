"""Voice, knowledge, calling and actions in versions, restore and diff; readiness = publish."""

from __future__ import annotations

from typing import Any

import httpx

from tests.actions.helpers import create_action, webhook
from tests.config_helpers import KNOWLEDGE, RACHEL_ULTRA, native, publish, register_number

Headers = dict[str, str]
VOICE = {"voice_id": RACHEL_ULTRA, "conversation_speed": 1.5, "who_speaks_first": "user",
         "similarity": 0.7, "stability": 0.6}  # fmt: skip
URL = "https://hooks.example.com/x"


class TestReadyToPublish:
    async def test_is_ready_to_publish_is_exactly_whether_publish_succeeds(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any
    ) -> None:
        async def ready_then_publish(agent_id: str) -> tuple[bool, int]:
            got = await client.get(f"/api/v1/agents/{agent_id}", headers=headers)
            published = await client.post(f"/api/v1/agents/{agent_id}/publish", headers=headers)
            await client.post(f"/api/v1/agents/{agent_id}/unpublish", headers=headers)
            return got.json()["data"]["is_ready_to_publish"], published.status_code

        fresh = await create_agent()
        with_voice_and_action = await create_agent()
        await client.put(
            f"/api/v1/agents/{with_voice_and_action['id']}/voice", json=VOICE, headers=headers
        )
        await create_action(client, headers, with_voice_and_action["id"], webhook(URL))
        inactive_only = await create_agent()
        await client.post(
            f"/api/v1/agents/{inactive_only['id']}/trainings",
            headers=headers,
            json={"subject": "S", "instructions": "I", "current_status": "inactive"},
        )
        with_knowledge = await create_agent()
        await client.put(
            f"/api/v1/agents/{with_knowledge['id']}/knowledge", json=KNOWLEDGE, headers=headers
        )

        results = {
            "fresh": await ready_then_publish(fresh["id"]),
            "voice and action only": await ready_then_publish(with_voice_and_action["id"]),
            "inactive training only": await ready_then_publish(inactive_only["id"]),
            "knowledge": await ready_then_publish(with_knowledge["id"]),
        }

        assert results == {
            "fresh": (False, 422),
            "voice and action only": (False, 422),
            "inactive training only": (False, 422),
            "knowledge": (True, 200),  # no voice needed: a runtime may bring its own
        }
        refused = await client.post(f"/api/v1/agents/{fresh['id']}/publish", headers=headers)
        assert refused.json()["errors"] == {
            "agent": ["The agent needs a description or an active training to publish."]
        }


class TestVersionsCarryTheWholeAgent:
    async def test_a_version_freezes_voice_actions_numbers_and_restore_brings_them_back(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await create_agent(description="Prompt.")
        base = f"/api/v1/agents/{agent['id']}"
        number = await register_number(app, "+12125550150")
        await client.put(f"{base}/voice", json=VOICE, headers=headers)
        await client.put(
            f"{base}/calling",
            json={"direction": "inbound", "phone_number_ids": [number]},
            headers=headers,
        )
        kept = await create_action(client, headers, agent["id"], webhook(URL))
        await publish(client, headers, agent["id"])
        version = (await client.get(f"{base}/versions/1", headers=headers)).json()["data"][
            "snapshot"
        ]
        published = await native(client, headers, agent["id"], "published")

        # Change everything, then compare and restore.
        await client.put(
            f"{base}/voice", json={**VOICE, "conversation_speed": 1.9}, headers=headers
        )
        await client.put(
            f"{base}/calling",
            json={"direction": "outbound", "phone_number_ids": []},
            headers=headers,
        )
        await client.delete(f"{base}/actions/{kept['id']}", headers=headers)
        extra = await create_action(
            client, headers, agent["id"], webhook(URL, node_id="other", name="Other")
        )
        diff = (await client.get(f"{base}/diff", headers=headers)).json()["data"]
        restored = await client.post(f"{base}/versions/1/restore", headers=headers)
        after = await native(client, headers, agent["id"], "draft")

        assert version["agent"]["voice_template_id"] == RACHEL_ULTRA
        assert [a["id"] for a in version["actions"]] == [kept["id"]]
        assert version["phone_numbers"] == [
            {"id": number, "number": "+12125550150", "direction": "both"}
        ]
        assert {c["field"] for c in diff["settings"]} == {"conversation_speed", "direction"}
        assert [a["id"] for a in diff["actions"]["removed"]] == [kept["id"]]
        assert [a["id"] for a in diff["actions"]["added"]] == [extra["id"]]
        assert diff["phone_numbers"] == {"added": [], "removed": ["+12125550150"]}
        assert diff["has_changes"] is True
        assert restored.status_code == 200
        result = restored.json()["data"]
        assert result["restored_action_ids"] == [kept["id"]]
        assert result["deactivated_action_ids"] == [extra["id"]]
        assert result["phone_number_ids"] == [number]
        assert after["config_hash"] == published["config_hash"]
        again = (await client.get(f"{base}/diff", headers=headers)).json()["data"]
        # Only the action the version lacks remains, kept inactive (as restore keeps trainings).
        assert (again["settings"], again["phone_numbers"]) == ([], {"added": [], "removed": []})
        assert [a["id"] for a in again["actions"]["added"]] == [extra["id"]]
        assert again["actions"]["removed"] == again["actions"]["changed"] == []
        # The re-created action lost its credentials: they never leave Cuecard, not even into a
        # version.
        actions = (await client.get(f"{base}/actions", headers=headers)).json()["data"]
        restored_action = next(a for a in actions if a["id"] == kept["id"])
        assert restored_action["has_authorization_token"] is False

    async def test_restore_skips_a_number_another_agent_now_answers(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        number = await register_number(app, "+12125550151")
        first = await create_agent(name="First", description="Prompt.")
        second = await create_agent(name="Second")
        claim = {"direction": "inbound", "phone_number_ids": [number]}
        await client.put(f"/api/v1/agents/{first['id']}/calling", json=claim, headers=headers)
        await publish(client, headers, first["id"])
        await client.put(
            f"/api/v1/agents/{first['id']}/calling",
            json={"direction": "inbound", "phone_number_ids": []},
            headers=headers,
        )
        await client.put(f"/api/v1/agents/{second['id']}/calling", json=claim, headers=headers)

        restored = await client.post(
            f"/api/v1/agents/{first['id']}/versions/1/restore", headers=headers
        )

        assert restored.status_code == 200
        assert restored.json()["data"]["skipped_phone_number_ids"] == [number]
        assert restored.json()["data"]["agent"]["phone_numbers"] == []


class TestVersionsFromBeforeActions:
    async def test_a_snapshot_without_voice_actions_or_numbers_still_serves_and_restores(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        import json

        agent = await create_agent(description="Prompt.")
        base = f"/api/v1/agents/{agent['id']}"
        await publish(client, headers, agent["id"])
        async with app.state.db.transaction() as uow:
            row = await uow.one(
                "SELECT snapshot FROM agent_versions WHERE agent_id = :a", {"a": agent["id"]}
            )
            assert row is not None
            old = json.loads(row["snapshot"])
            for key in ("actions", "phone_numbers"):
                old.pop(key)
            new_keys = ("voice_", "ambient_", "enable_initial")
            old["agent"] = {k: v for k, v in old["agent"].items() if not k.startswith(new_keys)}
            await uow.write(
                "UPDATE agent_versions SET snapshot = :s WHERE agent_id = :a",
                {"s": json.dumps(old), "a": agent["id"]},
            )
        app.state.runtime_cache = type(app.state.runtime_cache)()  # forget compiled versions
        action = await create_action(client, headers, agent["id"], webhook(URL))

        served = await client.get(
            f"{base}/runtime-config", params={"version": "1"}, headers=headers
        )
        diff = await client.get(f"{base}/diff", params={"from": "1"}, headers=headers)
        restored = await client.post(f"{base}/versions/1/restore", headers=headers)

        assert served.status_code == 200
        assert served.json()["tools"] == [] and served.json()["settings"]["voice"] is None
        assert diff.status_code == 200
        assert restored.status_code == 200
        # The old version knew nothing of actions: restoring it leaves them as they are.
        actions = (await client.get(f"{base}/actions", headers=headers)).json()["data"]
        assert [(a["id"], a["current_status"]) for a in actions] == [(action["id"], "active")]
