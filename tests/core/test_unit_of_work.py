"""The unit of work on both databases: `after_commit` (what lives outside the database, the
compiled cache, hears of a transaction only once it has committed), and long reads and big
writes that leave the event loop to other requests meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from cuecard.core.db import format_timestamp, new_id, typed_in_turns, utcnow


async def _environment(uow: Any, name: str) -> None:
    await uow.write(
        "INSERT INTO environments (id, name, created_at) VALUES (:id, :name, :now)",
        {"id": new_id(), "name": name, "now": utcnow()},
    )


async def _exists(app: Any, name: str) -> bool:
    async with app.state.db.transaction() as uow:
        return await uow.one("SELECT id FROM environments WHERE name = :n", {"n": name}) is not None


async def test_a_callback_runs_after_the_commit_and_sees_it(app: Any) -> None:
    seen: list[bool] = []
    async with app.state.db.transaction() as uow:
        await _environment(uow, "committed")
        uow.after_commit(lambda: seen.append(True))
        assert seen == []
    assert seen == [True]
    assert await _exists(app, "committed")


async def test_a_transaction_that_raises_never_runs_it(app: Any) -> None:
    seen: list[bool] = []
    with pytest.raises(RuntimeError):
        async with app.state.db.transaction() as uow:
            await _environment(uow, "rolled-back")
            uow.after_commit(lambda: seen.append(True))
            raise RuntimeError("refused")
    assert seen == []
    assert not await _exists(app, "rolled-back")


async def test_a_rollback_drops_it_for_good(app: Any) -> None:
    seen: list[str] = []
    async with app.state.db.transaction() as uow:
        await _environment(uow, "first")
        uow.after_commit(lambda: seen.append("first"))
        await uow.rollback()
        await _environment(uow, "second")
        uow.after_commit(lambda: seen.append("second"))
    assert seen == ["second"]
    assert not await _exists(app, "first")
    assert await _exists(app, "second")


@contextlib.asynccontextmanager
async def _other_request() -> AsyncIterator[list[int]]:
    """Another request that takes every turn of the event loop it is given; `[turns]` so far."""
    turns = [0]

    async def run() -> None:
        while True:
            turns[0] += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(run())
    await asyncio.sleep(0)
    try:
        yield turns
    finally:
        other.cancel()


async def test_a_long_read_gives_other_requests_turns_meanwhile(app: Any) -> None:
    """A 10,000-training agent's read must not hold the event loop for its whole length."""
    numbers = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
        "SELECT i FROM n ORDER BY i"
    )
    async with _other_request() as turns, app.state.db.transaction() as uow:
        before = turns[0]
        rows = await uow.all(numbers)
        during = turns[0] - before
    assert [row["i"] for row in rows] == list(range(1, 2001))
    assert during >= 2


class _Number(msgspec.Struct, frozen=True):
    i: int
    made_at: datetime


async def test_typing_a_long_read_gives_other_requests_turns_meanwhile() -> None:
    """A long read's rows become Structs a slice per turn too, timestamps parsed from the text
    both databases hand over (`cuecard.core.db.Row`)."""
    moment = datetime(2026, 12, 2, 7, 0, 0, 0, tzinfo=UTC)
    rows = [{"i": i, "made_at": format_timestamp(moment)} for i in range(1, 10_001)]
    async with _other_request() as turns:
        before = turns[0]
        typed_rows = await typed_in_turns(_Number, rows)
        during = turns[0] - before
    assert typed_rows == [_Number(i, moment) for i in range(1, 10_001)]
    assert during >= 4


_BIG = "A caller asks about refunds. " * 40_000  # about 1.1 MB, like a big agent's snapshot


async def _description(app: Any, agent_id: object) -> str | None:
    async with app.state.db.transaction() as uow:
        row = await uow.one("SELECT description FROM agents WHERE id = :id", {"id": agent_id})
    assert row is not None
    value: str | None = row["description"]
    return value


async def test_a_big_write_and_its_commit_give_other_requests_turns_meanwhile(
    app: Any, create_agent: Any
) -> None:
    """A big agent's publish writes megabytes (its snapshot): the event loop goes on meanwhile,
    through the statement and through the COMMIT."""
    agent = await create_agent()
    async with _other_request() as turns, app.state.db.transaction() as uow:
        before = turns[0]
        await uow.write(
            "UPDATE agents SET description = :text WHERE id = :id",
            {"text": _BIG, "id": agent["id"]},
        )
        during_write = turns[0] - before
        before = turns[0]
        await uow.commit()
        during_commit = turns[0] - before
    assert during_write >= 1
    assert during_commit >= 1
    assert await _description(app, agent["id"]) == _BIG


async def test_a_big_write_cancelled_midway_rolls_back_and_the_next_write_goes_ahead(
    app: Any, create_agent: Any
) -> None:
    agent = await create_agent(description="before")

    async def big_write() -> None:
        async with app.state.db.transaction() as uow:
            await uow.write(
                "UPDATE agents SET description = :text WHERE id = :id",
                {"text": _BIG, "id": agent["id"]},
            )
            await asyncio.Event().wait()  # never commits

    task = asyncio.create_task(big_write())
    await asyncio.sleep(0)  # it is inside the statement now (or past it)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await _description(app, agent["id"]) == "before"
    async with app.state.db.transaction() as uow:
        await uow.write(
            "UPDATE agents SET description = :text WHERE id = :id",
            {"text": "after", "id": agent["id"]},
        )
    assert await _description(app, agent["id"]) == "after"
