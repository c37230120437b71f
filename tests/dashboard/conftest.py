"""Browser tests of the dashboard: Playwright drives Debian's chromium against a real
`cuecard serve` process on the test database (SQLite and PostgreSQL, the `backend` fixture).

The only fake is the LLM (tests/runtime/fake_llm.py, on 127.0.0.1): no real model runs here.
Without chromium these tests skip, saying so; with CUECARD_TEST_REQUIRE_BROWSER=1 (CI) they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from cuecard.auth import service as auth
from cuecard.core.config import Settings
from tests.conftest import TokenFactory, bearer
from tests.runtime.fake_llm import FakeLlm, running_fake_llm
from tests.test_server import serve

CHROMIUM = "/usr/bin/chromium"
REQUIRE = os.environ.get("CUECARD_TEST_REQUIRE_BROWSER") == "1"
# Set to a folder (docs/dashboard) to refresh the README's screenshots from the SQLite run.
SCREENSHOTS = os.environ.get("CUECARD_TEST_SCREENSHOTS")


def chromium_path() -> str | None:
    for candidate in (CHROMIUM, shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    path = chromium_path()
    if path is None:
        if REQUIRE:
            pytest.fail("CUECARD_TEST_REQUIRE_BROWSER=1 but chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install -y chromium): no browser tests")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    with running_fake_llm() as fake:
        yield fake


@pytest.fixture
def server(database_url: str, fake_llm: FakeLlm, app: Any) -> Iterator[str]:
    """`cuecard serve` on the test database, its test conversations sent to the fake LLM."""
    extra = {"CUECARD_LLM_BASE_URL": fake_llm.url, "CUECARD_LLM_MODEL": "fake-model"}
    with serve(database_url, extra_env=extra) as base:
        yield base


@pytest.fixture
def make_runtime_token(app: Any, settings: Settings) -> Callable[[], Awaitable[str]]:
    """A runtime token (what a voice runtime uses to report calls), as its secret."""

    async def make() -> str:
        async with app.state.db.transaction() as uow:
            await auth.ensure_environment(uow, "default")
            _, secret = await auth.create_token(
                uow, settings.resolved_secret_key(), settings.token_prefix, "default",
                label="runtime", runtime=True,
            )  # fmt: skip
        return secret

    return make


@dataclass
class Dashboard:
    """A signed-in browser tab, and the API of the same server for arranging data."""

    base: str
    token: str
    page: Any
    backend: str
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def api(self, method: str, path: str, json: Any = None, token: str | None = None) -> Any:
        response = httpx.request(
            method, f"{self.base}/api/v1{path}", json=json, headers=bearer(token or self.token),
            timeout=30,
        )  # fmt: skip
        assert response.status_code < 300, response.text
        return response.json()

    def create_agent(self, name: str = "SupportBot", **fields: Any) -> dict[str, Any]:
        body = {"name": name, "description": "You answer support calls for Acme.", **fields}
        agent: dict[str, Any] = self.api("POST", "/agents", body)["data"]
        return agent

    def add_training(self, agent: dict[str, Any], **fields: Any) -> dict[str, Any]:
        training: dict[str, Any] = self.api("POST", f"/agents/{agent['id']}/trainings", fields)[
            "data"
        ]
        return training

    async def open(self, *parts: str) -> None:
        await self.page.goto(f"{self.base}/#/{'/'.join(parts)}")

    async def screenshot(self, name: str) -> None:
        if SCREENSHOTS and self.backend == "sqlite":
            folder = Path(SCREENSHOTS)
            folder.mkdir(parents=True, exist_ok=True)
            await self.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


async def sign_in(browser: Any, base: str, token: str, backend: str) -> Dashboard:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    board = Dashboard(base, token, page, backend)
    page.on("console", lambda m: m.type == "error" and board.console_errors.append(m.text))
    page.on("pageerror", lambda e: board.console_errors.append(str(e)))

    async def on_dialog(dialog: Any) -> None:
        board.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await page.goto(base)
    await page.get_by_label("Token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Agents", exact=True).wait_for()
    return board


@pytest.fixture
async def dashboard(
    browser: Any, server: str, make_token: TokenFactory, backend: str
) -> AsyncIterator[Dashboard]:
    board = await sign_in(browser, server, await make_token(), backend)
    yield board
    await board.page.context.close()
