"""What a shell user and a script expect of every command: --version, completion, --json that
parses, exit codes, progress off a terminal, and no secret ever printed back."""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cuecard import __version__
from cuecard.cli import app as cli_app
from cuecard.client import Client
from tests.cli.conftest import Cuecard
from tests.client.live import LiveServer
from tests.conftest import SECRET, bearer
from tests.core.serving import CUECARD


@pytest.fixture
def cuecard(database_url: str) -> Any:
    runner = CliRunner()
    env = {"CUECARD_DATABASE_URL": database_url, "CUECARD_SECRET_KEY": SECRET}

    def run(*args: str) -> Any:
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(runner.invoke, cli_app, list(args), env=env).result()

    return run


class TestShellConventions:
    def test_version(self) -> None:
        result = CliRunner().invoke(cli_app, ["--version"])

        assert (result.exit_code, result.stdout) == (0, f"cuecard {__version__}\n")

    def test_bash_completion_completes_commands(self) -> None:
        script = subprocess.run(
            [CUECARD, "--show-completion", "bash"], capture_output=True, text=True, timeout=60
        )
        completing = subprocess.run(
            [CUECARD],
            env={**os.environ, "_CUECARD_COMPLETE": "complete_bash",
                 "COMP_WORDS": "cuecard tok", "COMP_CWORD": "1"},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

        assert "_cuecard_completion" in script.stdout
        assert completing.stdout.split() == ["tokens"]

    def test_install_completion_is_offered(self) -> None:
        assert "--install-completion" in CliRunner().invoke(cli_app, ["--help"]).stdout


class TestAdminJson:
    def test_every_admin_command_that_prints_data_prints_json(self, cuecard: Any) -> None:
        init = json.loads(cuecard("init", "--with-token", "--json").stdout)
        created_env = json.loads(cuecard("environments", "create", "staging", "--json").stdout)
        envs = json.loads(cuecard("environments", "list", "--json").stdout)
        token = json.loads(
            cuecard("tokens", "create", "--environment", "staging", "--read-only", "--json").stdout
        )
        tokens = json.loads(cuecard("tokens", "list", "--json").stdout)
        revoked = json.loads(cuecard("tokens", "revoke", token["id"], "--json").stdout)
        shown = json.loads(cuecard("config", "show", "--json").stdout)

        assert init["environment"] == "default" and init["token"].startswith("talq_")
        assert {e["name"] for e in envs} == {"default", "staging"}
        assert created_env["id"] in {e["id"] for e in envs}
        assert token["environment"] == "staging" and token["read_only"] is True
        assert token["token"].startswith("talq_")
        listed = {t["id"]: t for t in tokens}
        assert listed[token["id"]]["hint"] == token["hint"]
        assert all("token" not in t for t in tokens)  # a listing never has a secret
        assert revoked == {"revoked": token["id"]}
        assert shown["secret_key"] == "***" and SECRET not in json.dumps(shown)

    def test_config_show_says_where_each_value_came_from(self, cuecard: Any) -> None:
        result = cuecard("config", "show")

        assert result.exit_code == 0
        assert 'secret_key = "***"  # CUECARD_SECRET_KEY' in result.stdout
        assert "max_body_bytes = 2097152  # default; set with CUECARD_MAX_BODY_BYTES" in (
            result.stdout
        )
        assert SECRET not in result.stdout


class TestSecretsAreNeverEchoed:
    async def test_revoke_by_secret_revokes_without_printing_it(
        self, cuecard: Any, client: httpx.AsyncClient
    ) -> None:
        cuecard("init")
        secret = cuecard("tokens", "create", "--environment", "default").stdout.strip()

        result = cuecard("tokens", "revoke", secret)
        unknown = cuecard("tokens", "revoke", "talq_" + "x" * 43)

        assert result.exit_code == 0
        assert secret not in result.output
        assert (await client.get("/api/v1/agents", headers=bearer(secret))).status_code == 401
        assert unknown.exit_code == 1
        assert "no token matches that secret" in unknown.stderr
        assert "x" * 43 not in unknown.output


FILES = {f"topic-{i}.md": f"# Topic {i}\n\nText {i}.\n" for i in range(5)}


@pytest.fixture
def agent_id(server: LiveServer, token: str) -> str:
    with Client(server.url, token) as api:
        return api.agents.create("SupportBot").id


class TestProgressOffATerminal:
    async def test_sync_and_export_print_progress_lines_to_stderr(
        self, remote: Cuecard, agent_id: str, tmp_path: Path
    ) -> None:
        folder = tmp_path / "trainings"
        folder.mkdir()
        for name, text in FILES.items():
            (folder / name).write_text(text)

        synced = remote("trainings", "sync", str(folder), "--agent", agent_id, "--json")
        exported = remote("trainings", "export", str(tmp_path / "out"), "--agent", agent_id)

        assert synced.exit_code == 0, synced.output
        assert "Syncing: 5/5" in synced.stderr
        assert json.loads(synced.stdout)["done"]["create"] == 5  # stdout stays pure JSON
        assert exported.exit_code == 0
        assert "Exporting: 5/5" in exported.stderr

    async def test_delete_prints_json_too(self, remote: Cuecard, agent_id: str) -> None:
        upserted = remote(
            "trainings", "upsert", "--agent", agent_id, "--subject", "S",
            "--instructions", "I", "--json",
        )  # fmt: skip
        training_id = json.loads(upserted.stdout)["id"]

        deleted = remote("trainings", "delete", training_id, "--agent", agent_id, "--json")

        assert deleted.exit_code == 0
        assert json.loads(deleted.stdout) == {"deleted": training_id, "agent_id": agent_id}


class TestStartUpConfiguration:
    def run(self, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CUECARD_")}
        return subprocess.run(
            [CUECARD, *args], cwd=cwd, env={**clean, **env},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    def test_serve_refuses_a_misspelt_variable_before_listening(self, tmp_path: Path) -> None:
        result = self.run(tmp_path, "serve", CUECARD_MAX_BODYBYTES="4096")

        assert result.returncode == 2
        assert result.stderr.strip() == (
            "error: unknown setting CUECARD_MAX_BODYBYTES (did you mean CUECARD_MAX_BODY_BYTES?)"
        )

    def test_dotenv_in_the_working_directory_and_a_config_file(self, tmp_path: Path) -> None:
        (tmp_path / ".env").write_text(
            "CUECARD_LLM_MODEL=from-dotenv\nCUECARD_SECRET_KEY=" + SECRET
        )
        (tmp_path / "cuecard.toml").write_text('llm_model = "from-toml"\nmax_body_bytes = 4096\n')

        shown = self.run(tmp_path, "--config", "cuecard.toml", "config", "show", "--json")

        assert shown.returncode == 0, shown.stderr
        settings = json.loads(shown.stdout)
        assert settings["llm_model"] == "from-dotenv"  # .env wins over the file
        assert settings["max_body_bytes"] == 4096
        assert settings["secret_key"] == "***"

    def test_a_bad_value_in_the_config_file_stops_serve(self, tmp_path: Path) -> None:
        (tmp_path / "cuecard.toml").write_text('log_format = "xml"\n')

        result = self.run(tmp_path, "--config", "cuecard.toml", "serve")

        assert result.returncode == 2
        assert "log_format in cuecard.toml: Input should be 'auto', 'json' or 'text'" in (
            result.stderr
        )
