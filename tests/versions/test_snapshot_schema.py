"""Published snapshots carry a schema version, and a version stored in the first format (no
`schema_version`, no flow, actions or numbers: tests/versions/data/snapshot_v1.json) still
serves, diffs and restores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from cuecard.runtime.compile import compile_snapshot
from cuecard.snapshots import reader
from tests.config_helpers import publish

Headers = dict[str, str]
STORED_V1 = (Path(__file__).parent / "data" / "snapshot_v1.json").read_text()
FIXTURE_AGENT = "00000000-0000-4000-8000-00000000a9e1"
REFUNDS, HOURS = "00000000-0000-4000-8000-0000000000b1", "00000000-0000-4000-8000-0000000000b2"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


async def _stored(app: Any, agent_id: str) -> str:
    async with app.state.db.transaction() as uow:
        row = await uow.one(
            "SELECT snapshot FROM agent_versions WHERE agent_id = :a AND version = 1",
            {"a": agent_id},
        )
    assert row is not None
    return str(row["snapshot"])


@pytest.fixture
async def old_version(
    client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
) -> dict[str, Any]:
    """An agent whose version 1 is stored exactly as the first Cuecard wrote it."""
    agent: dict[str, Any] = await create_agent(name="SupportBot", description="Today's prompt.")
    await publish(client, headers, agent["id"])
    old = json.loads(STORED_V1.replace(FIXTURE_AGENT, agent["id"]))
    async with app.state.db.transaction() as uow:
        await uow.write(
            "UPDATE agent_versions SET snapshot = :s WHERE agent_id = :a AND version = 1",
            {"s": _canonical(old), "a": agent["id"]},
        )
    app.state.runtime_cache = type(app.state.runtime_cache)()  # forget the compiled version
    return {**agent, "v1": old}


class TestPublishedSnapshot:
    async def test_publish_writes_the_current_schema_version(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await create_agent(description="Prompt.")
        await publish(client, headers, agent["id"])

        stored = json.loads(await _stored(app, agent["id"]))

        assert stored["schema_version"] == reader.SCHEMA_VERSION == 2
        assert stored["actions"] == [] and stored["phone_numbers"] == []
        assert stored["flow"]["conversation_mode"] == "llm_driven"
        assert reader.read(json.dumps(stored)) == stored  # the current shape reads as is


class TestReadingVersion1:
    async def test_get_version_shows_it_in_the_current_shape(
        self, client: httpx.AsyncClient, headers: Headers, old_version: dict[str, Any]
    ) -> None:
        response = await client.get(
            f"/api/v1/agents/{old_version['id']}/versions/1", headers=headers
        )

        assert response.status_code == 200
        shown = response.json()["data"]["snapshot"]
        assert shown["schema_version"] == 2
        assert shown["flow"] == {"id": None, "conversation_mode": "llm_driven", "flow_config": None}
        assert shown["actions"] is None and shown["phone_numbers"] is None  # froze none
        assert shown["agent"] == old_version["v1"]["agent"]
        assert shown["trainings"] == old_version["v1"]["trainings"]

    async def test_it_compiles_exactly_as_the_first_compiler_read_it(
        self, client: httpx.AsyncClient, headers: Headers, old_version: dict[str, Any]
    ) -> None:
        response = await client.get(
            f"/api/v1/agents/{old_version['id']}/runtime-config",
            params={"version": "1"},
            headers=headers,
        )

        assert response.status_code == 200
        served = response.json()
        assert served["config_hash"] == compile_snapshot(old_version["v1"]).config_hash
        assert "Refunds take five working days." in served["system_prompt"]
        assert "Opening hours" not in served["system_prompt"]  # inactive in that version
        assert served["settings"]["initial_message"] == "Hello, Acme support."

    async def test_a_diff_with_the_draft_lists_its_trainings(
        self, client: httpx.AsyncClient, headers: Headers, old_version: dict[str, Any]
    ) -> None:
        response = await client.get(
            f"/api/v1/agents/{old_version['id']}/diff",
            params={"from": "1", "to": "draft"},
            headers=headers,
        )

        assert response.status_code == 200
        diff = response.json()["data"]
        assert {t["id"] for t in diff["trainings"]["removed"]} == {REFUNDS, HOURS}
        assert diff["flow"]["changed"] is False

    async def test_restore_brings_back_what_it_froze_and_keeps_what_it_did_not_know(
        self, client: httpx.AsyncClient, headers: Headers, old_version: dict[str, Any]
    ) -> None:
        base = f"/api/v1/agents/{old_version['id']}"
        await client.patch(base, json={"publish_requires_clean_lint": True}, headers=headers)

        restored = await client.post(f"{base}/versions/1/restore", headers=headers)

        assert restored.status_code == 200, restored.text
        data = restored.json()["data"]
        assert sorted(data["recreated_training_ids"]) == [REFUNDS, HOURS]
        assert data["agent"]["label"] == "Support Bot"
        assert data["agent"]["description"] == "You answer support calls for Acme."
        # Version 1 knew no publish gates: the current value stays.
        assert data["agent"]["publish_requires_clean_lint"] is True
        trainings = (await client.get(f"{base}/trainings", headers=headers)).json()["data"]
        assert [(t["id"], t["current_status"], t["pinned"]) for t in trainings] == [
            (REFUNDS, "active", False),
            (HOURS, "inactive", True),
        ]


class TestReader:
    def test_a_snapshot_from_a_newer_server_is_refused_not_misread(self) -> None:
        newer = {**json.loads(STORED_V1), "schema_version": reader.SCHEMA_VERSION + 1}

        with pytest.raises(reader.UnreadableSnapshot):
            reader.read(json.dumps(newer))

    def test_version_1_trainings_without_later_fields_get_their_old_meaning(self) -> None:
        old = json.loads(STORED_V1)
        for training in old["trainings"]:
            for field in ("node_id", "position", "pinned"):
                del training[field]

        read = reader.read(old)

        assert [(t["node_id"], t["position"], t["pinned"]) for t in read["trainings"]] == [
            (None, None, False),
            (None, None, False),
        ]
        assert compile_snapshot(read).config_hash == compile_snapshot(old).config_hash
