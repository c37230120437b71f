"""`cuecard environments`: manage environments (tenants) on the local database.

Admin commands: each imports the server inside its body (see `cuecard.cli._server`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cuecard.cli._common import Json, fail, needs_server, print_json

if TYPE_CHECKING:
    from cuecard.auth.service import Environment

app = typer.Typer(help="Manage environments (tenants).", no_args_is_help=True)


def _environment(env: Environment) -> dict[str, Any]:
    from cuecard.core.db import format_timestamp

    return {
        "id": env.id,
        "name": env.name,
        "created_at": format_timestamp(env.created_at),
        "rate_limit_per_minute": env.rate_limit_per_minute,
    }


RateLimitOption = Annotated[
    int | None,
    typer.Option(
        "--rate-limit",
        help="Requests per minute per token (default: CUECARD_RATE_LIMIT_PER_MINUTE, 1000).",
    ),
]


@app.command("create")
@needs_server
def environments_create(
    name: str, rate_limit: RateLimitOption = None, as_json: Json = False
) -> None:
    """Create an environment and print its id."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server

    env = _server.run(
        _server.settings(), lambda uow: auth.create_environment(uow, name, rate_limit)
    )
    if as_json:
        print_json(_environment(env))
        return
    typer.echo(env.id)


@app.command("update")
@needs_server
def environments_update(
    name: str,
    rate_limit: RateLimitOption = None,
    default_rate_limit: Annotated[
        bool, typer.Option("--default-rate-limit", help="Go back to the server's default limit.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Change an environment's rate limit. Every server applies it within a second or two."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server

    if (rate_limit is None) == (not default_rate_limit):
        raise fail("give exactly one of --rate-limit N and --default-rate-limit", 2)
    env = _server.run(
        _server.settings(), lambda uow: auth.update_environment(uow, name, rate_limit)
    )
    if as_json:
        print_json(_environment(env))
        return
    limit = env.rate_limit_per_minute
    shown = f"{limit} requests per minute" if limit else "the server default"
    typer.echo(f"Environment {env.name!r}: rate limit {shown} per token.", err=True)


@app.command("list")
@needs_server
def environments_list(as_json: Json = False) -> None:
    """List environments: id, name, created_at, rate limit per token (blank: server default)."""
    from cuecard.auth import service as auth
    from cuecard.cli import _server
    from cuecard.core.db import format_timestamp

    found = _server.run(_server.settings(), auth.list_environments)
    if as_json:
        print_json([_environment(env) for env in found])
        return
    for env in found:
        limit = "" if env.rate_limit_per_minute is None else str(env.rate_limit_per_minute)
        typer.echo(f"{env.id}\t{env.name}\t{format_timestamp(env.created_at)}\t{limit}")
