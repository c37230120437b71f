"""The client sends an Idempotency-Key on every write, the same one on each retry of it."""

from __future__ import annotations

import httpx

from tests.client.test_errors_and_retries import (
    AGENT_ID,
    TRAINING,
    async_client_for,
    client_for,
    ok_training,
    sequence,
)


class TestIdempotencyKeys:
    def test_a_retried_write_repeats_its_key(self) -> None:
        handler, seen = sequence(httpx.Response(502), httpx.Response(200, json={"success": True}))
        with client_for(handler) as client:
            client.trainings.delete(AGENT_ID, TRAINING["id"])

        keys = [r.headers.get("Idempotency-Key") for r in seen]
        assert len(keys) == 2 and keys[0] and keys[0] == keys[1]

    def test_each_write_has_a_key_of_its_own_and_reads_have_none(self) -> None:
        handler, seen = sequence(ok_training())
        with client_for(handler) as client:
            for _ in range(2):
                client.trainings.upsert(AGENT_ID, node_id="n", subject="S", instructions="I")

        keys = [r.headers["Idempotency-Key"] for r in seen]
        assert len(set(keys)) == 2

    async def test_a_write_answered_in_progress_is_retried_after_retry_after(self) -> None:
        busy = httpx.Response(
            409, json={"code": "IDEMPOTENCY_KEY_IN_PROGRESS", "message": "running"},
            headers={"Retry-After": "0"},
        )  # fmt: skip
        handler, seen = sequence(busy, ok_training())
        async with async_client_for(handler) as client:
            await client.trainings.upsert(AGENT_ID, node_id="n", subject="S", instructions="I")

        assert len(seen) == 2
        assert seen[0].headers["Idempotency-Key"] == seen[1].headers["Idempotency-Key"]
        assert "Idempotency-Key" not in (await _a_read_request()).headers


async def _a_read_request() -> httpx.Request:
    handler, seen = sequence(httpx.Response(200, json={"success": True, "data": []}))
    async with async_client_for(handler) as client:
        await client.trainings.list(AGENT_ID)
    return seen[0]
