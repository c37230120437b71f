from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory, bearer

SPEC_EXAMPLE = {
    "node_id": "training-node-123",
    "subject": "Product Knowledge",
    "instructions": "Learn about our product features, pricing, and common use cases.",
    "current_status": "active",
}


def url(agent: dict[str, Any]) -> str:
    return f"/api/v1/agents/{agent['id']}/trainings"


class TestCreateTraining:
    async def test_creates_training_with_spec_fields(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.post(url(agent), json=SPEC_EXAMPLE, headers=headers)

        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True
        assert body["message"] == "Agent training created successfully"
        data = body["data"]
        assert data["subject"] == "Product Knowledge"
        assert data["instructions"] == SPEC_EXAMPLE["instructions"]
        assert data["current_status"] == "active"
        assert data["node_id"] == "training-node-123"
        assert data["agent_id"] == agent["id"]
        assert data["created_at"] == data["updated_at"]
        assert set(data) >= {"id", "subject", "instructions", "current_status", "created_at"}

    async def test_minimal_request_defaults_to_active(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.post(
            url(agent), json={"subject": "Service", "instructions": "Be polite."}, headers=headers
        )

        assert response.status_code == 200
        assert response.json()["data"]["current_status"] == "active"
        assert response.json()["data"]["node_id"] is None

    async def test_creates_inactive_training(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        body = {"subject": "Tech", "instructions": "Help.", "current_status": "inactive"}
        response = await client.post(url(agent), json=body, headers=headers)

        assert response.json()["data"]["current_status"] == "inactive"

    async def test_timestamps_are_utc_iso8601_with_z(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.post(url(agent), json=SPEC_EXAMPLE, headers=headers)

        created_at = response.json()["data"]["created_at"]
        assert created_at.endswith("Z")
        assert len(created_at) == len("2024-01-15T10:30:00.000000Z")

    async def test_client_cannot_choose_the_id_and_unknown_fields_are_ignored(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        chosen = "11111111-1111-1111-1111-111111111111"
        body = {**SPEC_EXAMPLE, "id": chosen, "colour": "blue"}
        response = await client.post(url(agent), json=body, headers=headers)

        assert response.status_code == 200
        assert response.json()["data"]["id"] != chosen
        assert "colour" not in response.json()["data"]


class TestUpsertByNodeId:
    async def test_same_node_id_updates_in_place(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        first = (await client.post(url(agent), json=SPEC_EXAMPLE, headers=headers)).json()
        changed = {**SPEC_EXAMPLE, "subject": "Pricing", "instructions": "Quote list prices."}
        second = await client.post(url(agent), json=changed, headers=headers)

        assert second.status_code == 200
        assert second.json()["message"] == "Agent training updated successfully"
        data = second.json()["data"]
        assert data["id"] == first["data"]["id"]
        assert data["created_at"] == first["data"]["created_at"]
        assert data["updated_at"] > first["data"]["updated_at"]
        assert data["subject"] == "Pricing"
        listed = (await client.get(url(agent), headers=headers)).json()["data"]
        assert [t["subject"] for t in listed] == ["Pricing"]

    async def test_without_node_id_always_creates(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        body = {"subject": "Same", "instructions": "Same."}
        first = await client.post(url(agent), json=body, headers=headers)
        second = await client.post(url(agent), json=body, headers=headers)

        assert first.json()["data"]["id"] != second.json()["data"]["id"]
        assert second.json()["message"] == "Agent training created successfully"
        assert len((await client.get(url(agent), headers=headers)).json()["data"]) == 2

    async def test_update_without_status_keeps_inactive_training_inactive(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await client.post(
            url(agent), json={**SPEC_EXAMPLE, "current_status": "inactive"}, headers=headers
        )
        body = {"node_id": SPEC_EXAMPLE["node_id"], "subject": "New", "instructions": "New."}
        response = await client.post(url(agent), json=body, headers=headers)

        assert response.json()["data"]["current_status"] == "inactive"

    async def test_update_can_change_status_explicitly(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await client.post(url(agent), json=SPEC_EXAMPLE, headers=headers)
        response = await client.post(
            url(agent), json={**SPEC_EXAMPLE, "current_status": "inactive"}, headers=headers
        )

        assert response.json()["data"]["current_status"] == "inactive"

    async def test_update_without_position_or_pinned_keeps_them(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await client.post(
            url(agent), json={**SPEC_EXAMPLE, "position": 3, "pinned": True}, headers=headers
        )
        response = await client.post(url(agent), json=SPEC_EXAMPLE, headers=headers)

        assert response.json()["data"]["position"] == 3
        assert response.json()["data"]["pinned"] is True

    async def test_node_ids_are_scoped_to_their_agent(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: dict[str, Any],
        create_agent: Callable[..., Awaitable[dict[str, Any]]],
    ) -> None:
        other = await create_agent(name="Other")
        a = await client.post(url(agent), json=SPEC_EXAMPLE, headers=headers)
        b = await client.post(url(other), json=SPEC_EXAMPLE, headers=headers)

        assert a.json()["data"]["id"] != b.json()["data"]["id"]
        assert b.json()["message"] == "Agent training created successfully"


class TestTrainingWriteSetsAgentToDraft:
    async def test_upsert_sets_published_agent_to_draft(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await client.post(url(agent), json=SPEC_EXAMPLE, headers=headers)
        published = await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)
        assert published.json()["data"]["current_status"] == "published"

        await client.post(url(agent), json={**SPEC_EXAMPLE, "subject": "x"}, headers=headers)

        got = await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)
        assert got.json()["data"]["current_status"] == "draft"

    async def test_rejected_upsert_leaves_published_agent_published(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await client.post(url(agent), json=SPEC_EXAMPLE, headers=headers)
        await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)

        rejected = await client.post(url(agent), json={"subject": "x" * 256}, headers=headers)

        assert rejected.status_code == 422
        got = await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)
        assert got.json()["data"]["current_status"] == "published"
        assert [t["subject"] for t in got.json()["data"]["trainings"]] == ["Product Knowledge"]


class TestCreateTrainingValidation:
    async def post(self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any],
                   body: Any) -> httpx.Response:  # fmt: skip
        return await client.post(url(agent), json=body, headers=headers)

    async def test_spec_validation_example(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await self.post(client, headers, agent, {"current_status": "archived"})

        assert response.status_code == 422
        assert response.json() == {
            "success": False,
            "message": "The given data was invalid.",
            "code": "VALIDATION_ERROR",
            "errors": {
                "subject": ["The subject field is required."],
                "instructions": ["The instructions field is required."],
                "current_status": ["The selected current status is invalid."],
            },
        }

    @pytest.mark.parametrize("blank", ["", "   ", "\n\t", None])
    async def test_blank_subject_counts_as_missing(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any], blank: Any
    ) -> None:
        response = await self.post(client, headers, agent, {"subject": blank, "instructions": "x"})

        assert response.json()["errors"] == {"subject": ["The subject field is required."]}

    async def test_subject_longer_than_255_characters(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await self.post(
            client, headers, agent, {"subject": "a" * 256, "instructions": "x"}
        )

        assert response.json()["errors"] == {
            "subject": ["The subject field must not be greater than 255 characters."]
        }

    async def test_limits_count_characters_not_bytes(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        subject = "é" * 255  # 510 bytes in UTF-8
        response = await self.post(
            client, headers, agent, {"subject": subject, "instructions": "x"}
        )

        assert response.status_code == 200
        assert response.json()["data"]["subject"] == subject

    @pytest.mark.parametrize("value", [123, True, ["a"], {"a": 1}])
    async def test_subject_must_be_a_string(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any], value: Any
    ) -> None:
        response = await self.post(client, headers, agent, {"subject": value, "instructions": "x"})

        assert response.json()["errors"] == {"subject": ["The subject field must be a string."]}

    async def test_instructions_over_the_configured_limit(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        limit = client._transport.app.state.settings.max_instructions_chars  # type: ignore[attr-defined]
        ok = await self.post(client, headers, agent, {"subject": "s", "instructions": "i" * limit})
        too_long = await self.post(
            client, headers, agent, {"subject": "s", "instructions": "i" * (limit + 1)}
        )

        assert ok.status_code == 200
        assert too_long.json()["errors"] == {
            "instructions": [f"The instructions field must not be greater than {limit} characters."]
        }

    async def test_node_id_must_be_a_string(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        body = {"node_id": 42, "subject": "s", "instructions": "i"}
        response = await self.post(client, headers, agent, body)

        assert response.json()["errors"] == {"node_id": ["The node id field must be a string."]}

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            (b"not json", "The request body must be valid JSON."),
            (b"", "The request body must be a JSON object."),
            (b"[1, 2]", "The request body must be a JSON object."),
            (b'"text"', "The request body must be a JSON object."),
            (b"\xff\xfe", "The request body must be valid JSON."),
            (
                b'{"subject": "s", "instructions": "i", "position": NaN}',
                "The request body must be valid JSON.",
            ),
        ],
    )
    async def test_body_that_is_not_a_json_object(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: dict[str, Any],
        raw: bytes,
        message: str,
    ) -> None:
        response = await client.post(
            url(agent), content=raw, headers={**headers, "Content-Type": "application/json"}
        )

        assert response.status_code == 422
        assert response.json()["errors"] == {"body": [message]}
        assert response.json()["code"] == "VALIDATION_ERROR"


class TestCreateTrainingAccess:
    async def test_missing_token_is_401(
        self, client: httpx.AsyncClient, agent: dict[str, Any]
    ) -> None:
        response = await client.post(url(agent), json=SPEC_EXAMPLE)

        assert response.status_code == 401
        assert response.json() == {
            "success": False,
            "message": "Unauthenticated.",
            "code": "INVALID_TOKEN",
        }
        assert response.headers["WWW-Authenticate"] == "Bearer"

    @pytest.mark.parametrize(
        "authorization",
        ["Bearer talq_unknown", "Bearer nottalq", "Basic dXNlcjpwYXNz", "Bearer", "talq_x"],
    )
    async def test_bad_tokens_are_401(
        self, client: httpx.AsyncClient, agent: dict[str, Any], authorization: str
    ) -> None:
        response = await client.post(
            url(agent), json=SPEC_EXAMPLE, headers={"Authorization": authorization}
        )

        assert response.status_code == 401

    async def test_read_only_token_is_403_before_the_body_is_validated(
        self, client: httpx.AsyncClient, agent: dict[str, Any], make_token: TokenFactory
    ) -> None:
        reader = bearer(await make_token(read_only=True))
        response = await client.post(url(agent), content=b"garbage", headers=reader)

        assert response.status_code == 403
        assert response.json() == {
            "success": False,
            "message": "You are not authorized to create training for this agent.",
            "code": "UNAUTHORIZED",
        }

    @pytest.mark.parametrize(
        "agent_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "1 OR 1=1"]
    )
    async def test_unknown_agent_is_404_before_the_body_is_validated(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent_id: str
    ) -> None:
        response = await client.post(
            f"/api/v1/agents/{agent_id}/trainings", content=b"{}", headers=headers
        )

        assert response.status_code == 404
        assert response.json() == {
            "success": False,
            "message": "Agent not found",
            "code": "AGENT_NOT_FOUND",
        }

    async def test_other_environments_agent_is_404(
        self, client: httpx.AsyncClient, agent: dict[str, Any], make_token: TokenFactory
    ) -> None:
        outsider = bearer(await make_token("other"))
        response = await client.post(url(agent), json=SPEC_EXAMPLE, headers=outsider)

        assert response.status_code == 404
        assert response.json()["message"] == "Agent not found"
