"""`cuecard environments`: manage environments (tenants) on the local database.

Admin commands: each imports the server inside its body (see `cuecard.cli._server`).
"""

from __future__ import annotations

import typer

from cuecard.cli._common import needs_server

app = typer.Typer(help="Manage environments (tenants).", no_args_is_help=True)


@app.command("create")
@needs_server
def environments_create(name: str) -> None:
    """Create an environment."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server

    env = _server.run(_server.settings(), lambda uow: auth.create_environment(uow, name))
    typer.echo(env.id)


@app.command("list")
@needs_server
def environments_list() -> None:
    """List environments."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server
    from cuecard.core.db import format_timestamp

    for env in _server.run(_server.settings(), auth.list_environments):
        typer.echo(f"{env.id}\t{env.name}\t{format_timestamp(env.created_at)}")
