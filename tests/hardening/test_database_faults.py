"""Database faults answer 503 in bounded time and the server recovers without a restart.

PostgreSQL: a private cluster of this test's own (never the shared one), stopped and frozen
(SIGSTOP) under load. SQLite: a file on a tiny filesystem filled to the last byte, and a file
made read-only. Every fault must give 503 with its code and Retry-After, never a 500, never a
hang; every write acknowledged before, during or after the fault must still be there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from cuecard.app import create_app
from cuecard.core.config import Settings
from cuecard.core.migrate import upgrade
from tests.conftest import SECRET, bearer
from tests.hardening.servers import make_token_in, private_postgres, serve

TIMEOUTS = {
    "CUECARD_DATABASE_STATEMENT_TIMEOUT_SECONDS": "1",
    "CUECARD_DATABASE_CONNECT_TIMEOUT_SECONDS": "1",
}
# One statement timeout plus one connect timeout, plus room for a machine shared by others.
BOUND_SECONDS = 4.0


@dataclass
class Sample:
    phase: str
    status: int
    code: str | None
    seconds: float
    retry_after: str | None
    agent_id: str | None = None


@dataclass
class Load:
    """Readers and writers hammering the server while the test moves through phases."""

    base: str
    headers: dict[str, str]
    phase: str = "before"
    samples: list[Sample] = field(default_factory=list)
    stop: bool = False

    async def worker(self, client: httpx.AsyncClient, n: int) -> None:
        i = 0
        while not self.stop:
            i += 1
            phase = self.phase
            started = time.monotonic()
            try:
                if i % 2:
                    response = await client.post("/api/v1/agents", json={"name": f"w{n}-{i}"})
                else:
                    response = await client.get("/api/v1/agents", params={"per_page": 5})
            except httpx.TransportError as exc:  # the server must never drop us
                self.samples.append(Sample(phase, 0, type(exc).__name__, 0.0, None))
                continue
            body = response.json()
            if self.phase != phase:
                phase = f"{phase}->{self.phase}"  # spans a change: counted in neither phase
            self.samples.append(
                Sample(
                    phase, response.status_code, body.get("code"),
                    time.monotonic() - started, response.headers.get("retry-after"),
                    body["data"]["id"] if response.status_code == 201 else None,
                )
            )  # fmt: skip
            await asyncio.sleep(0.02)

    def of(self, phase: str) -> list[Sample]:
        return [s for s in self.samples if s.phase == phase]


@contextlib.asynccontextmanager
async def load(base: str, headers: dict[str, str], workers: int = 6) -> Any:
    state = Load(base, headers)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        tasks = [asyncio.create_task(state.worker(client, n)) for n in range(workers)]
        try:
            yield state
        finally:
            state.stop = True
            await asyncio.gather(*tasks)


async def wait_until_serving(client: httpx.AsyncClient, deadline_seconds: float = 15) -> float:
    started = time.monotonic()
    while time.monotonic() - started < deadline_seconds:
        if (await client.get("/readyz")).status_code == 200:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError("the server did not recover")


def assert_unavailable(samples: list[Sample], code: str = "DATABASE_UNAVAILABLE") -> None:
    assert samples, "no request ran during the fault"
    assert {(s.status, s.code) for s in samples} <= {(503, code), (200, None)}, {
        (s.status, s.code) for s in samples
    }
    assert any(s.status == 503 for s in samples)
    assert all(s.retry_after for s in samples if s.status == 503)
    assert max(s.seconds for s in samples) < BOUND_SECONDS


async def assert_all_acknowledged_writes_exist(
    client: httpx.AsyncClient, samples: list[Sample]
) -> None:
    created = {s.agent_id for s in samples if s.agent_id}
    listed: set[str] = set()
    page = 1
    while True:
        body = (await client.get("/api/v1/agents", params={"page": page, "per_page": 100})).json()
        listed |= {agent["id"] for agent in body["data"]}
        if page >= body["meta"]["last_page"]:
            break
        page += 1
    assert created and created <= listed


@pytest.fixture
def postgres() -> Iterator[Any]:
    with private_postgres() as server:
        upgrade(server.url)
        yield server


class TestPostgresFaults:
    async def test_stopped_postgres_is_503_quickly_and_serving_resumes_on_restart(
        self, postgres: Any, tmp_path: Path
    ) -> None:
        token = await make_token_in(postgres.url)
        with serve(postgres.url, tmp_path, env=TIMEOUTS) as server:
            async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as client:
                async with load(server.url, bearer(token)) as running:
                    await asyncio.sleep(1.0)
                    running.phase = "stopping"
                    await asyncio.to_thread(postgres.stop)
                    running.phase = "down"
                    await asyncio.sleep(2.0)
                    ready = await client.get("/readyz")
                    live = await client.get("/livez")
                    health = await client.get("/health")
                    running.phase = "restarting"
                    await asyncio.to_thread(postgres.start)
                    recovery = await wait_until_serving(client)
                    running.phase = "after"
                    await asyncio.sleep(1.0)
                await assert_all_acknowledged_writes_exist(client, running.samples)
            log = server.output()

        assert "unhandled error" not in log, log[log.find("unhandled error") :][:20000]
        assert {s.status for s in running.samples} <= {200, 201, 503}
        assert_unavailable(running.of("down"))
        assert (ready.status_code, ready.json()["code"]) == (503, "DATABASE_UNAVAILABLE")
        assert ready.headers["Retry-After"] == "5"
        assert live.status_code == 200
        assert (health.status_code, health.json()) == (503, {"status": "unavailable"})
        assert recovery < 10
        assert {s.status for s in running.of("after")} <= {200, 201}
        assert running.of("after")

    async def test_frozen_postgres_is_503_within_the_timeout_not_a_hang(
        self, postgres: Any, tmp_path: Path
    ) -> None:
        token = await make_token_in(postgres.url)
        with serve(postgres.url, tmp_path, env=TIMEOUTS) as server:
            async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as client:
                async with load(server.url, bearer(token)) as running:
                    await asyncio.sleep(1.0)
                    postgres.freeze()
                    await asyncio.sleep(0.3)  # let answers already on their way arrive
                    running.phase = "frozen"
                    try:
                        await asyncio.sleep(4.0)
                        started = time.monotonic()
                        ready = await client.get("/readyz")
                        ready_seconds = time.monotonic() - started
                        live = await client.get("/livez")
                    finally:
                        running.phase = "thawing"
                        postgres.thaw()
                    recovery = await wait_until_serving(client)
                    running.phase = "after"
                    await asyncio.sleep(1.0)
                await assert_all_acknowledged_writes_exist(client, running.samples)
            log = server.output()

        assert "unhandled error" not in log, log[log.find("unhandled error") :][:20000]
        assert {s.status for s in running.samples} <= {200, 201, 503}
        assert_unavailable(running.of("frozen"))
        assert (ready.status_code, ready.json()["code"]) == (503, "DATABASE_UNAVAILABLE")
        assert ready_seconds < BOUND_SECONDS
        assert live.status_code == 200
        assert recovery < 10
        assert {s.status for s in running.of("after")} <= {200, 201}
        assert running.of("after")


# --- SQLite ------------------------------------------------------------------------------------


def _root_only(what: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"{what} needs root (a mount); run as root, as CI does")


@contextlib.contextmanager
def tiny_filesystem(path: Path, size: str = "4m") -> Iterator[Path]:
    _root_only("a full filesystem")
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the filesystem has no byte left (unbuffered: every write counts)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


@contextlib.asynccontextmanager
async def app_client(database_url: str, token_env: str = "default") -> Any:
    settings = Settings(database_url=database_url, env="test", secret_key=SECRET,
                        database_statement_timeout_seconds=1.0)  # fmt: skip
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def create(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> httpx.Response:
    return await client.post("/api/v1/agents", json={"name": name}, headers=headers)


class TestSqliteFullDisk:
    async def test_full_disk_is_503_storage_full_then_writes_resume_when_space_is_freed(
        self, sqlite_template: Path, tmp_path: Path
    ) -> None:
        with tiny_filesystem(tmp_path / "small") as folder:
            shutil.copyfile(sqlite_template, folder / "cuecard.db")
            url = f"sqlite:///{folder / 'cuecard.db'}"
            headers = bearer(await make_token_in(url))
            async with app_client(url) as client:
                kept = await create(client, headers, "Before")
                filler = fill(folder)
                # A few writes: the WAL may still have room for the first one or two.
                attempts = [await create(client, headers, f"Full{i}") for i in range(30)]
                full = [r for r in attempts if r.status_code != 201]
                read = await client.get(f"/api/v1/agents/{kept.json()['data']['id']}",
                                        headers=headers)  # fmt: skip
                ready = await client.get("/readyz")
                filler.unlink()
                after = await create(client, headers, "After")
                ready_after = await client.get("/readyz")
                listed = (await client.get("/api/v1/agents", params={"per_page": 100},
                                           headers=headers)).json()["data"]  # fmt: skip

        assert kept.status_code == 201
        assert full, "the filesystem never filled up"
        assert {(r.status_code, r.json()["code"]) for r in full} == {(503, "STORAGE_FULL")}
        assert all(r.headers["Retry-After"] == "30" for r in full)
        assert read.status_code == 200
        assert (ready.status_code, ready.json()["code"]) == (503, "STORAGE_FULL")
        assert after.status_code == 201
        assert ready_after.status_code == 200
        acknowledged = {kept.json()["data"]["id"], after.json()["data"]["id"]} | {
            r.json()["data"]["id"] for r in attempts if r.status_code == 201
        }
        assert acknowledged <= {agent["id"] for agent in listed}


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Callable[[], None]]:
    """Make the file read-only to this process; yields a function that makes it writable again.

    As root, permissions do not stop writes, so the file is bind-mounted read-only over itself."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        yield lambda: path.chmod(0o644)
        path.chmod(0o644)
        return
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
    try:
        yield lambda: subprocess.run(["mount", "-o", "remount,bind,rw", str(path)], check=True)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


