"""`cuecard init` and `cuecard serve`: set up the local database and serve the API.

Admin commands: each imports the server inside its body (see `cuecard.cli._server`).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cuecard.cli._common import CONFIG_FILE, Json, fail, needs_server, print_json


@needs_server
def init(
    with_token: Annotated[
        bool,
        typer.Option(
            "--with-token",
            help="Also create and print a token for 'default' if the database has none.",
        ),
    ] = False,
    as_json: Json = False,
) -> None:
    """Create or migrate the database to the latest schema and ensure the 'default' environment."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server
    from cuecard.core.db import UnitOfWork
    from cuecard.core.migrate import upgrade

    settings = _server.settings()
    try:
        upgrade(settings.database_url)
    except Exception as exc:
        raise fail(f"migration failed: {exc}") from None

    async def ensure(uow: UnitOfWork) -> str | None:
        await auth.ensure_environment(uow, auth.DEFAULT_ENVIRONMENT)
        if not with_token or await auth.has_any_token(uow):
            return None
        _, secret = await auth.create_token(
            uow,
            settings.resolved_secret_key(),
            settings.token_prefix,
            auth.DEFAULT_ENVIRONMENT,
            label="first token",
        )
        return secret

    secret = _server.run(settings, ensure)
    typer.echo("Database is at the latest schema; environment 'default' exists.", err=True)
    if as_json:
        print_json({"environment": auth.DEFAULT_ENVIRONMENT, "token": secret})
        return
    if secret:
        typer.echo(
            "\nYour first token for environment 'default' (shown once, keep it):\n\n"
            f"    {secret}\n\nTry it:\n\n"
            f'    curl -H "Authorization: Bearer {secret}" http://127.0.0.1:8000/api/v1/agents\n'
        )


@needs_server
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (one per core).")] = 1,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log every request (default: on, or CUECARD_ACCESS_LOG).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the API (run `cuecard init` first)."""
    from cuecard.cli import _server
    from cuecard.core.serving import serve as run_server

    # Workers read their settings themselves: pass the command line on through the environment.
    if CONFIG_FILE:
        os.environ["CUECARD_CONFIG"] = str(CONFIG_FILE[0])
    if access_log is not None:
        os.environ["CUECARD_ACCESS_LOG"] = "true" if access_log else "false"
    settings = _server.settings()
    _server.secret_key(settings)  # create the development key once, before workers start
    raise typer.Exit(run_server(host, port, workers))
