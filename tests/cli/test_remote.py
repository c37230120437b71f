"""The client commands as a user runs them, against a real server on both databases.

Idempotence is asserted on the server side: the requests the server received, and the
trainings' updated_at and the agent's draft_revision in its database.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cuecard.cli import app as cli_app
from cuecard.client import Client
from cuecard.core.config import Settings
from tests.cli.conftest import Cuecard, runner_for
from tests.client.live import LiveServer, live_server
from tests.conftest import TokenFactory

FILES = {
    "billing/refunds.md": "# Refunds\n\nRefund within 30 days.\n",
    "billing/invoices.md": "---\nposition: 2\n---\n# Invoices\n\nSend a copy by email.\n",
    "faq.md": "---\nsubject: Opening hours\npinned: true\n---\nWe open at 9.\n",
}


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write(tmp_path / "trainings", FILES)


@pytest.fixture
def api(server: LiveServer, token: str) -> Iterator[Client]:
    with Client(server.url, token) as client:
        yield client


@pytest.fixture
def agent_id(api: Client) -> str:
    return api.agents.create("SupportBot").id


async def server_state(app: Any, agent_id: str) -> tuple[int, str, dict[str | None, Any]]:
    """What the server's database says: draft revision, status, each training's updated_at."""
    async with app.state.db.transaction() as uow:
        agent = await uow.one(
            "SELECT draft_revision, current_status FROM agents WHERE id = :id", {"id": agent_id}
        )
        rows = await uow.all(
            "SELECT node_id, updated_at FROM trainings WHERE agent_id = :id", {"id": agent_id}
        )
    assert agent is not None
    return (
        agent["draft_revision"],
        agent["current_status"],
        {r["node_id"]: r["updated_at"] for r in rows},
    )


def sync(remote: Cuecard, folder: Path, agent_id: str, *flags: str) -> Any:
    return remote("trainings", "sync", str(folder), "--agent", agent_id, *flags)


class TestSync:
    async def test_first_sync_creates_a_training_per_file(
        self, remote: Cuecard, api: Client, agent_id: str, folder: Path
    ) -> None:
        result = sync(remote, folder, agent_id)

        assert result.exit_code == 0, result.output
        assert "3 to create, 0 to update, 0 to delete, 0 unchanged" in result.stdout
        assert "  + billing/refunds.md" in result.stdout
        assert "Done: 3 created, 0 updated, 0 deleted, 0 unchanged." in result.stdout
        found = {t.node_id: t for t in api.trainings.list(agent_id)}
        assert sorted(found) == ["billing/invoices", "billing/refunds", "faq"]
        assert (found["faq"].subject, found["faq"].instructions) == (
            "Opening hours",
            "We open at 9.",
        )
        assert (found["faq"].pinned, found["billing/invoices"].position) == (True, 2)

    async def test_a_second_run_writes_nothing(
        self, app: Any, server: LiveServer, remote: Cuecard, agent_id: str, folder: Path
    ) -> None:
        assert sync(remote, folder, agent_id, "--publish").exit_code == 0
        before = await server_state(app, agent_id)
        received = len(server.recorder.requests)

        second = sync(remote, folder, agent_id, "--publish")

        assert second.exit_code == 0, second.output
        assert "0 to create, 0 to update, 0 to delete, 3 unchanged" in second.stdout
        assert "Everything is up to date; nothing was written." in second.stdout
        assert [r for r in server.recorder.requests[received:] if r[0] != "GET"] == []
        assert await server_state(app, agent_id) == before
        assert before[1] == "published"

    async def test_an_edited_file_updates_only_its_training(
        self, app: Any, server: LiveServer, remote: Cuecard, agent_id: str, folder: Path
    ) -> None:
        sync(remote, folder, agent_id)
        _, _, before = await server_state(app, agent_id)
        (folder / "faq.md").write_text("---\nsubject: Opening hours\n---\nWe open at 8.\n")
        writes = len(server.recorder.writes)

        result = sync(remote, folder, agent_id)

        assert result.exit_code == 0, result.output
        assert "  ~ faq.md (instructions)" in result.stdout
        assert server.recorder.writes[writes:] == [("POST", f"/api/v1/agents/{agent_id}/trainings")]
        _, _, after = await server_state(app, agent_id)
        assert [n for n in after if after[n] != before[n]] == ["faq"]

    async def test_prune_deletes_trainings_whose_file_is_gone_but_never_those_without_node_id(
        self, remote: Cuecard, api: Client, agent_id: str, folder: Path
    ) -> None:
        manual = api.trainings.upsert(agent_id, subject="Made by hand", instructions="Keep me.")
        sync(remote, folder, agent_id)
        (folder / "faq.md").unlink()

        result = sync(remote, folder, agent_id, "--prune", "--yes")

        assert result.exit_code == 0, result.output
        assert "  - faq (training " in result.stdout
        assert "1 training without node_id: never touched." in result.stdout
        remaining = {t.node_id or t.id for t in api.trainings.list(agent_id)}
        assert remaining == {"billing/invoices", "billing/refunds", manual.id}

    async def test_without_prune_a_removed_file_keeps_its_training(
        self, remote: Cuecard, api: Client, agent_id: str, folder: Path
    ) -> None:
        sync(remote, folder, agent_id)
        (folder / "faq.md").unlink()

        result = sync(remote, folder, agent_id)

        assert result.exit_code == 0
        assert "1 training on the server with a node_id no file has: kept" in result.stdout
        assert len(api.trainings.list(agent_id)) == 3

    async def test_prune_without_yes_and_no_terminal_deletes_nothing(
        self, server: LiveServer, remote: Cuecard, api: Client, agent_id: str, folder: Path
    ) -> None:
        sync(remote, folder, agent_id)
        (folder / "faq.md").unlink()
        writes = len(server.recorder.writes)

        result = sync(remote, folder, agent_id, "--prune")

        assert result.exit_code == 2
        assert "refusing to delete 1 training" in result.stderr
        assert server.recorder.writes[writes:] == []

    async def test_dry_run_prints_the_plan_and_writes_nothing(
        self, server: LiveServer, remote: Cuecard, agent_id: str, folder: Path
    ) -> None:
        result = sync(remote, folder, agent_id, "--dry-run", "--publish")

        assert result.exit_code == 0, result.output
        assert "3 to create" in result.stdout
        assert "Would publish the agent after syncing." in result.stdout
        assert "Dry run: nothing was written." in result.stdout
        assert [w for w in server.recorder.writes if "/trainings" in w[1]] == []

    async def test_invalid_files_exit_2_with_file_and_line_and_nothing_is_sent(
        self, server: LiveServer, remote: Cuecard, agent_id: str, folder: Path
    ) -> None:
        write(folder, {"broken.md": "---\ncurrent_status: enabled\n---\n# Broken\nx\n"})
        write(folder, {"nosubject.md": "Just text.\n"})
        received = len(server.recorder.requests)

        result = sync(remote, folder, agent_id)

        assert result.exit_code == 2
        assert f"{folder / 'broken.md'}:2: current_status must be active or inactive" in (
            result.stderr
        )
        assert f"{folder / 'nosubject.md'}:1: has no subject" in result.stderr
        assert "2 files invalid; nothing was written" in result.stderr
        assert server.recorder.requests[received:] == []

    async def test_two_files_with_one_node_id_exit_2(
        self, remote: Cuecard, agent_id: str, folder: Path
    ) -> None:
        write(folder, {"copy.md": "---\nnode_id: faq\n---\n# Copy\nx\n"})

        result = sync(remote, folder, agent_id)

        assert result.exit_code == 2
        assert "faq.md:1: node_id 'faq' is already the node_id of copy.md (line 2)" in result.stderr

    async def test_failed_writes_exit_1_naming_each_file_and_the_rest_is_synced(
        self, settings: Settings, token: str, tmp_path: Path
    ) -> None:
        strict = dataclasses.replace(settings, max_instructions_chars=40)
        folder = write(
            tmp_path,
            {"ok.md": "# Fine\nShort.\n", "long.md": f"# Too long\n{'x' * 41}\n"},
        )
        with live_server(strict) as server, Client(server.url, token) as api:
            agent_id = api.agents.create("Bot", description="Base prompt.").id

            result = runner_for(server.url, token)(
                "trainings", "sync", str(folder), "--agent", agent_id, "--publish"
            )

            assert result.exit_code == 1
            assert "1 write failed:" in result.stderr
            assert (
                "  long.md: 422 VALIDATION_ERROR: The given data was invalid. "
                "(The instructions field must not be greater than 40 characters.)"
            ) in result.stderr
            assert "Not publishing: the sync did not fully succeed." in result.stderr
            assert [t.node_id for t in api.trainings.list(agent_id)] == ["ok"]
            assert api.agents.get(agent_id).current_status == "draft"

    async def test_a_refused_token_stops_the_sync(
        self,
        server: LiveServer,
        make_token: TokenFactory,
        api: Client,
        agent_id: str,
        folder: Path,
    ) -> None:
        reader = runner_for(server.url, await make_token(read_only=True))

        result = reader("trainings", "sync", str(folder), "--agent", agent_id, "--concurrency", "1")

        assert result.exit_code == 1
        assert "403 UNAUTHORIZED: You are not authorized to create training" in result.stderr
        assert "2 writes not attempted: the server refused the token" in result.stderr
        assert api.trainings.list(agent_id) == []

    async def test_publish_runs_after_a_sync_and_only_when_something_changed(
        self, remote: Cuecard, api: Client, agent_id: str, folder: Path
    ) -> None:
        first = sync(remote, folder, agent_id, "--publish")
        again = sync(remote, folder, agent_id, "--publish")
        (folder / "faq.md").write_text("# Hours\nNine to five.\n")
        changed = sync(remote, folder, agent_id, "--publish")

        assert "Published the agent (version 1)." in first.stdout
        assert "The agent is already published with these trainings." in again.stdout
        assert "Published the agent (version 2)." in changed.stdout
        assert api.agents.get(agent_id).published_version == 2

    async def test_an_unknown_agent_exits_1(self, remote: Cuecard, folder: Path) -> None:
        result = sync(remote, folder, "550e8400-e29b-41d4-a716-446655440000")

        assert result.exit_code == 1
        assert result.stderr == "error: 404 AGENT_NOT_FOUND: Agent not found\n"

    async def test_no_server_url_exits_2(self, remote: Cuecard, folder: Path) -> None:
        result = remote("trainings", "sync", str(folder), "--agent", "a", env={"CUECARD_URL": None})

        assert result.exit_code == 2
        assert "No server URL" in result.stderr

    async def test_a_folder_that_does_not_exist_exits_2(
        self, remote: Cuecard, tmp_path: Path
    ) -> None:
        result = sync(remote, tmp_path / "nope", "a")

        assert result.exit_code == 2

    async def test_json_reports_the_plan_and_the_outcome(
        self, remote: Cuecard, agent_id: str, folder: Path
    ) -> None:
        result = sync(remote, folder, agent_id, "--json")

        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["summary"] == {
            "create": 3,
            "update": 0,
            "unchanged": 0,
            "delete": 0,
            "kept": 0,
            "untouched": 0,
        }
        assert report["done"] == {"create": 3, "update": 0, "delete": 0, "unchanged": 0}
        assert report["failed"] == []
        assert {step["file"] for step in report["plan"]} == set(FILES)

    async def test_json_reports_invalid_files(
        self, remote: Cuecard, agent_id: str, tmp_path: Path
    ) -> None:
        folder = write(tmp_path, {"bad.md": "no subject\n"})

        result = sync(remote, folder, agent_id, "--json")

        assert result.exit_code == 2
        assert json.loads(result.stdout)["errors"] == [
            {
                "path": "bad.md",
                "line": 1,
                "message": "has no subject: set `subject:` in the front matter "
                "or add a `# ` heading",
            }
        ]


class TestExport:
    async def test_export_then_sync_is_a_no_op(
        self,
        app: Any,
        server: LiveServer,
        remote: Cuecard,
        api: Client,
        agent_id: str,
        tmp_path: Path,
    ) -> None:
        api.trainings.upsert(
            agent_id, node_id="billing/refunds", subject="Refunds", instructions="30 days."
        )
        api.trainings.upsert(
            agent_id,
            node_id="faq",
            subject="Line one\nline two",
            instructions="# Inside\n\n---\nnot front matter",
            current_status="inactive",
            position=-2,
            pinned=True,
        )
        api.trainings.upsert(agent_id, node_id="../odd:name", subject="Odd", instructions="x")
        api.trainings.upsert(agent_id, subject="No node", instructions="Never exported.")
        before = await server_state(app, agent_id)

        exported = remote("trainings", "export", str(tmp_path / "out"), "--agent", agent_id)
        writes = len(server.recorder.writes)
        synced = sync(remote, tmp_path / "out", agent_id, "--prune", "--yes")

        assert exported.exit_code == 0, exported.output
        assert "Exported 3 trainings" in exported.stdout
        assert "Skipped 1 training without node_id" in exported.stderr
        assert (tmp_path / "out/billing/refunds.md").read_text() == "# Refunds\n\n30 days.\n"
        assert synced.exit_code == 0, synced.output
        assert "0 to create, 0 to update, 0 to delete, 3 unchanged" in synced.stdout
        assert server.recorder.writes[writes:] == []
        assert await server_state(app, agent_id) == before

    async def test_export_refuses_a_folder_with_markdown_unless_forced(
        self, remote: Cuecard, api: Client, agent_id: str, folder: Path
    ) -> None:
        api.trainings.upsert(agent_id, node_id="faq", subject="New", instructions="New text.")

        refused = remote("trainings", "export", str(folder), "--agent", agent_id)
        forced = remote("trainings", "export", str(folder), "--agent", agent_id, "--force")

        assert refused.exit_code == 2
        assert "use --force" in refused.stderr
        assert forced.exit_code == 0
        assert (folder / "faq.md").read_text() == "# New\n\nNew text.\n"


class TestAgentCommands:
    async def test_create_get_list_publish_unpublish(self, remote: Cuecard) -> None:
        created = remote(
            "agents", "create", "--name", "Bot", "--description", "Base.",
            "--set", "llm_temperature=0.3", "--set", "who_speaks_first=user",
        )  # fmt: skip
        agent_id = created.stdout.strip()

        shown = remote("agents", "get", agent_id, "--json")
        listed = remote("agents", "list")
        published = remote("agents", "publish", agent_id)
        unpublished = remote("agents", "unpublish", agent_id)

        assert created.exit_code == 0, created.output
        agent = json.loads(shown.stdout)
        assert (agent["name"], agent["llm_temperature"], agent["who_speaks_first"]) == (
            "Bot",
            0.3,
            "user",
        )
        assert listed.stdout.splitlines()[1].startswith(f"{agent_id}\tBot\tdraft\t0\t")
        assert published.stdout == f"Agent {agent_id} is published (version 1).\n"
        assert unpublished.stdout == f"Agent {agent_id} is draft.\n"

    async def test_list_json_and_status_filter(self, remote: Cuecard, api: Client) -> None:
        draft = api.agents.create("Draft")
        live = api.agents.create("Live", description="Base.")
        api.agents.publish(live.id)

        result = remote("agents", "list", "--status", "published", "--json")

        assert [a["id"] for a in json.loads(result.stdout)] == [live.id]
        assert draft.id not in result.stdout

    async def test_invalid_settings_exit_1_with_the_servers_message(self, remote: Cuecard) -> None:
        result = remote("agents", "create", "--name", "Bot", "--set", "conversation_speed=9")

        assert result.exit_code == 1
        assert "The conversation speed must be between 0.1 and 3.0." in result.stderr

    async def test_a_bad_status_is_a_usage_error(self, remote: Cuecard) -> None:
        assert remote("agents", "list", "--status", "live").exit_code == 2


class TestTrainingCommands:
    async def test_upsert_list_delete(self, remote: Cuecard, agent_id: str) -> None:
        first = remote(
            "trainings", "upsert", "--agent", agent_id, "--node-id", "faq",
            "--subject", "FAQ", "--instructions", "v1", "--pinned",
        )  # fmt: skip
        second = remote(
            "trainings", "upsert", "--agent", agent_id, "--node-id", "faq",
            "--subject", "FAQ", "--instructions-file", "-",
            input="v2 from stdin\n",
        )  # fmt: skip
        listed = json.loads(remote("trainings", "list", "--agent", agent_id, "--json").stdout)
        deleted = remote("trainings", "delete", first.stdout.strip(), "--agent", agent_id)

        assert first.exit_code == 0, first.output
        assert first.stdout == second.stdout
        assert [(t["node_id"], t["instructions"], t["pinned"]) for t in listed] == [
            ("faq", "v2 from stdin", True)
        ]
        assert deleted.exit_code == 0
        assert (
            remote("trainings", "list", "--agent", agent_id).stdout
            == "id\tnode_id\tstatus\tsubject\n"
        )

    async def test_upsert_needs_exactly_one_source_of_instructions(
        self, remote: Cuecard, agent_id: str
    ) -> None:
        result = remote("trainings", "upsert", "--agent", agent_id, "--subject", "S")

        assert result.exit_code == 2


class TestHelp:
    def test_help_shows_admin_and_client_commands_apart(self) -> None:
        from typer.testing import CliRunner

        output = CliRunner().invoke(cli_app, ["--help"]).stdout

        admin = output.index("Server administration")
        client = output.index("Client (talks to a running server)")
        assert admin < output.index("tokens", admin) < client
        assert output.index("agents", client) < output.index("trainings", client)
