"""Server administration commands. Results go to stdout, everything else to stderr."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, TypeVar

import asyncpg
import typer

from cuecard.auth import service as auth
from cuecard.core.config import ConfigError, Settings
from cuecard.core.db import Database, UnitOfWork, format_timestamp
from cuecard.core.errors import AppError

T = TypeVar("T")

app = typer.Typer(
    help="Cuecard: a Talkover-compatible backend for voice agents and their trainings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
environments = typer.Typer(help="Manage environments (tenants).", no_args_is_help=True)
tokens = typer.Typer(help="Manage environment tokens.", no_args_is_help=True)
app.add_typer(environments, name="environments", rich_help_panel="Server administration")
app.add_typer(tokens, name="tokens", rich_help_panel="Server administration")

ADMIN = "Server administration"


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise fail(str(exc)) from None


def _run(settings: Settings, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on the configured database."""

    async def go() -> T:
        db = await Database.connect(settings.database_url)
        try:
            async with db.transaction() as uow:
                return await work(uow)
        finally:
            await db.close()

    return _guard(go())


def _guard(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except AppError as exc:
        raise fail(exc.message) from None
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except (sqlite3.Error, asyncpg.PostgresError, OSError) as exc:
        raise fail(f"database error: {exc} (has `cuecard init` run?)") from None


@app.command(rich_help_panel=ADMIN)
def init(
    with_token: Annotated[
        bool,
        typer.Option(
            "--with-token",
            help="Also create and print a token for 'default' if the database has none.",
        ),
    ] = False,
) -> None:
    """Create or migrate the database to the latest schema and ensure the 'default' environment."""
    from cuecard.core.migrate import upgrade

    settings = _settings()
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

    secret = _run(settings, ensure)
    typer.echo("Database is at the latest schema; environment 'default' exists.", err=True)
    if secret:
        typer.echo(
            "\nYour first token for environment 'default' (shown once, keep it):\n\n"
            f"    {secret}\n\nTry it:\n\n"
            f'    curl -H "Authorization: Bearer {secret}" http://127.0.0.1:8000/api/v1/agents\n'
        )


@app.command(rich_help_panel=ADMIN)
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (one per core).")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Serve the API (run `cuecard init` first)."""
    from cuecard.core.serving import serve as run_server

    settings = _settings()
    try:
        settings.resolved_secret_key()  # create the development key once, before workers start
    except ConfigError as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(run_server(host, port, workers, access_log))


RateLimitOption = Annotated[
    int | None,
    typer.Option(
        "--rate-limit",
        help="Requests per minute per token (default: CUECARD_RATE_LIMIT_PER_MINUTE, 1000).",
    ),
]


@environments.command("create")
def environments_create(name: str, rate_limit: RateLimitOption = None) -> None:
    """Create an environment."""
    env = _run(_settings(), lambda uow: auth.create_environment(uow, name, rate_limit))
    typer.echo(env.id)


@environments.command("update")
def environments_update(
    name: str,
    rate_limit: RateLimitOption = None,
    default_rate_limit: Annotated[
        bool, typer.Option("--default-rate-limit", help="Go back to the server's default limit.")
    ] = False,
) -> None:
    """Change an environment's rate limit. Every server applies it within a second or two."""
    if (rate_limit is None) == (not default_rate_limit):
        raise fail("give exactly one of --rate-limit N and --default-rate-limit")
    env = _run(_settings(), lambda uow: auth.update_environment(uow, name, rate_limit))
    limit = env.rate_limit_per_minute
    shown = f"{limit} requests per minute" if limit else "the server default"
    typer.echo(f"Environment {env.name!r}: rate limit {shown} per token.", err=True)


@environments.command("list")
def environments_list() -> None:
    """List environments: id, name, created_at, rate limit per token (blank: server default)."""
    for env in _run(_settings(), auth.list_environments):
        limit = "" if env.rate_limit_per_minute is None else str(env.rate_limit_per_minute)
        typer.echo(f"{env.id}\t{env.name}\t{format_timestamp(env.created_at)}\t{limit}")


@tokens.command("create")
def tokens_create(
    environment: Annotated[str, typer.Option("--environment", help="Environment name.")],
    label: Annotated[str | None, typer.Option(help="A note to tell tokens apart.")] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="Token may only read.")] = False,
) -> None:
    """Create a token and print it alone on stdout. It is shown once; only its hash is kept."""
    settings = _settings()
    key = _guard_key(settings)
    info, secret = _run(
        settings,
        lambda uow: auth.create_token(
            uow, key, settings.token_prefix, environment, label=label, read_only=read_only
        ),
    )
    typer.echo(f"Created token {info.id} for environment {info.environment!r}.", err=True)
    typer.echo(secret)


@tokens.command("list")
def tokens_list(
    environment: Annotated[str | None, typer.Option("--environment")] = None,
) -> None:
    """List tokens (never their secrets)."""
    rows = _run(_settings(), lambda uow: auth.list_tokens(uow, environment))
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


@tokens.command("revoke")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token. Every server stops accepting it within two seconds."""
    _run(_settings(), lambda uow: auth.revoke_token(uow, token_id))
    typer.echo(f"Revoked token {token_id}.", err=True)


def _guard_key(settings: Settings) -> bytes:
    try:
        return settings.resolved_secret_key()
    except ConfigError as exc:
        raise fail(str(exc)) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
