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

import typer

from cuecard.cli import (
    agents,
    checks,
    config_commands,
    environments,
    phone_numbers,
    server,
    tokens,
    trainings,
)
from cuecard.cli._common import ADMIN_PANEL, CLIENT_PANEL

app = typer.Typer(
    help="Cuecard: a Talkover-compatible backend for voice agents and their trainings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command(rich_help_panel=ADMIN_PANEL)(server.init)
app.command(rich_help_panel=ADMIN_PANEL)(server.serve)
app.add_typer(environments.app, name="environments", rich_help_panel=ADMIN_PANEL)
app.add_typer(tokens.app, name="tokens", rich_help_panel=ADMIN_PANEL)
phone_numbers.register(app)

app.add_typer(agents.app, name="agents", rich_help_panel=CLIENT_PANEL)
app.add_typer(trainings.app, name="trainings", rich_help_panel=CLIENT_PANEL)
config_commands.register(app)
checks.register()


def main() -> None:
    app()


__all__ = ["app", "main"]
