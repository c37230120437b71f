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
deliveries = typer.Typer(help="Deliver webhook events.", no_args_is_help=True)
app.add_typer(environments, name="environments", rich_help_panel="Server administration")
app.add_typer(tokens, name="tokens", rich_help_panel="Server administration")
app.add_typer(deliveries, name="deliveries", rich_help_panel="Server administration")

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


@environments.command("create")
def environments_create(name: str) -> None:
    """Create an environment."""
    env = _run(_settings(), lambda uow: auth.create_environment(uow, name))
    typer.echo(env.id)


@environments.command("list")
def environments_list() -> None:
    """List environments."""
    for env in _run(_settings(), auth.list_environments):
        typer.echo(f"{env.id}\t{env.name}\t{format_timestamp(env.created_at)}")


@tokens.command("create")
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
) -> None:
    """Create a token and print it alone on stdout. It is shown once; only its hash is kept."""
    if read_only and runtime:
        raise fail("--read-only and --runtime exclude each other (a runtime reports calls).")
    settings = _settings()
    key = _guard_key(settings)
    info, secret = _run(
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
    typer.echo(secret)


@tokens.command("list")
def tokens_list(
    environment: Annotated[str | None, typer.Option("--environment")] = None,
) -> None:
    """List tokens (never their secrets)."""
    rows = _run(_settings(), lambda uow: auth.list_tokens(uow, environment))
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


@tokens.command("revoke")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token. Every server stops accepting it within two seconds."""
    _run(_settings(), lambda uow: auth.revoke_token(uow, token_id))
    typer.echo(f"Revoked token {token_id}.", err=True)


@deliveries.command("run")
def deliveries_run(
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then exit.")] = False,
) -> None:
    """Run the webhook delivery worker alone (`cuecard serve` runs one in every process too).

    Any number of these and of servers may share one PostgreSQL database: each delivery is
    claimed by one of them. Stops on SIGTERM or Ctrl-C after the attempts in flight.
    """
    import signal

    from cuecard.webhooks.delivery import DeliveryWorker

    settings = _settings()
    key = _guard_key(settings)

    async def go() -> int:
        db = await Database.connect(settings.database_url)
        worker = DeliveryWorker(db, settings, key)
        try:
            if once:
                return await worker.run_once()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            typer.echo("Delivering webhook events; Ctrl-C stops.", err=True)
            await worker.run(stop)
            return 0
        finally:
            await worker.close()
            await db.close()

    sent = _guard(go())
    if once:
        typer.echo(f"Sent {sent} deliveries.", err=True)


def _guard_key(settings: Settings) -> bytes:
    try:
        return settings.resolved_secret_key()
    except ConfigError as exc:
        raise fail(str(exc)) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
