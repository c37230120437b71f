"""The admin commands' access to the server: settings, one transaction on the local database.

The only module of `cuecard.cli` that imports the server side (the database drivers, the auth
service, hence FastAPI). Admin commands import it inside their bodies, under `@needs_server`,
so the client commands start without it and run where only `pip install cuecard` was done.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import asyncpg

from cuecard.cli._common import CONFIG_FILE, fail
from cuecard.core.config import ConfigError, Settings
from cuecard.core.db import Database, UnitOfWork
from cuecard.core.errors import AppError

T = TypeVar("T")


def settings() -> Settings:
    """The settings, from the environment, .env and --config; invalid ones exit 2."""
    try:
        return Settings.from_env(config_file=CONFIG_FILE[0] if CONFIG_FILE else None)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


def secret_key(settings: Settings) -> bytes:
    try:
        return settings.resolved_secret_key()
    except ConfigError as exc:
        raise fail(str(exc), 2) from None


def run(settings: Settings, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on the configured database."""

    async def go() -> T:
        db = await Database.connect(settings.database_url)
        try:
            async with db.transaction() as uow:
                return await work(uow)
        finally:
            await db.close()

    return guard(go())


def guard(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro`; an expected failure is one line on stderr and exit code 1."""
    try:
        return asyncio.run(coro)
    except AppError as exc:
        raise fail(exc.message) from None
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    except (sqlite3.Error, asyncpg.PostgresError, OSError) as exc:
        raise fail(f"database error: {exc} (has `cuecard init` run?)") from None
