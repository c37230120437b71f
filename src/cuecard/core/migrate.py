"""Run Alembic from code, so `cuecard init` works from an installed package."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def sqlalchemy_url(url: str) -> str:
    """Our URLs name no driver; SQLAlchemy's do."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("cuecard.database_url", database_url)
    return config


def _outside_event_loop(work: Callable[[], None]) -> None:
    """Alembic's PostgreSQL path runs its own event loop; give it a thread if one is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        work()
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(work).result()


def upgrade(database_url: str, revision: str = "head") -> None:
    sqlite_file = database_url.removeprefix("sqlite:///")
    if sqlite_file != database_url:
        Path(sqlite_file).parent.mkdir(parents=True, exist_ok=True)
    _outside_event_loop(lambda: command.upgrade(alembic_config(database_url), revision))


def downgrade(database_url: str, revision: str = "base") -> None:
    _outside_event_loop(lambda: command.downgrade(alembic_config(database_url), revision))


def check(database_url: str) -> None:
    """Raise if the models and the migrated database disagree (`alembic check`)."""
    _outside_event_loop(lambda: command.check(alembic_config(database_url)))
