"""How should the request path call SQLite? Measures one training upsert transaction
(BEGIN IMMEDIATE; upsert training; update agent; COMMIT) three ways, 16 concurrent tasks on one
event loop, and prints transactions/s and the ratio to the inline variant:

- inline: stdlib sqlite3 on the event loop thread (what Cuecard does);
- hop per statement: each call in a one-thread executor (aiosqlite's cost model);
- hop per transaction: the whole transaction in a one-thread executor.

Usage: .venv/bin/python bench/db_access.py [seconds per variant]
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

SCHEMA = """
CREATE TABLE agents (id TEXT PRIMARY KEY, status TEXT, revision INTEGER, updated_at TEXT);
CREATE TABLE trainings (id TEXT PRIMARY KEY, agent_id TEXT, node_id TEXT, subject TEXT,
    instructions TEXT, updated_at TEXT, UNIQUE (agent_id, node_id));
"""
UPSERT = (
    "INSERT INTO trainings VALUES (:id, :agent, :node, 'Subject', :text, :now) "
    "ON CONFLICT (agent_id, node_id) DO UPDATE SET instructions = excluded.instructions, "
    "updated_at = excluded.updated_at RETURNING *"
)
DRAFT = (
    "UPDATE agents SET status = 'draft', revision = revision + 1, updated_at = :now "
    "WHERE id = :agent"
)


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def params(i: int) -> dict[str, object]:
    return {"id": str(uuid.uuid4()), "agent": "a", "node": f"n{i % 1000}", "text": "x" * 400,
            "now": time.time()}  # fmt: skip


def transaction(conn: sqlite3.Connection, p: dict[str, object]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(UPSERT, p).fetchall()
    conn.execute(DRAFT, p)
    conn.execute("COMMIT")


async def run(variant: str, conn: sqlite3.Connection, seconds: float) -> float:
    pool = ThreadPoolExecutor(max_workers=1)
    lock = asyncio.Lock()
    loop = asyncio.get_running_loop()
    done = 0
    deadline = time.perf_counter() + seconds

    async def hop(fn: Callable[..., object], *args: object) -> object:
        return await loop.run_in_executor(pool, fn, *args)

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            p = params(done)
            async with lock:
                if variant == "inline":
                    transaction(conn, p)
                elif variant == "hop per transaction":
                    await hop(transaction, conn, p)
                else:
                    await hop(conn.execute, "BEGIN IMMEDIATE")
                    cursor = await hop(conn.execute, UPSERT, p)
                    await hop(cursor.fetchall)  # type: ignore[attr-defined]
                    await hop(conn.execute, DRAFT, p)
                    await hop(conn.execute, "COMMIT")
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(16)))
    pool.shutdown()
    return done / (time.perf_counter() - start)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        conn = connect(path)
        conn.executescript(SCHEMA)
        conn.execute("INSERT INTO agents VALUES ('a', 'draft', 0, '')")
        results = {}
        for variant in ("inline", "hop per statement", "hop per transaction"):
            results[variant] = asyncio.run(run(variant, conn, seconds))
        base = results["inline"]
        print(f"{'variant':<22}{'tx/s':>10}{'ratio':>8}")
        for variant, rate in results.items():
            print(f"{variant:<22}{rate:>10,.0f}{rate / base:>8.2f}")


if __name__ == "__main__":
    main()
