"""Runtime reporting: the runtime token's scope, and open / events / turns / close, each stored
once however often a runtime retries it."""

from __future__ import annotations

from typing import Any

import httpx

from cuecard.webhooks.delivery import DeliveryWorker
from tests.conftest import TokenFactory, bearer
from tests.webhooks.receiver import Receiver

Agent = dict[str, Any]


def reports(agent: Agent) -> str:
    return f"/api/v1/agents/{agent['id']}/runtime/calls"


async def open_call(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    agent: Agent,
    event_id: str = "open-1",
    **fields: Any,
) -> httpx.Response:
    body = {
        "event_id": event_id,
        "sid": "CA123",
        "from": "+15551234567",
        "to": "+15557654321",
        "version": 1,
        "config_hash": "a" * 64,
        **fields,
    }
    return await client.post(reports(agent), headers=headers, json=body)


class TestRuntimeTokenScope:
    async def test_a_runtime_token_reads_configs_retrieves_and_reports_and_nothing_else(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        runtime_headers: dict[str, str],
    ) -> None:
        base = f"/api/v1/agents/{agent['id']}"
        await client.post(
            f"{base}/trainings",
            headers=headers,
            json={"subject": "Refunds", "instructions": "30 days."},
        )
        config = await client.get(f"{base}/runtime-config?version=draft", headers=runtime_headers)
        assert config.status_code == 200
        retrieved = await client.post(
            f"{base}/runtime/retrieve",
            headers=runtime_headers,
            json={"version": "draft", "messages": [{"role": "user", "content": "refund?"}]},
        )
        assert retrieved.status_code == 200, retrieved.text
        assert (await open_call(client, runtime_headers, agent)).status_code == 201

        for method, path in [
            ("GET", base),
            ("GET", "/api/v1/agents"),
            ("GET", "/api/v1/calls"),
            ("GET", f"{base}/trainings"),
            ("POST", f"{base}/publish"),
            ("GET", "/api/v1/audit-log"),
            ("GET", f"{base}/webhooks"),
        ]:
            response = await client.request(method, path, headers=runtime_headers)
            assert response.status_code == 403, path
            assert response.json()["code"] == "RUNTIME_TOKEN_FORBIDDEN"

    async def test_a_read_only_token_cannot_report(
        self, client: httpx.AsyncClient, agent: Agent, make_token: TokenFactory
    ) -> None:
        reader = bearer(await make_token(read_only=True))
        assert (await open_call(client, reader, agent)).status_code == 403

    async def test_another_environments_agent_is_not_found(
        self, client: httpx.AsyncClient, agent: Agent, make_runtime_token: Any
    ) -> None:
        other = await make_runtime_token("other")
        response = await open_call(client, other, agent)
        assert response.status_code == 404


class TestOpenCall:
    async def test_open_is_idempotent_by_the_runtimes_event_id(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        runtime_headers: dict[str, str],
    ) -> None:
        first = await open_call(client, runtime_headers, agent)
        again = await open_call(client, runtime_headers, agent)
        assert (first.status_code, again.status_code) == (201, 200)
        call = first.json()["data"]
        assert again.json()["data"]["id"] == call["id"]
        assert (call["sid"], call["from"], call["to"]) == ("CA123", "+15551234567", "+15557654321")
        assert call["from_formatted"] == "(555) 123-4567"
        assert (call["status"], call["duration"], call["direction"]) == ("initiated", 0, "inbound")
        listed = await client.get(f"/api/v1/agents/{agent['id']}/calls", headers=headers)
        assert listed.json()["pagination"]["total"] == 1

    async def test_invalid_reports_are_422(
        self, client: httpx.AsyncClient, agent: Agent, runtime_headers: dict[str, str]
    ) -> None:
        response = await client.post(
            reports(agent), headers=runtime_headers, json={"status": "completed", "version": 0}
        )
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert errors["event_id"] == ["The event id field is required."]
        assert errors["status"] == ["The selected status is invalid."]
        assert "version" in errors


