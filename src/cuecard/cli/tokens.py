"""`cuecard tokens`: create, list and revoke environment tokens on the local database.

Admin commands: each imports the server inside its body (see `cuecard.cli._server`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from cuecard.cli._common import needs_server

app = typer.Typer(help="Manage environment tokens.", no_args_is_help=True)


@app.command("create")
@needs_server
def tokens_create(
    environment: Annotated[str, typer.Option("--environment", help="Environment name.")],
    label: Annotated[str | None, typer.Option(help="A note to tell tokens apart.")] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="Token may only read.")] = False,
) -> None:
    """Create a token and print it alone on stdout. It is shown once; only its hash is kept."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server

    settings = _server.settings()
    key = _server.secret_key(settings)
    info, secret = _server.run(
        settings,
        lambda uow: auth.create_token(
            uow, key, settings.token_prefix, environment, label=label, read_only=read_only
        ),
    )
    typer.echo(f"Created token {info.id} for environment {info.environment!r}.", err=True)
    typer.echo(secret)


@app.command("list")
@needs_server
def tokens_list(
    environment: Annotated[str | None, typer.Option("--environment")] = None,
) -> None:
    """List tokens (never their secrets)."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server
    from cuecard.core.db import format_timestamp

    rows = _server.run(_server.settings(), lambda uow: auth.list_tokens(uow, environment))
    typer.echo("id\tenvironment\thint\tread_only\tlabel\tcreated_at\tlast_used_at\trevoked_at")
    for t in rows:
        typer.echo(
            "\t".join(
                [
                    t.id,
                    t.environment,
                    t.hint + "…",
                    "yes" if t.read_only else "no",
                    t.label or "",
                    format_timestamp(t.created_at),
                    format_timestamp(t.last_used_at) if t.last_used_at else "",
                    format_timestamp(t.revoked_at) if t.revoked_at else "",
                ]
            )
        )


@app.command("revoke")
@needs_server
def tokens_revoke(token_id: str) -> None:
    """Revoke a token. Every server stops accepting it within two seconds."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server

    _server.run(_server.settings(), lambda uow: auth.revoke_token(uow, token_id))
    typer.echo(f"Revoked token {token_id}.", err=True)
