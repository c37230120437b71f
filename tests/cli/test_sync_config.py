"""Trainings as code carrying knowledge.yaml, voice.yaml and actions.yaml, against a real
server: the same plan, dry-run and prune rules as the trainings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cuecard.client import Client
from tests.cli.conftest import Cuecard
from tests.cli.test_remote import write
from tests.client.live import LiveServer
from tests.config_helpers import RACHEL_ULTRA

CONFIG = {
    "refunds.md": "# Refunds\n\nRefund within 30 days.\n",
    "knowledge.yaml": "description: You answer support calls for Acme.\nllm_temperature: 0.4\n",
    "voice.yaml": (
        f"voice_id: {RACHEL_ULTRA}\nconversation_speed: 1.3\nsimilarity: 0.7\nstability: 0.6\n"
    ),
    "actions.yaml": (
        "- node_id: book\n  name: Book Meeting\n  description: Books a meeting.\n"
        "  type: webhook\n  url: https://hooks.example.com/book\n"
        "  inputs:\n    - name: date\n      required: true\n"
        "- node_id: transfer\n  name: Transfer\n  description: To a human.\n"
        "  type: transfer\n  transfer_to: '+12125550100'\n"
    ),
}


@pytest.fixture
def api(server: LiveServer, token: str) -> Any:
    with Client(server.url, token) as client:
        yield client


def sync(remote: Cuecard, folder: Path, agent_id: str, *extra: str) -> Any:
    return remote("trainings", "sync", str(folder), "--agent", agent_id, *extra)


class TestSyncAgentConfiguration:
    async def test_files_set_knowledge_voice_and_actions_and_a_rerun_writes_nothing(
        self, remote: Cuecard, api: Client, server: LiveServer, tmp_path: Path
    ) -> None:
        agent_id = api.agents.create("Bot").id
        folder = write(tmp_path / "agent", CONFIG)

        dry = sync(remote, folder, agent_id, "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert "Agent configuration: 4 changes, 0 unchanged." in dry.stdout
        assert "  + actions.yaml: book" in dry.stdout
        assert api.actions.list(agent_id) == []

        first = sync(remote, folder, agent_id, "--publish")
        assert first.exit_code == 0, first.output
        agent = api.agents.get(agent_id)
        assert agent.description == "You answer support calls for Acme."
        assert agent.llm_temperature == 0.4
        assert agent.voice is not None and agent.voice["template"]["id"] == RACHEL_ULTRA
        assert agent.current_status == "published"
        assert sorted(a.node_id or "" for a in api.actions.list(agent_id)) == ["book", "transfer"]

        received = len(server.recorder.requests)
        second = sync(remote, folder, agent_id, "--publish")
        assert second.exit_code == 0, second.output
        assert "Agent configuration: 0 changes, 4 unchanged." in second.stdout
        assert [r for r in server.recorder.requests[received:] if r[0] != "GET"] == []

    async def test_prune_deletes_actions_the_file_lacks(
        self, remote: Cuecard, api: Client, tmp_path: Path
    ) -> None:
        agent_id = api.agents.create("Bot").id
        folder = write(tmp_path / "agent", CONFIG)
        assert sync(remote, folder, agent_id).exit_code == 0
        (folder / "actions.yaml").write_text(
            "- node_id: book\n  name: Book Meeting\n  description: Books a meeting.\n"
            "  type: webhook\n  url: https://hooks.example.com/book\n"
        )

        kept = sync(remote, folder, agent_id)
        assert kept.exit_code == 0, kept.output
        assert len(api.actions.list(agent_id)) == 2
        refused = sync(remote, folder, agent_id, "--prune")  # no terminal to confirm
        assert refused.exit_code == 2
        assert "refusing to delete 1 action" in refused.stderr
        pruned = sync(remote, folder, agent_id, "--prune", "--yes")
        assert pruned.exit_code == 0, pruned.output
        assert [a.node_id for a in api.actions.list(agent_id)] == ["book"]

    async def test_secrets_and_unknown_keys_in_files_are_refused_before_any_write(
        self, remote: Cuecard, api: Client, server: LiveServer, tmp_path: Path
    ) -> None:
        agent_id = api.agents.create("Bot").id
        folder = write(tmp_path / "agent", {
            **CONFIG,
            "actions.yaml": "- node_id: a\n  name: A\n  description: D\n  type: webhook\n"
                            "  url: https://x.example\n  authorization_token: s3cret\n",
            "voice.yaml": "voice: nope\n",
        })  # fmt: skip
        received = len(server.recorder.writes)

        result = sync(remote, folder, agent_id)

        assert result.exit_code == 2
        assert "authorization_token` is a secret" in result.stderr
        assert "unknown key `voice`" in result.stderr
        assert len(server.recorder.writes) == received


class TestExportAgentConfiguration:
    async def test_export_writes_the_config_files_and_a_sync_of_them_is_a_no_op(
        self, remote: Cuecard, api: Client, server: LiveServer, tmp_path: Path
    ) -> None:
        agent_id = api.agents.create("Bot").id
        assert sync(remote, write(tmp_path / "source", CONFIG), agent_id).exit_code == 0
        target = tmp_path / "exported"

        exported = remote("trainings", "export", str(target), "--agent", agent_id)
        received = len(server.recorder.requests)
        again = sync(remote, target, agent_id, "--prune", "--yes")

        assert exported.exit_code == 0, exported.output
        assert "knowledge.yaml, voice.yaml, actions.yaml" in exported.stdout
        assert "authorization" not in (target / "actions.yaml").read_text()
        assert again.exit_code == 0, again.output
        assert "Agent configuration: 0 changes, 4 unchanged." in again.stdout
        assert [r for r in server.recorder.requests[received:] if r[0] != "GET"] == []
