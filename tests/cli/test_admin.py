"""The admin commands, run as a user would (through the typer app) on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cuecard.cli import app as cli_app
from tests.conftest import SECRET, bearer


@pytest.fixture
def cuecard(database_url: str) -> Any:
    runner = CliRunner()
    env = {"CUECARD_DATABASE_URL": database_url, "CUECARD_SECRET_KEY": SECRET}

    def run(*args: str, extra_env: dict[str, str] | None = None) -> Any:
        # The CLI runs its own event loop, so give it a thread when a test's loop is running.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(
                runner.invoke, cli_app, list(args), env={**env, **(extra_env or {})}
            ).result()

    return run


class TestInit:
    def test_init_is_idempotent_and_creates_default(self, cuecard: Any) -> None:
        first = cuecard("init")
        second = cuecard("init")

        assert first.exit_code == 0, first.output
        assert second.exit_code == 0, second.output
        listed = cuecard("environments", "list")
        assert [line.split("\t")[1] for line in listed.stdout.splitlines()] == ["default"]

    def test_with_token_prints_a_first_token_only_once(self, cuecard: Any) -> None:
        first = cuecard("init", "--with-token")
        second = cuecard("init", "--with-token")

        assert "talq_" in first.stdout and "curl" in first.stdout
        assert "talq_" not in second.stdout

    def test_init_on_an_unreachable_database_fails_in_one_line(self, cuecard: Any) -> None:
        result = cuecard(
            "init", extra_env={"CUECARD_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
        )

        assert result.exit_code != 0
        assert result.stderr.startswith("error: ")
        assert len(result.stderr.strip().splitlines()) == 1

    def test_bad_database_url_fails_in_one_line(self, cuecard: Any) -> None:
        result = cuecard("environments", "list", extra_env={"CUECARD_DATABASE_URL": "mysql://x"})

        assert result.exit_code == 2  # bad input: nothing was tried
        assert "CUECARD_DATABASE_URL" in result.stderr


class TestEnvironments:
    def test_create_and_list(self, cuecard: Any) -> None:
        created = cuecard("environments", "create", "staging")

        assert created.exit_code == 0
        names = [
            line.split("\t")[1] for line in cuecard("environments", "list").stdout.splitlines()
        ]
        assert "staging" in names

    def test_duplicate_environment_fails(self, cuecard: Any) -> None:
        cuecard("environments", "create", "staging")

        again = cuecard("environments", "create", "staging")

        assert again.exit_code == 1
        assert again.stderr.strip() == "error: Environment 'staging' already exists."


class TestTokens:
    async def test_created_token_is_alone_on_stdout_and_works(
        self, cuecard: Any, client: httpx.AsyncClient
    ) -> None:
        cuecard("init")
        result = cuecard("tokens", "create", "--environment", "default", "--label", "ci")

        assert result.exit_code == 0
        [token] = result.stdout.splitlines()
        assert token.startswith("talq_")
        assert (await client.get("/api/v1/agents", headers=bearer(token))).status_code == 200

    async def test_read_only_token_cannot_write(
        self, cuecard: Any, client: httpx.AsyncClient
    ) -> None:
        cuecard("init")
        token = cuecard("tokens", "create", "--environment", "default", "--read-only").stdout
        response = await client.post(
            "/api/v1/agents", json={"name": "x"}, headers=bearer(token.strip())
        )

        assert response.status_code == 403

    def test_token_for_unknown_environment_fails(self, cuecard: Any) -> None:
        result = cuecard("tokens", "create", "--environment", "nope")

        assert result.exit_code == 1
        assert result.stdout == ""
        assert "Environment 'nope' not found." in result.stderr

    def test_list_never_prints_secrets(self, cuecard: Any) -> None:
        cuecard("init")
        token = cuecard("tokens", "create", "--environment", "default").stdout.strip()

        listed = cuecard("tokens", "list", "--environment", "default")

        assert listed.exit_code == 0
        assert token not in listed.stdout
        assert token[:9] in listed.stdout  # the hint lets a human tell tokens apart

    async def test_revoke_stops_the_token(
        self, cuecard: Any, client: httpx.AsyncClient, app: Any
    ) -> None:
        cuecard("init")
        token = cuecard("tokens", "create", "--environment", "default").stdout.strip()
        token_id = cuecard("tokens", "list").stdout.splitlines()[1].split("\t")[0]

        revoked = cuecard("tokens", "revoke", token_id)
        again = cuecard("tokens", "revoke", token_id)
        unknown = cuecard("tokens", "revoke", "no-such-token")

        assert revoked.exit_code == 0
        assert again.exit_code == 1 and "already revoked" in again.stderr
        assert unknown.exit_code == 1 and "not found" in unknown.stderr
        response = await client.get("/api/v1/agents", headers=bearer(token))
        assert response.status_code == 401


class TestRuntimeTokensAndDeliveries:
    async def test_tokens_create_runtime_makes_a_token_limited_to_runtime_endpoints(
        self, cuecard: Any, client: httpx.AsyncClient
    ) -> None:
        cuecard("init")
        created = cuecard("tokens", "create", "--environment", "default", "--runtime")
        assert created.exit_code == 0, created.output
        runtime = bearer(created.stdout.strip())
        refused = await client.get("/api/v1/agents", headers=runtime)
        assert refused.status_code == 403
        assert refused.json()["code"] == "RUNTIME_TOKEN_FORBIDDEN"
        listed = cuecard("tokens", "list").stdout.splitlines()
        assert listed[1].split("\t")[-1] == "runtime"
        both = cuecard("tokens", "create", "--environment", "default", "--runtime", "--read-only")
        assert both.exit_code == 2  # bad usage: nothing was done

    async def test_deliveries_run_once_sends_what_is_due(
        self,
        cuecard: Any,
        client: httpx.AsyncClient,
        app: Any,
        headers: dict[str, str],
        agent: dict[str, Any],
        settings: Any,
    ) -> None:
        from dataclasses import replace

        from cuecard.agents import repository as agents_repository
        from cuecard.webhooks import service as webhooks
        from cuecard.webhooks.schemas import WebhookCreate
        from tests.webhooks.receiver import Receiver

        receiver = Receiver().start()
        try:
            async with app.state.db.transaction() as uow:
                row = await uow.one("SELECT id, environment_id, label FROM api_tokens")
                from cuecard.auth.service import Caller

                caller = Caller(row["id"], row["environment_id"], False)
                agent_row = await agents_repository.scoped(uow, caller.environment_id, agent["id"])
                assert agent_row is not None
                await webhooks.create_webhook(
                    uow,
                    caller,
                    replace(settings, allow_private_targets=True),
                    settings.resolved_secret_key(),
                    agent_row,
                    WebhookCreate(
                        name="n", webhook_url=receiver.url, events=["event_training_updated"]
                    ),
                )
            await client.post(
                f"/api/v1/agents/{agent['id']}/trainings",
                headers=headers,
                json={"subject": "S", "instructions": "I"},
            )
            ran = cuecard(
                "deliveries", "run", "--once", extra_env={"CUECARD_ALLOW_PRIVATE_TARGETS": "true"}
            )
            assert ran.exit_code == 0, ran.output
            assert "Sent 1 deliveries." in ran.output
            assert receiver.events() == ["event_training_updated"]
        finally:
            receiver.stop()
