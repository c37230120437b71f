"""Through the real HTTP stack: `cuecard serve` processes on the test database."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.conftest import SECRET, TokenFactory, bearer, free_port, wait_until_serving


@contextmanager
def serve(
    database_url: str, workers: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "CUECARD_DATABASE_URL": database_url, "CUECARD_SECRET_KEY": SECRET,
           **(extra_env or {})}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "cuecard.cli", "serve", "--port", str(port),
         "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(
            process,
            f"{base}/health",
            lambda: repr(process.stderr.read()),  # type: ignore[union-attr]
        )
        _groups[base] = process.pid
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        process.stderr.close()  # type: ignore[union-attr]


def kill_hard(base: str) -> None:
    """SIGKILL the server's whole process group: no chance to flush or clean up anything."""
    os.killpg(_groups[base], signal.SIGKILL)


_groups: dict[str, int] = {}


class TestConcurrentUpserts:
    async def test_parallel_upserts_of_one_node_id_make_one_training(
        self, database_url: str, make_token: TokenFactory, app: Any
    ) -> None:
        headers = bearer(await make_token())
        with serve(database_url, workers=2) as base:
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
                agent = (await client.post("/api/v1/agents", json={"name": "Race"})).json()
                url = f"/api/v1/agents/{agent['data']['id']}/trainings"

                responses = await asyncio.gather(*[
                    client.post(url, json={"node_id": "same", "subject": f"s{i}",
                                           "instructions": f"i{i}"})
                    for i in range(40)
                ])  # fmt: skip

                trainings = (await client.get(url)).json()["data"]

        assert [r.status_code for r in responses] == [200] * 40
        messages = [r.json()["message"] for r in responses]
        assert messages.count("Agent training created successfully") == 1
        assert len(trainings) == 1
        assert {r.json()["data"]["id"] for r in responses} == {trainings[0]["id"]}


class TestDurability:
    async def test_acknowledged_write_survives_kill_9_and_restart(
        self, database_url: str, make_token: TokenFactory, app: Any
    ) -> None:
        headers = bearer(await make_token())
        with serve(database_url) as base:
            agent = httpx.post(f"{base}/api/v1/agents", json={"name": "Durable"}, headers=headers)
            agent_id = agent.json()["data"]["id"]
            written = httpx.post(
                f"{base}/api/v1/agents/{agent_id}/trainings",
                json={"node_id": "n", "subject": "Kept", "instructions": "Survives."},
                headers=headers,
            )
            assert written.status_code == 200
            kill_hard(base)

        with serve(database_url) as base:
            got = httpx.get(f"{base}/api/v1/agents/{agent_id}", headers=headers)

        assert got.status_code == 200
        assert [t["subject"] for t in got.json()["data"]["trainings"]] == ["Kept"]


class TestRevocationAcrossServers:
    async def test_revoked_token_stops_on_every_server_within_two_seconds(
        self, database_url: str, make_token: TokenFactory, app: Any
    ) -> None:
        from cuecard.auth import service as auth

        token = await make_token()
        with serve(database_url) as one, serve(database_url) as two:
            for base in (one, two):  # warm both servers' token caches
                ok = httpx.get(f"{base}/api/v1/agents", headers=bearer(token))
                assert ok.status_code == 200
            async with app.state.db.transaction() as uow:
                [info] = await auth.list_tokens(uow)
                await auth.revoke_token(uow, info.id)
            revoked_at = time.monotonic()

            pending = {one, two}
            while pending and time.monotonic() - revoked_at < 2.0:
                for base in list(pending):
                    if httpx.get(f"{base}/api/v1/agents", headers=bearer(token)).status_code == 401:
                        pending.discard(base)
                await asyncio.sleep(0.05)

        assert pending == set(), f"still accepted after 2 s by {pending}"
