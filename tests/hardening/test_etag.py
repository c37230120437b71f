"""ETag on agent, training, flow and action reads; If-Match on their writes (412 on a mismatch)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.actions.helpers import webhook


class TestAgentETag:
    async def test_a_read_has_an_etag_that_changes_when_the_agent_does(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        url = f"/api/v1/agents/{agent['id']}"
        before = await client.get(url, headers=headers)
        same = await client.get(url, headers=headers)
        updated = await client.patch(url, json={"label": "New"}, headers=headers)
        after = await client.get(url, headers=headers)

        assert before.headers["ETag"] == same.headers["ETag"]
        assert after.headers["ETag"] != before.headers["ETag"]
        assert updated.headers["ETag"] == after.headers["ETag"]

    async def test_a_write_with_the_current_etag_goes_through(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        url = f"/api/v1/agents/{agent['id']}"
        etag = (await client.get(url, headers=headers)).headers["ETag"]

        response = await client.patch(url, json={"label": "Mine"},
                                      headers={**headers, "If-Match": etag})  # fmt: skip

        assert response.status_code == 200
        assert response.json()["data"]["label"] == "Mine"

    async def test_a_write_with_a_stale_etag_is_412_and_changes_nothing(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        url = f"/api/v1/agents/{agent['id']}"
        stale = (await client.get(url, headers=headers)).headers["ETag"]
        await client.patch(url, json={"label": "Theirs"}, headers=headers)

        response = await client.patch(url, json={"label": "Mine"},
                                      headers={**headers, "If-Match": stale})  # fmt: skip

        assert response.status_code == 412
        assert response.json() == {
            "success": False,
            "message": "The resource has changed since you read it "
            "(If-Match does not match its ETag).",
            "code": "PRECONDITION_FAILED",
        }
        assert (await client.get(url, headers=headers)).json()["data"]["label"] == "Theirs"

    async def test_delete_and_publish_check_if_match_too(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        url = f"/api/v1/agents/{agent['id']}"
        stale = {**headers, "If-Match": '"not-the-etag"'}

        published = await client.post(f"{url}/publish", headers=stale)
        deleted = await client.delete(url, headers=stale)

        assert (published.status_code, deleted.status_code) == (412, 412)
        assert (await client.get(url, headers=headers)).status_code == 200

    async def test_if_match_star_matches_any_existing_agent(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.delete(f"/api/v1/agents/{agent['id']}",
                                       headers={**headers, "If-Match": "*"})  # fmt: skip

        assert response.status_code == 200

    async def test_two_editors_with_the_same_etag_one_wins_one_gets_412(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        url = f"/api/v1/agents/{agent['id']}"
        etag = (await client.get(url, headers=headers)).headers["ETag"]

        answers = await asyncio.gather(*[
            client.patch(url, json={"label": f"Editor {i}"}, headers={**headers, "If-Match": etag})
            for i in range(2)
        ])  # fmt: skip

        assert sorted(r.status_code for r in answers) == [200, 412]


class TestTrainingsETag:
    async def test_training_writes_check_the_collections_etag(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        url = f"/api/v1/agents/{agent['id']}/trainings"
        body = {"node_id": "n", "subject": "S", "instructions": "I"}
        etag = (await client.get(url, headers=headers)).headers["ETag"]

        first = await client.post(url, json=body, headers={**headers, "If-Match": etag})
        stale = await client.post(url, json={**body, "subject": "T"},
                                  headers={**headers, "If-Match": etag})  # fmt: skip
        fresh_etag = (await client.get(url, headers=headers)).headers["ETag"]
        training_id = first.json()["data"]["id"]
        stale_delete = await client.delete(f"{url}/{training_id}",
                                           headers={**headers, "If-Match": etag})  # fmt: skip
        delete = await client.delete(f"{url}/{training_id}",
                                     headers={**headers, "If-Match": fresh_etag})  # fmt: skip

        assert first.status_code == 200
        assert stale.status_code == 412
        assert fresh_etag != etag
        assert stale_delete.status_code == 412
        assert delete.status_code == 200

    async def test_a_training_change_changes_the_agents_etag(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        url = f"/api/v1/agents/{agent['id']}"
        before = (await client.get(url, headers=headers)).headers["ETag"]
        await client.post(f"{url}/trainings", json={"subject": "S", "instructions": "I"},
                          headers=headers)  # fmt: skip

        assert (await client.get(url, headers=headers)).headers["ETag"] != before


class TestFlowETag:
    async def test_flow_writes_check_the_flows_etag(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        url = f"/api/v1/agents/{agent['id']}/flow"
        config = {"initial_node_id": "a", "nodes": [{"id": "a", "type": "end"}]}
        body = {"conversation_mode": "flow_driven", "flow_config": config}
        etag = (await client.get(url, headers=headers)).headers["ETag"]

        first = await client.put(url, json=body, headers={**headers, "If-Match": etag})
        stale = await client.put(url, json={"conversation_mode": "prompt_driven"},
                                 headers={**headers, "If-Match": etag})  # fmt: skip
        current = await client.get(url, headers=headers)

        assert first.status_code == 200
        assert first.headers["ETag"] == current.headers["ETag"] != etag
        assert stale.status_code == 412
        assert stale.json()["code"] == "PRECONDITION_FAILED"
        assert current.json()["data"]["conversation_mode"] == "flow_driven"


class TestActionsETag:
    async def test_action_writes_check_the_collections_etag(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        url = f"/api/v1/agents/{agent['id']}/actions"
        body = webhook("https://example.com/book")
        etag = (await client.get(url, headers=headers)).headers["ETag"]

        first = await client.post(url, json=body, headers={**headers, "If-Match": etag})
        stale = await client.post(url, json={**body, "name": "Other"},
                                  headers={**headers, "If-Match": etag})  # fmt: skip
        action_id = first.json()["data"]["id"]
        stale_delete = await client.delete(f"{url}/{action_id}",
                                           headers={**headers, "If-Match": etag})  # fmt: skip
        fresh = (await client.get(url, headers=headers)).headers["ETag"]
        delete = await client.delete(f"{url}/{action_id}",
                                     headers={**headers, "If-Match": fresh})  # fmt: skip

        assert first.status_code == 200
        assert (stale.status_code, stale_delete.status_code) == (412, 412)
        assert delete.status_code == 200
        assert (await client.get(url, headers=headers)).json()["data"] == []
