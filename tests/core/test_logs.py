"""Log lines as an operator reads them: JSON per line off a terminal, one request id throughout."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cuecard.app import create_app
from cuecard.core.config import Settings
from cuecard.core.logs import JsonFormatter, TextFormatter, formatter_for
from tests.conftest import SECRET, TokenFactory, bearer
from tests.core.serving import cuecard_serve, json_lines
from tests.runtime.fake_llm import FakeLlm, running_fake_llm


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger's output through the JSON formatter, as `cuecard serve` writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    with running_fake_llm() as fake:
        yield fake


@pytest.fixture
def settings(database_url: str, fake_llm: FakeLlm) -> Settings:
    return Settings(
        database_url=database_url,
        env="test",
        secret_key=SECRET,
        llm_base_url=fake_llm.url,
        llm_model="fake-model",
    )


class TestRequestLogLines:
    async def test_every_line_of_a_request_carries_its_id_and_caller(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        token: str,
        agent: dict[str, Any],
        captured: io.StringIO,
    ) -> None:
        captured.truncate(0)
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/test-conversations",
            json={"messages": [{"role": "user", "content": "Hi"}]},
            headers=headers,
        )

        assert response.status_code == 200, response.text
        request_id = response.headers["x-request-id"]
        lines = [json.loads(line) for line in captured.getvalue().splitlines()]
        mine = [line for line in lines if line.get("request_id") == request_id]
        # The LLM call's lines (ours and httpx's) come from inside the request, and say so.
        assert {"cuecard.llm", "httpx", "cuecard.access"} <= {line["logger"] for line in mine}
        access = next(line for line in mine if line["logger"] == "cuecard.access")
        assert access["route"] == "/api/v1/agents/{agent_id}/test-conversations"
        assert access["method"] == "POST" and access["status"] == 200
        assert access["duration_ms"] > 0 and access["level"] == "info"
        assert access["timestamp"].endswith("Z")
        assert all(line["environment_id"] == access["environment_id"] for line in mine)
        assert all(line["token_id"] == access["token_id"] for line in mine)
        assert token not in captured.getvalue()

    async def test_a_client_request_id_is_kept(
        self, client: httpx.AsyncClient, headers: dict[str, str], captured: io.StringIO
    ) -> None:
        response = await client.get(
            "/api/v1/agents", headers={**headers, "X-Request-ID": "trace-me-42"}
        )

        assert response.headers["x-request-id"] == "trace-me-42"
        [access] = [
            json.loads(line)
            for line in captured.getvalue().splitlines()
            if '"cuecard.access"' in line
        ]
        assert access["request_id"] == "trace-me-42"

    async def test_refused_requests_are_logged_without_a_caller(
        self, client: httpx.AsyncClient, captured: io.StringIO
    ) -> None:
        response = await client.get("/api/v1/agents", headers=bearer("talq_not-a-real-token"))

        [access] = [
            json.loads(line)
            for line in captured.getvalue().splitlines()
            if '"cuecard.access"' in line
        ]
        assert (response.status_code, access["status"]) == (401, 401)
        assert "token_id" not in access and "talq_not-a-real-token" not in captured.getvalue()
        assert access["request_id"] == response.headers["x-request-id"]

    async def test_the_access_log_can_be_turned_off(
        self, settings: Settings, captured: io.StringIO
    ) -> None:
        quiet = create_app(Settings(**{**settings.__dict__, "access_log": False}))
        async with quiet.router.lifespan_context(quiet):
            transport = httpx.ASGITransport(app=quiet)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                assert (await c.get("/health")).status_code == 200

        assert "cuecard.access" not in captured.getvalue()


class TestFormats:
    def test_auto_is_text_on_a_terminal_and_json_elsewhere(self) -> None:
        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        assert isinstance(formatter_for("auto", Terminal()), TextFormatter)
        assert isinstance(formatter_for("auto", io.StringIO()), JsonFormatter)
        assert isinstance(formatter_for("json", Terminal()), JsonFormatter)
        assert isinstance(formatter_for("text", io.StringIO()), TextFormatter)


class TestServedLogs:
    async def test_serve_logs_json_lines_by_default_off_a_terminal(
        self, database_url: str, make_token: TokenFactory, app: Any, tmp_path: Path
    ) -> None:
        headers = bearer(await make_token())
        log_file = tmp_path / "serve.log"
        with cuecard_serve(database_url, log_file) as base:
            created = httpx.post(f"{base}/api/v1/agents", json={"name": "A"}, headers=headers)
            agent_id = created.json()["data"]["id"]
            fetched = httpx.get(f"{base}/api/v1/agents/{agent_id}", headers=headers)

        lines = json_lines(log_file)  # every line, uvicorn's too, is JSON
        access = [line for line in lines if line["logger"] == "cuecard.access"]
        by_id = {line["request_id"]: line for line in access}
        line = by_id[fetched.headers["x-request-id"]]
        assert line["route"] == "/api/v1/agents/{agent_id}"
        assert agent_id not in json.dumps(line)  # the template, not the raw path
        assert by_id[created.headers["x-request-id"]]["status"] == 201
        assert any(line["logger"] == "uvicorn.error" for line in lines)

    async def test_text_format_when_asked(self, database_url: str, tmp_path: Path) -> None:
        log_file = tmp_path / "serve.log"
        with cuecard_serve(database_url, log_file, env={"CUECARD_LOG_FORMAT": "text"}) as base:
            request_id = httpx.get(f"{base}/health").headers["x-request-id"]

        text = log_file.read_text()
        assert "cuecard.access: GET /health 200" in text
        assert f"request_id={request_id}" in text
        with pytest.raises(json.JSONDecodeError):
            json.loads(text.splitlines()[0])


class TestUnhandledErrors:
    async def test_the_error_line_carries_the_request_id_of_the_500(
        self, settings: Settings, captured: io.StringIO
    ) -> None:
        application = create_app(settings)

        async def explode() -> None:
            raise RuntimeError("boom")

        # A route of this test only: the app has none that fails on purpose.
        application.add_api_route("/explode", explode, methods=["GET"])
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                response = await c.get("/explode")

        assert response.status_code == 500
        assert response.json()["code"] == "SERVER_ERROR"
        request_id = response.headers["x-request-id"]
        lines = [json.loads(line) for line in captured.getvalue().splitlines()]
        error = next(line for line in lines if line["logger"] == "cuecard.errors")
        access = next(line for line in lines if line["logger"] == "cuecard.access")
        assert error["request_id"] == access["request_id"] == request_id
        assert error["level"] == "error" and "RuntimeError: boom" in error["exception"]
        assert (access["status"], access["route"]) == (500, "/explode")
