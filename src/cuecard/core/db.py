"""Database access for the request path: plain drivers behind one small interface.

Why not SQLAlchemy sessions here: on this machine SQLAlchemy's AsyncSession over aiosqlite ran at
about 0.2x of a plain driver with a 1.4 s p99 (see CONTRIBUTING.md). SQLAlchemy still defines the
schema (`cuecard.models`) and Alembic migrates it; requests run hand-written SQL with `:name`
parameters that both backends understand:

- SQLite: the stdlib `sqlite3` driver, called inline on the event loop (a long read hands its
  rows over a chunk per turn of the loop). A WAL commit with synchronous=NORMAL costs tens of
  microseconds, far less than a hop to a worker thread. One connection reads (autocommit, so it
  always sees the latest commit) and one writes; an `asyncio.Lock` serialises write transactions
  inside the process and SQLite's own lock (with a busy timeout) serialises processes.
- PostgreSQL: an asyncpg pool.

Faults of the database itself (it is down, frozen, full or read-only) never surface as driver
exceptions: every driver call is bounded in time (`connect_timeout`, `statement_timeout`) and a
fault leaves this module as a `ServiceUnavailable` (503 with a code and Retry-After). Broken
connections are thrown away, so the server serves again as soon as the database is back.

A `UnitOfWork` is one request's transaction. Reads run in autocommit until the first write, which
opens the transaction; `commit()` ends it. Services never commit: the request does (see
`cuecard.core.routing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import sqlite3
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import msgspec

from cuecard.core.errors import (
    AppError,
    DatabaseReadOnly,
    DatabaseUnavailable,
    ServiceUnavailable,
    StorageFull,
)

DEFAULT_CONNECT_TIMEOUT = 3.0
DEFAULT_STATEMENT_TIMEOUT = 5.0
# Below this much free space next to a SQLite file, /readyz reports STORAGE_FULL.
_MIN_FREE_BYTES = 64 * 1024

# A row as both backends return it. Its timestamps (`*_at` columns) are the text SQLite stores
# (`format_timestamp`'s) on both, and stay text up to the wire unless a row type parses them:
# a Struct field typed `datetime` is parsed by `typed`, one typed `str` is sent as it is.
Row = dict[str, Any]
Params = Mapping[str, Any]
S = TypeVar("S", bound=msgspec.Struct)
T = TypeVar("T")


def typed(kind: type[S], rows: list[Row]) -> list[S]:
    """Rows as `kind`, the frozen Struct a repository declares for them, in one call for the
    whole list (cheaper a row than one call each). Not strict: SQLite hands a boolean back as
    0/1 and a whole REAL as an int; the Struct says `False` and `2.0` on both databases."""
    converted: list[S] = msgspec.convert(rows, list[kind], strict=False)  # type: ignore[valid-type]
    return converted


_TYPED_PER_TURN = 2048


async def typed_in_turns(kind: type[S], rows: list[Row]) -> list[S]:
    """`typed` for a list that may be long (a big agent's trainings), a slice per turn of the
    event loop as the rows themselves were read: 10,000 in one call held it for 4-5 ms."""
    if len(rows) <= _TYPED_PER_TURN:
        return typed(kind, rows)
    converted: list[S] = []
    for start in range(0, len(rows), _TYPED_PER_TURN):
        converted += typed(kind, rows[start : start + _TYPED_PER_TURN])
        await asyncio.sleep(0)
    return converted


def typed_one(kind: type[S], row: Row | None) -> S | None:
    """One row as `kind` (see `typed`), or None when there is none."""
    return None if row is None else msgspec.convert(row, kind, strict=False)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


_NO_OFFSET = timedelta(0)


def format_timestamp(value: datetime) -> str:
    """UTC, ISO 8601, always with microseconds and `Z`: sortable as text, identical on both DBs."""
    # pydantic parses text into its own UTC tzinfo, not `UTC`: only a real offset is converted.
    if value.tzinfo is not UTC and value.utcoffset() != _NO_OFFSET:
        value = value.astimezone(UTC)
    # Runs for every timestamp stored or served; %-formatting is 3x faster than strftime here.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        value.year, value.month, value.day,
        value.hour, value.minute, value.second, value.microsecond,
    )  # fmt: skip


def parse_timestamp(text: str) -> datetime:
    """A row's timestamp text (`format_timestamp`'s) as an aware datetime, for arithmetic."""
    return datetime.fromisoformat(text)


def fault_of(exc: BaseException) -> ServiceUnavailable | None:
    """The 503 a driver exception stands for, or None when it is not a fault of the database
    (a constraint violation, a bug in our SQL): those keep their own type."""
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.IntegrityError | sqlite3.ProgrammingError
    ):
        name = getattr(exc, "sqlite_errorname", "") or ""
        text = str(exc)
        if name == "SQLITE_FULL" or "disk is full" in text:
            return StorageFull()
        if name.startswith("SQLITE_READONLY") or "readonly database" in text:
            return DatabaseReadOnly()
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN")):
            return DatabaseUnavailable()
        if "locked" in text or "unable to open" in text or "disk I/O" in text:
            return DatabaseUnavailable()
        return None
    if isinstance(exc, asyncpg.DiskFullError):
        return StorageFull()
    if isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
        return DatabaseReadOnly()
    if isinstance(
        exc,
        asyncpg.PostgresConnectionError
        | asyncpg.CannotConnectNowError
        | asyncpg.OperatorInterventionError
        | asyncpg.InsufficientResourcesError
        | asyncpg.InterfaceError
        | asyncpg.InternalClientError
        | OSError
        | TimeoutError,
    ):
        return DatabaseUnavailable()
    return None


class _faults:
    """Driver exceptions that are faults of the database become their 503 (`fault_of`), after
    `on_fault` has recorded them; anything else passes unchanged. A class rather than a
    `contextlib.contextmanager`: it wraps every statement, and a generator per use cost more."""

    __slots__ = ("on_fault",)

    def __init__(self, on_fault: Callable[[ServiceUnavailable], None]) -> None:
        self.on_fault = on_fault

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        if exc is None or isinstance(exc, AppError) or not isinstance(exc, Exception):
            return
        fault = fault_of(exc)
        if fault is not None:
            self.on_fault(fault)
            raise fault from exc


class UnitOfWork(ABC):
    """One transaction. Reads before the first write run in autocommit."""

    _on_commit: list[Callable[[], None]] | None = None

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction has committed, never if it rolls back: for
        state outside the database that must only ever show committed data (compiled configs)."""
        if self._on_commit is None:
            self._on_commit = []
        self._on_commit.append(callback)

    def _ended(self, *, committed: bool) -> None:
        callbacks, self._on_commit = self._on_commit or [], None
        if committed:
            for callback in callbacks:
                callback()

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
    async def lock(self, key: str) -> None:
        """Open the write transaction and hold `key` exclusively until it ends (SQLite: the
        database's write lock; PostgreSQL: a transaction-level advisory lock)."""

    @abstractmethod
    async def commit(self) -> None: ...

    @abstractmethod
    async def rollback(self) -> None: ...

    @abstractmethod
    async def close(self) -> None:
        """Roll back anything uncommitted and give the connection back."""


