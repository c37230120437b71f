"""The `cuecard` command: the root app; each command group is one module.

- Server administration (`init`, `serve` in server.py; `environments`, `tokens`) works on the
  local database named by CUECARD_DATABASE_URL and calls the same service functions as the API.
  These commands need `cuecard[server]` and import it inside their bodies (`@needs_server`).
- Client commands (`agents`, `trainings`) talk to a running server over HTTP through
  `cuecard.client`; they work with `pip install cuecard` alone.

Nothing imported here may load the server, the client or pydantic: `cuecard --help` builds every
command, and its start-up time is measured (bench/cli_startup.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cuecard import __version__
from cuecard.cli import (
    agents,
    checks,
    config_commands,
    deliveries,
    environments,
    operations,
    phone_numbers,
    server,
    tokens,
    trainings,
)
from cuecard.cli._common import ADMIN_PANEL, CLIENT_PANEL, CONFIG_FILE

app = typer.Typer(
    help="Cuecard: a Talkover-compatible backend for voice agents and their trainings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"cuecard {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="CUECARD_CONFIG",
            help="A TOML file of settings (environment variables and .env override it).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Exit codes (every command): 0 done; 1 the work failed (the database, the server or the
    network said no); 2 bad input or usage (nothing was done). `--json` prints a command's result
    as JSON on stdout."""
    CONFIG_FILE[:] = [config] if config is not None else []


app.command(rich_help_panel=ADMIN_PANEL)(server.init)
app.command(rich_help_panel=ADMIN_PANEL)(server.serve)
app.add_typer(environments.app, name="environments", rich_help_panel=ADMIN_PANEL)
app.add_typer(tokens.app, name="tokens", rich_help_panel=ADMIN_PANEL)
phone_numbers.register(app)
operations.register(app)
app.add_typer(deliveries.app, name="deliveries", rich_help_panel=ADMIN_PANEL)

app.add_typer(agents.app, name="agents", rich_help_panel=CLIENT_PANEL)
app.add_typer(trainings.app, name="trainings", rich_help_panel=CLIENT_PANEL)
config_commands.register(app)
checks.register()


def main() -> None:
    app()


__all__ = ["app", "main"]
