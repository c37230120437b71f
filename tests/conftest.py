"""Test fixtures: every test runs against the real app on SQLite and, when
CUECARD_TEST_POSTGRES_URL is set, again on PostgreSQL.

The schema comes from the real migrations, run once per session: SQLite tests each get a copy of
a migrated template file; PostgreSQL tests share one migrated database that is truncated before
each test. Tokens are real (created by the same service functions the CLI uses); auth is never
overridden.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from cuecard.app import create_app
from cuecard.auth import service as auth
from cuecard.core.config import Settings
from cuecard.core.migrate import upgrade
from cuecard.models import Base

POSTGRES_URL = os.environ.get("CUECARD_TEST_POSTGRES_URL")
SECRET = "test-secret-key-0123456789"
TABLES = [table.name for table in reversed(Base.metadata.sorted_tables)]

if os.environ.get("CI") and not POSTGRES_URL:
    raise pytest.UsageError(
        "CI must set CUECARD_TEST_POSTGRES_URL: the PostgreSQL half may not skip"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "cuecard.db"
    upgrade(f"sqlite:///{path}")
    return path


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _run_async(coro: Awaitable[None]) -> None:
    """Run a coroutine from sync fixture code, even while an event loop is running."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def main() -> None:
        await coro

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of its own for this test session (so parallel sessions never collide),
    migrated once, dropped at the end."""
    if not POSTGRES_URL:
        pytest.skip("CUECARD_TEST_POSTGRES_URL is not set")
    base, _, _ = POSTGRES_URL.rpartition("/")
    name = f"cuecard_test_{os.getpid()}"
    _run_async(_admin(POSTGRES_URL, f"DROP DATABASE IF EXISTS {name}"))
    _run_async(_admin(POSTGRES_URL, f"CREATE DATABASE {name}"))
    url = f"{base}/{name}"
    upgrade(url)
    yield url
    _run_async(_admin(POSTGRES_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    """A migrated, empty database for this test."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "cuecard.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_url")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    finally:
        await conn.close()
    yield url


@pytest.fixture
def settings(database_url: str) -> Settings:
    # No webhook worker in the test app: tests that deliver run one themselves (tests/webhooks).
    return Settings(database_url=database_url, env="test", secret_key=SECRET, webhook_worker=False)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[object]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


TokenFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def make_token(app: object, settings: Settings) -> TokenFactory:
    """Create an environment (if needed) and a real token in it; returns the secret."""

    async def make(environment: str = "default", *, read_only: bool = False) -> str:
        db = app.state.db  # type: ignore[attr-defined]
        async with db.transaction() as uow:
            await auth.ensure_environment(uow, environment)
            _, secret = await auth.create_token(
                uow,
                settings.resolved_secret_key(),
                settings.token_prefix,
                environment,
                read_only=read_only,
            )
        return secret

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def token(make_token: TokenFactory) -> str:
    return await make_token()


@pytest.fixture
def headers(token: str) -> dict[str, str]:
    return bearer(token)


@pytest.fixture
def create_agent(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> Callable[..., Awaitable[dict[str, object]]]:
    async def create(**fields: object) -> dict[str, object]:
        response = await client.post(
            "/api/v1/agents", json={"name": "SupportBot", **fields}, headers=headers
        )
        assert response.status_code == 201, response.text
        data: dict[str, object] = response.json()["data"]
        return data

    return create


@pytest.fixture
async def agent(create_agent: Callable[..., Awaitable[dict[str, object]]]) -> dict[str, object]:
    return await create_agent()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(
    process: subprocess.Popen[bytes], url: str, output: Callable[[], str], seconds: float = 60
) -> None:
    """Poll `url` until it answers 200. A server that exits or is not up within `seconds` (a
    loaded 2-core machine can be slow to start one) is stopped, and RuntimeError carries what
    `output()` then reads of its log (a pipe ends only once the process does)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)
            raise RuntimeError(f"server did not start: {output()}")
        time.sleep(0.05)


@pytest.fixture
def repo_root() -> Iterator[Path]:
    yield Path(__file__).resolve().parent.parent
