"""`cuecard environments`: manage environments (tenants) on the local database.

Admin commands: each imports the server inside its body (see `cuecard.cli._server`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from cuecard.cli._common import Json, needs_server, print_json

if TYPE_CHECKING:
    from cuecard.auth.service import Environment

app = typer.Typer(help="Manage environments (tenants).", no_args_is_help=True)


def _environment(env: Environment) -> dict[str, Any]:
    from cuecard.core.db import format_timestamp

    return {"id": env.id, "name": env.name, "created_at": format_timestamp(env.created_at)}


@app.command("create")
@needs_server
def environments_create(name: str, as_json: Json = False) -> None:
    """Create an environment and print its id."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server

    env = _server.run(_server.settings(), lambda uow: auth.create_environment(uow, name))
    if as_json:
        print_json(_environment(env))
        return
    typer.echo(env.id)


@app.command("list")
@needs_server
def environments_list(as_json: Json = False) -> None:
    """List environments."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server
    from cuecard.core.db import format_timestamp

    found = _server.run(_server.settings(), auth.list_environments)
    if as_json:
        print_json([_environment(env) for env in found])
        return
    for env in found:
        typer.echo(f"{env.id}\t{env.name}\t{format_timestamp(env.created_at)}")