class TestEventsTurnsClose:
    async def test_a_whole_call_reported_twice_is_stored_once_and_delivered_once(
        self,
        app: Any,
        settings: Any,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        runtime_headers: dict[str, str],
    ) -> None:
        receiver = Receiver().start()
        worker = DeliveryWorker(app.state.db, settings, settings.resolved_secret_key())
        try:
            hook = await client.post(
                f"/api/v1/agents/{agent['id']}/webhooks",
                headers=headers,
                json={
                    "name": "calls",
                    "webhook_url": receiver.url,
                    "events": [
                        "event_phone_call_started",
                        "event_phone_call_connected",
                        "event_action",
                        "event_phone_call_ended",
                    ],
                },
            )
            assert hook.status_code == 200
            training = (
                await client.post(
                    f"/api/v1/agents/{agent['id']}/trainings",
                    headers=headers,
                    json={"node_id": "refunds", "subject": "Refunds", "instructions": "30 days."},
                )
            ).json()["data"]
            call_id = ""
            for _ in range(2):  # the runtime retries everything once
                call_id = (
                    await open_call(client, runtime_headers, agent, context={"crm_id": 7})
                ).json()["data"]["id"]
                events = await client.post(
                    f"{reports(agent)}/{call_id}/events",
                    headers=runtime_headers,
                    json={
                        "events": [
                            {"event_id": "e1", "event": "event_phone_call_connected"},
                            {"event_id": "e2", "event": "event_action", "data": {"name": "lookup"}},
                        ]
                    },
                )
                turns = await client.post(
                    f"{reports(agent)}/{call_id}/turns",
                    headers=runtime_headers,
                    json={
                        "turns": [
                            {
                                "event_id": "t1",
                                "user_text": "Can I get a refund?",
                                "reply_text": "Within 30 days, yes.",
                                "node_id": "refunds",
                                "inline_training_ids": [training["id"]],
                                "retrieved_training_ids": [],
                                "latency_ms": 640,
                            },
                            {
                                "event_id": "t2",
                                "user_text": "Thanks",
                                "reply_text": "Bye!",
                                "retrieved_training_ids": [training["id"]],
                            },
                        ]
                    },
                )
                closed = await client.post(
                    f"{reports(agent)}/{call_id}/close",
                    headers=runtime_headers,
                    json={"event_id": "c1", "status": "completed", "duration": 95},
                )
                assert closed.status_code == 200, closed.text
            assert events.json()["data"] == {"accepted": 0, "duplicates": 2}
            assert turns.json()["data"] == {"accepted": 0, "duplicates": 2}
            assert (closed.json()["data"]["status"], closed.json()["data"]["duration"]) == (
                "completed",
                95,
            )

            detail = (
                await client.get(f"/api/v1/agents/{agent['id']}/calls/{call_id}", headers=headers)
            ).json()["data"]
            assert [e["event_id"] for e in detail["events"]] == ["e1", "e2"]
            assert [t["seq"] for t in detail["turns"]] == [1, 2]
            first, second = detail["turns"]
            assert first["trainings"] == [
                {
                    "id": training["id"],
                    "source": "inline",
                    "subject": "Refunds",
                    "node_id": "refunds",
                    "exists": True,
                }
            ]
            assert second["trainings"][0]["source"] == "retrieved"
            assert (detail["version"], detail["config_hash"]) == (1, "a" * 64)
            assert detail["context"] == {"crm_id": 7}
            assert detail["status"] == "completed" and detail["ended_at"]

            await worker.run_once()
            assert sorted(receiver.events()) == sorted(
                [
                    "event_phone_call_started",
                    "event_phone_call_connected",
                    "event_action",
                    "event_phone_call_ended",
                ]
            )
            ended = next(
                r.json for r in receiver.requests if r.json["event"] == "event_phone_call_ended"
            )
            assert ended["call"]["id"] == call_id and ended["call"]["duration"] == 95
            assert ended["context"] == {"crm_id": 7}
            action = next(r.json for r in receiver.requests if r.json["event"] == "event_action")
            assert action["data"] == {"name": "lookup"}
        finally:
            receiver.stop()
            await worker.close()

    async def test_the_runtime_may_not_send_started_or_ended_itself(
        self, client: httpx.AsyncClient, agent: Agent, runtime_headers: dict[str, str]
    ) -> None:
        call_id = (await open_call(client, runtime_headers, agent)).json()["data"]["id"]
        response = await client.post(
            f"{reports(agent)}/{call_id}/events",
            headers=runtime_headers,
            json={"events": [{"event_id": "x", "event": "event_phone_call_started"}]},
        )
        assert response.status_code == 422
        assert response.json()["errors"]["events.0.event"] == [
            "The selected events.0.event is invalid."
        ]

    async def test_unknown_call_is_404(
        self, client: httpx.AsyncClient, agent: Agent, runtime_headers: dict[str, str]
    ) -> None:
        response = await client.post(
            f"{reports(agent)}/nope/close",
            headers=runtime_headers,
            json={"event_id": "c", "duration": 1},
        )
        assert response.status_code == 404
        assert response.json()["message"] == "Call not found"