class Database(ABC):
    dialect: str
    statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT
    # The last fault seen and when; a successful commit clears it. /readyz reports a recent one.
    last_fault: tuple[ServiceUnavailable, float] | None = None

    @staticmethod
    async def connect(
        url: str,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
    ) -> Database:
        if url.startswith("sqlite:///"):
            return SqliteDatabase(
                Path(url.removeprefix("sqlite:///")), statement_timeout=statement_timeout
            )
        return await PostgresDatabase.open(
            url, connect_timeout=connect_timeout, statement_timeout=statement_timeout
        )

    def _record_fault(self, fault: ServiceUnavailable) -> None:
        self.last_fault = (fault, time.monotonic())

    def _record_success(self) -> None:
        if self.last_fault is not None:
            self.last_fault = None

    @abstractmethod
    def unit_of_work(self) -> UnitOfWork: ...

    @abstractmethod
    async def close(self) -> None: ...

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work that commits when the block ends and rolls back if it raises."""
        uow = self.unit_of_work()
        try:
            yield uow
            await uow.commit()
        finally:
            await uow.close()

    async def ping(self) -> bool:
        return await self.readiness() is None

    async def readiness(self) -> ServiceUnavailable | None:
        """None when the database can take reads and writes now, else the fault that stops it.
        Answers within the statement timeout whatever state the database is in."""
        try:
            async with asyncio.timeout(self.statement_timeout):
                async with self.transaction() as uow:
                    await uow.one("SELECT 1 AS ok")
                    fault = await self._live_fault(uow)
        except ServiceUnavailable as exc:
            return exc
        except Exception:
            return DatabaseUnavailable()
        if fault is not None:
            return fault
        if self.last_fault is not None:
            recent, at = self.last_fault
            if time.monotonic() - at < (recent.retry_after_seconds or 5):
                return recent
        return None

    async def _live_fault(self, uow: UnitOfWork) -> ServiceUnavailable | None:
        """A fault that a read can reveal (a read-only or full disk), backend by backend."""
        return None


# --- SQLite -----------------------------------------------------------------------------------


def _names(cursor: sqlite3.Cursor) -> tuple[str, ...]:
    return tuple(column[0] for column in cursor.description)


sqlite3.register_adapter(datetime, format_timestamp)


def _sqlite_connect(
    path: Path, busy_timeout: float = DEFAULT_STATEMENT_TIMEOUT
) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # A read-only file cannot switch: serve its reads, and answer writes with DATABASE_READ_ONLY.
    with contextlib.suppress(sqlite3.OperationalError):
        conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a commit survives the process being killed (not a power cut).
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    # How long a write waits for another process's write lock before giving up with 503.
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    return conn


class _WriterTurns:
    """Whose turn it is to write, across the processes that serve one SQLite file: an `flock`
    on `<file>.write-lock`, taken before `BEGIN IMMEDIATE` and given back after COMMIT.

    Without it a process whose BEGIN finds the database locked sleeps in SQLite's busy handler
    (1, 2, 5, 10 ... ms, event loop and all) and wakes up late; two workers' upserts then did
    no better than one (bench/README.md, item 12). A writer now takes its turn without waiting
    when it is free, or waits for it in a thread (the loop keeps serving reads) and is woken the
    moment it is given back. SQLite's own lock still decides: the turn only says when to ask,
    so a file that cannot be opened (a read-only directory) just means asking as before.
    """

    def __init__(self, path: Path, wait_seconds: float) -> None:
        self._wait_seconds = wait_seconds
        self._fd: int | None
        try:
            self._fd = os.open(f"{path}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            self._fd = None

    async def take(self) -> None:
        fd = self._fd
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), self._wait_seconds)
        except BaseException as exc:
            # Waited too long (given up as SQLite's busy timeout would: 503), or the request was
            # cancelled: the thread may still get the turn, and then gives it straight back.
            waiting.add_done_callback(self._give_back_if_taken)
            if isinstance(exc, TimeoutError):
                raise DatabaseUnavailable() from None
            raise

    def _give_back_if_taken(self, waited: asyncio.Future[None]) -> None:
        if waited.exception() is None:
            self.give_back()

    def give_back(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path, *, statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.statement_timeout = statement_timeout
        self.reader = _sqlite_connect(path, statement_timeout)
        self.writer = _sqlite_connect(path, statement_timeout)
        self.write_lock = asyncio.Lock()
        self.writer_turns = _WriterTurns(path, statement_timeout)
        self._reopen = False

    def unit_of_work(self) -> UnitOfWork:
        return _SqliteUnitOfWork(self)

    def _record_fault(self, fault: ServiceUnavailable) -> None:
        super()._record_fault(fault)
        # A file opened while read-only stays read-only for that connection: open afresh on
        # the next write, so fixing the file's permissions needs no restart.
        if isinstance(fault, DatabaseReadOnly):
            self._reopen = True

    def _reopen_if_needed(self) -> None:
        if not self._reopen:
            return
        with _faults(super()._record_fault):
            reader = _sqlite_connect(self.path, self.statement_timeout)
            writer = _sqlite_connect(self.path, self.statement_timeout)
        self.reader.close()
        self.writer.close()
        self.reader, self.writer, self._reopen = reader, writer, False

    async def _live_fault(self, uow: UnitOfWork) -> ServiceUnavailable | None:
        if not os.access(self.path, os.W_OK):
            return DatabaseReadOnly()
        stat = os.statvfs(self.path.parent)
        if stat.f_bavail * stat.f_frsize < _MIN_FREE_BYTES:
            return StorageFull()
        return None

    async def close(self) -> None:
        self.reader.close()
        self.writer.close()
        self.writer_turns.close()


# Rows a SQLite read hands over per turn of the event loop (about 2.5 ms of work).
_ROWS_PER_TURN = 256

# A write whose parameters carry more text than this runs in a worker thread, and so does the
# COMMIT of its transaction: SQLite lets go of the GIL while it works, so the event loop serves
# other requests meanwhile. A big agent's publish (a 4-5 MB snapshot, the WAL checkpoint it
# triggers) held the loop for 30-50 ms in one call (bench/README.md, item 14).
_BIG_WRITE_CHARS = 256 * 1024


def _text_size(params: Params) -> int:
    return sum(len(v) for v in params.values() if isinstance(v, str | bytes))


async def _off_loop(call: Callable[[], T]) -> T:
    """`call()` in a worker thread. A cancelled caller still waits for the thread to finish
    before it gives up: the connection must not be used by anyone else meanwhile."""
    future = asyncio.get_running_loop().run_in_executor(None, call)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([future])
        raise


class _SqliteUnitOfWork(UnitOfWork):
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        self._in_transaction = False
        self._big = False  # a big write in this transaction: its end runs off the loop too

    def _conn(self) -> sqlite3.Connection:
        return self._db.writer if self._in_transaction else self._db.reader

    async def one(self, sql: str, params: Params | None = None) -> Row | None:
        with _faults(self._db._record_fault):
            cursor = self._conn().execute(sql, params or {})
            values = cursor.fetchone()
        return None if values is None else dict(zip(_names(cursor), values, strict=True))

    async def all(self, sql: str, params: Params | None = None) -> list[Row]:
        with _faults(self._db._record_fault):
            cursor = self._conn().execute(sql, params or {})
        return await self._rows(cursor)

    async def _rows(self, cursor: sqlite3.Cursor) -> list[Row]:
        """Every row, with a turn for the event loop between chunks: reading the 10,000
        trainings of a big agent at once would hold it for 0.1 s."""
        rows: list[Row] = []
        if cursor.description is None:  # a write without RETURNING
            return rows
        names = _names(cursor)
        while True:
            with _faults(self._db._record_fault):
                chunk = cursor.fetchmany(_ROWS_PER_TURN)
            rows += [dict(zip(names, values, strict=True)) for values in chunk]
            if len(chunk) < _ROWS_PER_TURN:
                return rows
            await asyncio.sleep(0)

    async def _begin(self) -> None:
        if self._in_transaction:
            return
        await self._db.write_lock.acquire()  # this process's writers, one at a time
        try:
            await self._db.writer_turns.take()  # and the other processes'
        except BaseException:
            self._db.write_lock.release()
            raise
        try:
            self._db._reopen_if_needed()
            with _faults(self._db._record_fault):
                self._db.writer.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._db.writer_turns.give_back()
            self._db.write_lock.release()
            raise
        self._in_transaction = True

    async def write(self, sql: str, params: Params | None = None) -> list[Row]:
        await self._begin()
        params = params or {}
        writer = self._db.writer
        with _faults(self._db._record_fault):
            if _text_size(params) > _BIG_WRITE_CHARS:
                self._big = True
                cursor = await _off_loop(lambda: writer.execute(sql, params))
            else:
                cursor = writer.execute(sql, params)
        return await self._rows(cursor)

    async def write_many(self, sql: str, rows: Iterable[Params]) -> None:
        await self._begin()
        with _faults(self._db._record_fault):
            self._db.writer.executemany(sql, rows)

    async def lock(self, key: str) -> None:
        await self._begin()  # one writer at a time already

    async def _end(self, statement: str) -> None:
        if not self._in_transaction:
            return
        writer = self._db.writer
        try:
            with _faults(self._db._record_fault):
                if self._big:
                    await _off_loop(lambda: writer.execute(statement))
                else:
                    writer.execute(statement)
        except ServiceUnavailable:
            # A failed COMMIT (a full disk) leaves the transaction open: end it, or the
            # writer connection would refuse every later BEGIN.
            if self._db.writer.in_transaction:
                try:
                    self._db.writer.execute("ROLLBACK")
                except sqlite3.Error:
                    self._db._reopen = True
            raise
        finally:
            self._in_transaction = self._big = False
            self._db.writer_turns.give_back()
            self._db.write_lock.release()

    async def commit(self) -> None:
        was_writing = self._in_transaction
        await self._end("COMMIT")
        if was_writing:
            self._db._record_success()
        self._ended(committed=True)

    async def rollback(self) -> None:
        self._ended(committed=False)
        await self._end("ROLLBACK")

    async def close(self) -> None:
        self._ended(committed=False)
        if self._in_transaction:
            await self._end("ROLLBACK")


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


@lru_cache(maxsize=1024)
def _stamp_columns(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in names if name.endswith("_at"))


def _pg_rows(records: list[asyncpg.Record]) -> list[Row]:
    """Records as rows, their timestamps (`*_at`) as the text SQLite stores (see `Row`)."""
    if not records:
        return []
    stamps = _stamp_columns(tuple(records[0].keys()))
    rows = [dict(record) for record in records]
    for name in stamps:
        for row in rows:
            value = row[name]
            if isinstance(value, datetime):
                row[name] = format_timestamp(value)
    return rows


def _positional(sql: str, params: Params | None) -> tuple[str, list[Any]]:
    text, names = _to_positional(sql)
    params = params or {}
    return text, [params[name] for name in names]


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(
        self, pool: asyncpg.Pool, statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT
    ) -> None:
        self.pool = pool
        self.statement_timeout = statement_timeout
        self._background: set[asyncio.Future[None]] = set()

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
    ) -> PostgresDatabase:
        url = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        # timeout bounds each connection attempt, command_timeout each statement: a frozen
        # server costs a request seconds, never forever.
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=connect_timeout,
            command_timeout=statement_timeout,
        )
        return cls(pool, statement_timeout)

    def unit_of_work(self) -> UnitOfWork:
        return _PostgresUnitOfWork(self)

    def _record_fault(self, fault: ServiceUnavailable) -> None:
        super()._record_fault(fault)
        if isinstance(fault, DatabaseUnavailable):
            # Every idle connection may be dead too (the server restarted): replace them all on
            # their next use rather than let each fail one request after the database is back.
            task = asyncio.ensure_future(self.pool.expire_connections())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.pool.close(), self.statement_timeout)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            self.pool.terminate()

    async def _live_fault(self, uow: UnitOfWork) -> ServiceUnavailable | None:
        row = await uow.one("SELECT current_setting('transaction_read_only') AS read_only")
        if row is not None and row["read_only"] == "on":
            return DatabaseReadOnly()
        return None


class _PostgresFaults(_faults):
    """PostgreSQL's `_faults`, and a statement cancelled midway (a request given up on) marks
    its connection broken too: it is left mid-statement with its transaction aborted, so a
    ROLLBACK on it fails, and handing it back to the pool would hand that on."""

    __slots__ = ("uow",)

    def __init__(self, uow: _PostgresUnitOfWork) -> None:
        super().__init__(uow._fault)
        self.uow = uow

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        if isinstance(exc, asyncio.CancelledError):
            self.uow._broken = True
            return
        super().__exit__(kind, exc, _)


class _PostgresUnitOfWork(UnitOfWork):
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        self._pool = db.pool
        self._conn: asyncpg.Connection | None = None
        self._transaction: Any = None
        self._broken = False

    def _fault(self, fault: ServiceUnavailable) -> None:
        self._broken = True
        self._db._record_fault(fault)

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None:
            with _PostgresFaults(self):
                self._conn = await self._pool.acquire(timeout=self._db.statement_timeout)
        return self._conn

    async def one(self, sql: str, params: Params | None = None) -> Row | None:
        conn = await self._connection()
        with _PostgresFaults(self):
            record = await conn.fetchrow(*_positional_args(sql, params))
        return _pg_rows([record])[0] if record is not None else None

    async def all(self, sql: str, params: Params | None = None) -> list[Row]:
        conn = await self._connection()
        with _PostgresFaults(self):
            return _pg_rows(await conn.fetch(*_positional_args(sql, params)))

    async def _begin(self) -> asyncpg.Connection:
        conn = await self._connection()
        if self._transaction is None:
            self._transaction = conn.transaction()
            with _PostgresFaults(self):
                await self._transaction.start()
        return conn

    async def write(self, sql: str, params: Params | None = None) -> list[Row]:
        conn = await self._begin()
        with _PostgresFaults(self):
            return _pg_rows(await conn.fetch(*_positional_args(sql, params)))

    async def write_many(self, sql: str, rows: Iterable[Params]) -> None:
        conn = await self._begin()
        text, names = _to_positional(sql)
        with _PostgresFaults(self):
            await conn.executemany(text, [[row[name] for name in names] for row in rows])

    async def lock(self, key: str) -> None:
        await self.write("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))", {"key": key})

    async def commit(self) -> None:
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            with _PostgresFaults(self):
                await transaction.commit()
            self._db._record_success()
        self._ended(committed=True)

    async def rollback(self) -> None:
        self._ended(committed=False)
        if self._transaction is not None:
            transaction, self._transaction = self._transaction, None
            if self._broken:
                return  # the connection is thrown away below, which rolls back on the server
            with _PostgresFaults(self):
                await transaction.rollback()

    async def close(self) -> None:
        try:
            await self.rollback()
        finally:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                if self._broken:
                    # Never hand a connection that failed back to the pool: it may be stuck
                    # mid-statement. The pool opens a fresh one when the database is back.
                    with contextlib.suppress(Exception):
                        conn.terminate()
                        await self._pool.release(conn, timeout=self._db.statement_timeout)
                else:
                    # If resetting it fails (the server went away meanwhile), the pool throws it
                    # away itself and opens a fresh one later; the answer given stands.
                    with contextlib.suppress(Exception):
                        await self._pool.release(conn, timeout=self._db.statement_timeout)


def _positional_args(sql: str, params: Params | None) -> list[Any]:
    text, values = _positional(sql, params)
    return [text, *values]


def is_unique_violation(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.UniqueViolationError) or (
        isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)
    )
