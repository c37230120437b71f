"""Alembic environment: migrates SQLite (sync pysqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, create_engine, pool
from sqlalchemy.ext.asyncio import create_async_engine

from cuecard.core.migrate import sqlalchemy_url
from cuecard.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_configure)
    await engine.dispose()


def run_migrations_online() -> None:
    url = sqlalchemy_url(config.get_main_option("cuecard.database_url") or "")
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=pool.NullPool)
        with engine.connect() as connection:
            _configure(connection)
        engine.dispose()
    else:
        asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise SystemExit("Cuecard migrations run online only: use `cuecard init`.")
run_migrations_online()
