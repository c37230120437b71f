"""Database access for the request path: plain drivers behind one small interface.

Why not SQLAlchemy sessions here: on this machine SQLAlchemy's AsyncSession over aiosqlite ran at
about 0.2x of a plain driver with a 1.4 s p99 (see CONTRIBUTING.md). SQLAlchemy still defines the
schema (`cuecard.models`) and Alembic migrates it; requests run hand-written SQL with `:name`
parameters that both backends understand:

- SQLite: the stdlib `sqlite3` driver, called inline on the event loop. A WAL commit with
  synchronous=NORMAL costs tens of microseconds, far less than a hop to a worker thread. One
  connection reads (autocommit, so it always sees the latest commit) and one writes; an
  `asyncio.Lock` serialises write transactions inside the process and SQLite's own lock (with a
  busy timeout) serialises processes.
- PostgreSQL: an asyncpg pool.

A `UnitOfWork` is one request's transaction. Reads run in autocommit until the first write, which
opens the transaction; `commit()` ends it. Services never commit: the request does (see
`cuecard.core.routing`).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import asyncpg

Row = dict[str, Any]
Params = Mapping[str, Any]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def format_timestamp(value: datetime) -> str:
    """UTC, ISO 8601, always with microseconds and `Z`: sortable as text, identical on both DBs."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # Runs for every timestamp stored or served; %-formatting is 3x faster than strftime here.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        value.year, value.month, value.day,
        value.hour, value.minute, value.second, value.microsecond,
    )  # fmt: skip


class UnitOfWork(ABC):
    """One transaction. Reads before the first write run in autocommit."""

    @abstractmethod
    async def one(self, sql: str, params: Params | None = None) -> Row | None: ...

    @abstractmethod
    async def all(self, sql: str, params: Params | None = None) -> list[Row]: ...

    @abstractmethod
    async def write(self, sql: str, params: Params | None = None) -> list[Row]:
        """Run a write (opening the transaction if needed); returns the RETURNING rows."""

    @abstractmethod
    async def write_many(self, sql: str, rows: Iterable[Params]) -> None: ...

    @abstractmethod
    async def commit(self) -> None: ...

    @abstractmethod
    async def rollback(self) -> None: ...

    @abstractmethod
    async def close(self) -> None:
        """Roll back anything uncommitted and give the connection back."""


class Database(ABC):
    dialect: str

    @staticmethod
    async def connect(url: str) -> Database:
        if url.startswith("sqlite:///"):
            return SqliteDatabase(Path(url.removeprefix("sqlite:///")))
        return await PostgresDatabase.open(url)

    @abstractmethod
    def unit_of_work(self) -> UnitOfWork: ...

    @abstractmethod
    async def close(self) -> None: ...

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work that commits when the block ends and rolls back if it raises."""
        uow = self.unit_of_work()
        try:
            yield uow
            await uow.commit()
        finally:
            await uow.close()

    async def ping(self) -> bool:
        try:
            async with self.transaction() as uow:
                return await uow.one("SELECT 1 AS ok") is not None
        except Exception:
            return False


# --- SQLite -----------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _row_shape(description: tuple[tuple[Any, ...], ...]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Column names, and which of them are timestamps (`*_at`), once per distinct query shape."""
    names = tuple(column[0] for column in description)
    return names, tuple(i for i, name in enumerate(names) if name.endswith("_at"))


def _sqlite_row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> Row:
    # Runs for every row read, so the per-column work is done once per query shape above.
    names, stamps = _row_shape(cursor.description)
    row = dict(zip(names, values, strict=True))
    for i in stamps:
        value = values[i]
        if isinstance(value, str):
            row[names[i]] = datetime.fromisoformat(value)
    return row


sqlite3.register_adapter(datetime, format_timestamp)