class TestSqliteReadOnly:
    async def test_read_only_file_serves_reads_and_answers_writes_with_503_read_only(
        self, sqlite_template: Path, tmp_path: Path
    ) -> None:
        path = tmp_path / "cuecard.db"
        shutil.copyfile(sqlite_template, path)
        url = f"sqlite:///{path}"
        headers = bearer(await make_token_in(url))
        async with app_client(url) as client:  # creates one agent while writable
            kept = await create(client, headers, "Kept")
        with read_only(path) as make_writable:
            async with app_client(url) as client:
                read = await client.get(f"/api/v1/agents/{kept.json()['data']['id']}",
                                        headers=headers)  # fmt: skip
                write = await create(client, headers, "Refused")
                ready = await client.get("/readyz")
                make_writable()
                after = await create(client, headers, "After")
                ready_after = await client.get("/readyz")

        assert read.status_code == 200
        assert (write.status_code, write.json()["code"]) == (503, "DATABASE_READ_ONLY")
        assert write.headers["Retry-After"] == "30"
        assert (ready.status_code, ready.json()["code"]) == (503, "DATABASE_READ_ONLY")
        assert after.status_code == 201, after.text
        assert ready_after.status_code == 200


async def _admin(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


class TestPostgresReadOnly:
    async def test_a_read_only_postgres_answers_writes_with_503_and_recovers(
        self, postgres: Any
    ) -> None:
        headers = bearer(await make_token_in(postgres.url))
        async with app_client(postgres.url) as client:
            kept = await create(client, headers, "Kept")
            await _admin(postgres.url, "ALTER SYSTEM SET default_transaction_read_only = on",
                         "SELECT pg_reload_conf()")  # fmt: skip
            await asyncio.sleep(0.5)  # the backends pick up the reload
            refused = await create(client, headers, "Refused")
            read = await client.get(f"/api/v1/agents/{kept.json()['data']['id']}",
                                    headers=headers)  # fmt: skip
            ready = await client.get("/readyz")
            await _admin(postgres.url, "SET default_transaction_read_only = off",
                         "ALTER SYSTEM RESET default_transaction_read_only",
                         "SELECT pg_reload_conf()")  # fmt: skip
            await asyncio.sleep(0.5)
            after = await create(client, headers, "After")

        assert (refused.status_code, refused.json()["code"]) == (503, "DATABASE_READ_ONLY")
        assert read.status_code == 200
        assert (ready.status_code, ready.json()["code"]) == (503, "DATABASE_READ_ONLY")
        assert after.status_code == 201
