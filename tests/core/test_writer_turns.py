"""SQLite writers of different processes take turns through `<file>.write-lock`: a writer that
waits for another process's commit no longer sleeps in SQLite's busy handler with its event
loop. Two `SqliteDatabase`s on one file stand for two processes (each has its own connections
and its own open lock file, which is what `flock` tells apart)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cuecard.core.db import SqliteDatabase, UnitOfWork
from cuecard.core.errors import DatabaseUnavailable


async def _write(db: SqliteDatabase, value: int) -> None:
    async with db.transaction() as uow:
        await uow.write("INSERT INTO t (v) VALUES (:v)", {"v": value})


async def _values(db: SqliteDatabase) -> list[int]:
    async with db.transaction() as uow:
        return [row["v"] for row in await uow.all("SELECT v FROM t ORDER BY v")]


@contextlib.asynccontextmanager
async def _two_processes(
    tmp_path: Path, first_timeout: float, second_timeout: float
) -> AsyncIterator[tuple[SqliteDatabase, SqliteDatabase, UnitOfWork]]:
    """Two processes' databases on one file, and the first one's open write transaction."""
    path = tmp_path / "cuecard.db"
    first = SqliteDatabase(path, statement_timeout=first_timeout)
    second = SqliteDatabase(path, statement_timeout=second_timeout)
    try:
        async with first.transaction() as uow:
            await uow.write("CREATE TABLE t (v INTEGER)")
        holder = first.unit_of_work()
        await holder.write("INSERT INTO t (v) VALUES (1)")
        yield first, second, holder
    finally:
        await first.close()
        await second.close()


async def _finish(holder: UnitOfWork) -> None:
    await holder.commit()
    await holder.close()


async def test_a_writer_waiting_its_turn_lets_its_process_read_meanwhile(tmp_path: Path) -> None:
    async with _two_processes(tmp_path, 2.0, 2.0) as (first, second, holder):
        waiting = asyncio.create_task(_write(second, 2))
        seen = []
        for _ in range(10):
            await asyncio.sleep(0.01)
            seen.append(await _values(second))  # WAL: reads need no turn

        # Asleep in SQLite's busy handler, the second process could not have read at all until
        # its write had given up (2 s) or gone through.
        assert not waiting.done()
        assert seen == [[]] * 10
        await _finish(holder)
        await asyncio.wait_for(waiting, 2.0)
        assert await _values(first) == [1, 2]


async def test_a_writer_that_waits_too_long_is_503_and_its_turn_is_given_back(
    tmp_path: Path,
) -> None:
    async with _two_processes(tmp_path, 1.0, 0.2) as (first, impatient, holder):
        with pytest.raises(DatabaseUnavailable):
            await _write(impatient, 2)
        await _finish(holder)

        # The abandoned wait still gets the turn once the holder is done, and hands it back:
        # the first process can write again (else it would wait 1 s and be refused).
        await asyncio.sleep(0.05)
        await _write(first, 3)
        await _write(impatient, 4)
        assert await _values(first) == [1, 3, 4]


async def test_a_cancelled_wait_gives_the_turn_back(tmp_path: Path) -> None:
    async with _two_processes(tmp_path, 1.0, 2.0) as (first, second, holder):
        waiting = asyncio.create_task(_write(second, 2))
        await asyncio.sleep(0.05)
        waiting.cancel()  # a request cancelled while it waited for its turn
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await _finish(holder)

        await asyncio.sleep(0.05)
        await _write(first, 3)  # else refused after 1 s: the cancelled wait kept the turn
        assert await _values(first) == [1, 3]