def _sqlite_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = _sqlite_row
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a commit survives the process being killed (not a power cut).
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.reader = _sqlite_connect(path)
        self.writer = _sqlite_connect(path)
        self.write_lock = asyncio.Lock()

    def unit_of_work(self) -> UnitOfWork:
        return _SqliteUnitOfWork(self)

    async def close(self) -> None:
        self.reader.close()
        self.writer.close()


class _SqliteUnitOfWork(UnitOfWork):
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        self._in_transaction = False

    def _conn(self) -> sqlite3.Connection:
        return self._db.writer if self._in_transaction else self._db.reader

    async def one(self, sql: str, params: Params | None = None) -> Row | None:
        row: Row | None = self._conn().execute(sql, params or {}).fetchone()
        return row

    async def all(self, sql: str, params: Params | None = None) -> list[Row]:
        return self._conn().execute(sql, params or {}).fetchall()

    async def _begin(self) -> None:
        if self._in_transaction:
            return
        await self._db.write_lock.acquire()
        try:
            self._db.writer.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._db.write_lock.release()
            raise
        self._in_transaction = True

    async def write(self, sql: str, params: Params | None = None) -> list[Row]:
        await self._begin()
        return self._db.writer.execute(sql, params or {}).fetchall()

    async def write_many(self, sql: str, rows: Iterable[Params]) -> None:
        await self._begin()
        self._db.writer.executemany(sql, rows)

    def _end(self, statement: str) -> None:
        if not self._in_transaction:
            return
        try:
            self._db.writer.execute(statement)
        finally:
            self._in_transaction = False
            self._db.write_lock.release()

    async def commit(self) -> None:
        self._end("COMMIT")

    async def rollback(self) -> None:
        self._end("ROLLBACK")

    async def close(self) -> None:
        if self._in_transaction:
            self._end("ROLLBACK")


# --- PostgreSQL -------------------------------------------------------------------------------

_NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=1024)
def _to_positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """`:name` parameters to asyncpg's `$n`, remembering which name each number stands for."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _NAMED_PARAM.sub(number, sql), tuple(names)


def _positional(sql: str, params: Params | None) -> tuple[str, list[Any]]:
    text, names = _to_positional(sql)
    params = params or {}
    return text, [params[name] for name in names]


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> PostgresDatabase:
        url = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size)
        return cls(pool)

    def unit_of_work(self) -> UnitOfWork:
        return _PostgresUnitOfWork(self.pool)

    async def close(self) -> None:
        await self.pool.close()


class _PostgresUnitOfWork(UnitOfWork):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: asyncpg.Connection | None = None
        self._transaction: Any = None

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None:
            self._conn = await self._pool.acquire()
        return self._conn

    async def one(self, sql: str, params: Params | None = None) -> Row | None:
        conn = await self._connection()
        record = await conn.fetchrow(*_positional_args(sql, params))
        return dict(record) if record is not None else None

    async def all(self, sql: str, params: Params | None = None) -> list[Row]:
        conn = await self._connection()
        return [dict(r) for r in await conn.fetch(*_positional_args(sql, params))]

    async def _begin(self) -> asyncpg.Connection:
        conn = await self._connection()
        if self._transaction is None:
            self._transaction = conn.transaction()
            await self._transaction.start()
        return conn

    async def write(self, sql: str, params: Params | None = None) -> list[Row]:
        conn = await self._begin()
        return [dict(r) for r in await conn.fetch(*_positional_args(sql, params))]

    async def write_many(self, sql: str, rows: Iterable[Params]) -> None:
        conn = await self._begin()
        text, names = _to_positional(sql)
        await conn.executemany(text, [[row[name] for name in names] for row in rows])

    async def commit(self) -> None:
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            await transaction.commit()

    async def rollback(self) -> None:
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            await transaction.rollback()

    async def close(self) -> None:
        try:
            await self.rollback()
        finally:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await self._pool.release(conn)


def _positional_args(sql: str, params: Params | None) -> list[Any]:
    text, values = _positional(sql, params)
    return [text, *values]


def is_unique_violation(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.UniqueViolationError) or (
        isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)
    )
