"""`UnitOfWork.after_commit`: what lives outside the database (the compiled cache) hears of a
transaction only once it has committed, on both databases."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cuecard.core.db import new_id, utcnow


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


async def test_a_long_read_gives_other_requests_turns_meanwhile(app: Any) -> None:
    """A 10,000-training agent's read must not hold the event loop for its whole length."""
    turns = 0

    async def other_request() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    numbers = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
        "SELECT i FROM n ORDER BY i"
    )
    other = asyncio.create_task(other_request())
    await asyncio.sleep(0)
    try:
        async with app.state.db.transaction() as uow:
            before = turns
            rows = await uow.all(numbers)
            during = turns - before
    finally:
        other.cancel()
    assert [row["i"] for row in rows] == list(range(1, 2001))
    assert during >= 2
