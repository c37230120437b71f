"""`cuecard tokens`: create, list and revoke environment tokens on the local database.

Admin commands: each imports the server inside its body (see `cuecard.cli._server`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cuecard.cli._common import Json, fail, needs_server, print_json

if TYPE_CHECKING:
    from cuecard.auth.service import TokenInfo
    from cuecard.core.db import UnitOfWork

app = typer.Typer(help="Manage environment tokens.", no_args_is_help=True)


def _token(t: TokenInfo) -> dict[str, Any]:
    from cuecard.core.db import format_timestamp as stamp

    return {
        "id": t.id,
        "environment": t.environment,
        "hint": t.hint,
        "read_only": t.read_only,
        "runtime": t.runtime,
        "label": t.label,
        "created_at": stamp(t.created_at),
        "last_used_at": stamp(t.last_used_at) if t.last_used_at else None,
        "revoked_at": stamp(t.revoked_at) if t.revoked_at else None,
    }


@app.command("create")
@needs_server
def tokens_create(
    environment: Annotated[str, typer.Option("--environment", help="Environment name.")],
    label: Annotated[str | None, typer.Option(help="A note to tell tokens apart.")] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="Token may only read.")] = False,
    runtime: Annotated[
        bool,
        typer.Option(
            "--runtime",
            help="For a voice runtime: may read runtime configs, retrieve, invoke actions and "
            "report calls, and nothing else.",
        ),
    ] = False,
    as_json: Json = False,
) -> None:
    """Create a token and print it alone on stdout. It is shown once; only its hash is kept."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server

    if read_only and runtime:
        raise fail("--read-only and --runtime exclude each other (a runtime reports calls).", 2)
    settings = _server.settings()
    key = _server.secret_key(settings)
    info, secret = _server.run(
        settings,
        lambda uow: auth.create_token(
            uow,
            key,
            settings.token_prefix,
            environment,
            label=label,
            read_only=read_only,
            runtime=runtime,
        ),
    )
    typer.echo(f"Created token {info.id} for environment {info.environment!r}.", err=True)
    if as_json:
        print_json(_token(info) | {"token": secret})
        return
    typer.echo(secret)


@app.command("list")
@needs_server
def tokens_list(
    environment: Annotated[str | None, typer.Option("--environment")] = None,
    as_json: Json = False,
) -> None:
    """List tokens (never their secrets)."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server
    from cuecard.core.db import format_timestamp

    rows = _server.run(_server.settings(), lambda uow: auth.list_tokens(uow, environment))
    if as_json:
        print_json([_token(t) for t in rows])
        return
    typer.echo(
        "id\tenvironment\thint\tread_only\tlabel\tcreated_at\tlast_used_at\trevoked_at\tscope"
    )
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
                    "runtime" if t.runtime else ("read" if t.read_only else "full"),
                ]
            )
        )


@app.command("revoke")
@needs_server
def tokens_revoke(
    token: Annotated[str, typer.Argument(help="The token's id, or the token itself.")],
    as_json: Json = False,
) -> None:
    """Revoke a token (by id, or by its secret if that is all you have). Every server stops
    accepting it within two seconds. A secret given here is never printed back."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server

    settings = _server.settings()
    if token.startswith(settings.token_prefix):
        key = _server.secret_key(settings)

        async def by_secret(uow: UnitOfWork) -> str | None:
            found = await auth.token_id_for_secret(uow, key, token)
            if found is not None:
                await auth.revoke_token(uow, found)
            return found

        token_id = _server.run(settings, by_secret)
        if token_id is None:
            raise fail("no token matches that secret (it may belong to another server)")
    else:
        token_id = token
        _server.run(settings, lambda uow: auth.revoke_token(uow, token_id))
    typer.echo(f"Revoked token {token_id}.", err=True)
    if as_json:
        print_json({"revoked": token_id})
