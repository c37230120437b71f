"""Server administration commands. Results go to stdout, everything else to stderr.

Exit codes (every command, client ones too): 0 done; 1 the work failed (the database, the
server or the network said no); 2 bad input or usage (invalid settings or arguments; nothing was
done). `--json` prints a command's result as JSON on stdout.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import typer

from cuecard import __version__
from cuecard.auth import service as auth
from cuecard.core.config import ConfigError, Settings
from cuecard.core.db import Database, UnitOfWork, format_timestamp
from cuecard.core.errors import AppError

T = TypeVar("T")

app = typer.Typer(
    help="Cuecard: a Talkover-compatible backend for voice agents and their trainings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
environments = typer.Typer(help="Manage environments (tenants).", no_args_is_help=True)
tokens = typer.Typer(help="Manage environment tokens.", no_args_is_help=True)
app.add_typer(environments, name="environments", rich_help_panel="Server administration")
app.add_typer(tokens, name="tokens", rich_help_panel="Server administration")

ADMIN = "Server administration"
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
# The --config file given to this run (kept here, not in os.environ, until `serve` passes it on).
_config_file: list[Path] = []


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
    _config_file[:] = [config] if config is not None else []


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _settings() -> Settings:
    try:
        return Settings.from_env(config_file=_config_file[0] if _config_file else None)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


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
        raise fail(str(exc), 2) from None
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
    as_json: Json = False,
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
    if as_json:
        print_json({"environment": auth.DEFAULT_ENVIRONMENT, "token": secret})
        return
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
    from cuecard.core.serving import serve as run_server

    # Workers read their settings themselves: pass the command line on through the environment.
    if _config_file:
        os.environ["CUECARD_CONFIG"] = str(_config_file[0])
    if access_log is not None:
        os.environ["CUECARD_ACCESS_LOG"] = "true" if access_log else "false"
    settings = _settings()
    try:
        settings.resolved_secret_key()  # create the development key once, before workers start
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    raise typer.Exit(run_server(host, port, workers))


def _environment(env: auth.Environment) -> dict[str, Any]:
    return {"id": env.id, "name": env.name, "created_at": format_timestamp(env.created_at)}


@environments.command("create")
def environments_create(name: str, as_json: Json = False) -> None:
    """Create an environment and print its id."""
    env = _run(_settings(), lambda uow: auth.create_environment(uow, name))
    if as_json:
        print_json(_environment(env))
        return
    typer.echo(env.id)


@environments.command("list")
def environments_list(as_json: Json = False) -> None:
    """List environments."""
    found = _run(_settings(), auth.list_environments)
    if as_json:
        print_json([_environment(env) for env in found])
        return
    for env in found:
        typer.echo(f"{env.id}\t{env.name}\t{format_timestamp(env.created_at)}")


@tokens.command("create")
def tokens_create(
    environment: Annotated[str, typer.Option("--environment", help="Environment name.")],
    label: Annotated[str | None, typer.Option(help="A note to tell tokens apart.")] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="Token may only read.")] = False,
    as_json: Json = False,
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
    if as_json:
        print_json(_token(info) | {"token": secret})
        return
    typer.echo(secret)


@tokens.command("list")
def tokens_list(
    environment: Annotated[str | None, typer.Option("--environment")] = None,
    as_json: Json = False,
) -> None:
    """List tokens (never their secrets)."""
    rows = _run(_settings(), lambda uow: auth.list_tokens(uow, environment))
    if as_json:
        print_json([_token(t) for t in rows])
        return
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


def _token(t: auth.TokenInfo) -> dict[str, Any]:
    stamp = format_timestamp
    return {
        "id": t.id,
        "environment": t.environment,
        "hint": t.hint,
        "read_only": t.read_only,
        "label": t.label,
        "created_at": stamp(t.created_at),
        "last_used_at": stamp(t.last_used_at) if t.last_used_at else None,
        "revoked_at": stamp(t.revoked_at) if t.revoked_at else None,
    }


@tokens.command("revoke")
def tokens_revoke(
    token: Annotated[str, typer.Argument(help="The token's id, or the token itself.")],
    as_json: Json = False,
) -> None:
    """Revoke a token (by id, or by its secret if that is all you have). Every server stops
    accepting it within two seconds. A secret given here is never printed back."""
    settings = _settings()
    if token.startswith(settings.token_prefix):
        key = _guard_key(settings)

        async def by_secret(uow: UnitOfWork) -> str | None:
            found = await auth.token_id_for_secret(uow, key, token)
            if found is not None:
                await auth.revoke_token(uow, found)
            return found

        token_id = _run(settings, by_secret)
        if token_id is None:
            raise fail("no token matches that secret (it may belong to another server)")
    else:
        token_id = token
        _run(settings, lambda uow: auth.revoke_token(uow, token_id))
    typer.echo(f"Revoked token {token_id}.", err=True)
    if as_json:
        print_json({"revoked": token_id})


def _guard_key(settings: Settings) -> bytes:
    try:
        return settings.resolved_secret_key()
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
