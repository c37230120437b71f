"""The benchmark's datasets, loaded fast and through the real code where it matters.

The token comes from `cuecard tokens create` and the schema from `cuecard init`. One agent and one
training are then made by the real service functions; every other row is a copy of those two
rows with new ids and texts, bulk-inserted (one `executemany` transaction on SQLite, `COPY` on
PostgreSQL). Copying real rows keeps the seed correct when migrations add columns. Publishing goes
through the real service again, so published versions are what the API would have made.

Datasets:
- base: 100 "upsert" agents with 1,000 trainings each (node-0000 .. node-0999), so the upsert
  workload updates existing trainings by node_id; 100 "read" agents with 20 trainings each (5
  with a node_id), published; 1 "retrieve" agent with 1,000 varied trainings without node_id
  (far over its token budget, so they are served by retrieval), published.
- scale: base plus 10,000 agents with 100 trainings each (1,000,000 more trainings).
- big: one agent with 10,000 trainings (the per-agent maximum) in an environment of its own
  ("big", with its own token), for issue 8's row: a big agent published and compiled in a loop
  while another environment reads.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from cuecard.agent_api import service as agents_service
from cuecard.agent_api.schemas import AgentCreate
from cuecard.agents import repository as agents_repository
from cuecard.auth.service import Caller
from cuecard.core.db import Database
from cuecard.runtime.cache import CompiledCache
from cuecard.trainings import service as trainings_service
from cuecard.trainings.schemas import TrainingCreate
from cuecard.versions import service as versions_service

CUECARD = str(Path(sys.executable).with_name("cuecard"))
SECRET_KEY = "cuecard-bench-secret-key-0123456789"

UPSERT_AGENTS, UPSERT_NODES = 100, 1000
READ_AGENTS, READ_TRAININGS = 100, 20
RETRIEVE_TRAININGS = 1000
SCALE_AGENTS, SCALE_TRAININGS = 10_000, 100
BIG_TRAININGS = 10_000  # the per-agent maximum (CUECARD_MAX_TRAININGS_PER_AGENT's default)

_TOPICS = (
    "refund", "delivery", "invoice", "shipping", "subscription", "warranty", "password",
    "address", "damaged package", "store credit", "opening hours", "loyalty points", "gift card",
    "appointment", "cancellation", "price match", "order status", "exchange", "installation",
    "payment plan", "data privacy", "complaint", "accessibility", "bulk order", "spare parts",
)  # fmt: skip
_VERBS = (
    "confirm", "explain", "check", "offer", "never promise", "transfer", "summarise", "ask for",
    "apologise for", "verify", "note", "repeat back",
)  # fmt: skip
_OBJECTS = (
    "the order number", "the email on the account", "the delivery date", "the refund window",
    "the payment method", "the postcode", "the product serial number", "the invoice number",
    "a callback time", "the ticket reference", "the cancellation fee", "the warranty period",
)  # fmt: skip


@dataclass
class Dataset:
    url: str
    token: str
    upsert_agents: list[str]
    read_agents: list[str]
    retrieve_agents: list[str]
    trainings: int = 0
    agents: int = 0


def cli_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "CUECARD_DATABASE_URL": url,
        "CUECARD_SECRET_KEY": SECRET_KEY,
        "CUECARD_ENV": "production",
    }


def _cli(url: str, *args: str) -> str:
    done = subprocess.run(
        [CUECARD, *args], env=cli_env(url), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"cuecard {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _paragraphs(count: int, seed: int) -> list[tuple[str, str]]:
    """(subject, instructions) pairs of typical size (~500-700 characters), deterministic."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        topic = rng.choice(_TOPICS)
        sentences = [
            f"When the caller asks about {topic}, {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}."
            for _ in range(rng.randint(7, 10))
        ]
        out.append((f"{topic.capitalize()} guidance {i:04d}", " ".join(sentences)))
    return out


def reset_postgres(url: str) -> None:
    """Empty the bench database. Refuses a database whose name does not say it is for benches."""
    name = url.rsplit("/", 1)[-1].split("?", 1)[0]
    if "bench" not in name:
        raise SystemExit(
            f"CUECARD_BENCH_POSTGRES_URL names database {name!r}: the bench drops everything in "
            "it, so its name must contain 'bench' (create one: CREATE DATABASE cuecard_bench)"
        )

    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            await conn.close()

    asyncio.run(go())


def seed_base(url: str) -> Dataset:
    """Migrate, create the token, load the base dataset. `url` must name an empty database."""
    _cli(url, "init")
    # The load is far above a real client's 1,000 requests a minute; the limiter still counts.
    _cli(url, "environments", "update", "default", "--rate-limit", "1000000")
    token = _cli(url, "tokens", "create", "--environment", "default", "--label", "bench")
    return asyncio.run(_seed_base(url, token))


async def _seed_base(url: str, token: str) -> Dataset:
    db = await Database.connect(url)
    try:
        caller = await _caller(db)
        agent, training = await _templates(db, caller)
        loader = await _Loader.open(url, agent, training)
        try:
            upsert = [new_id() for _ in range(UPSERT_AGENTS)]
            read = [new_id() for _ in range(READ_AGENTS)]
            retrieve = [new_id()]
            await loader.agents(
                [(a, f"bench-upsert-{i:03d}") for i, a in enumerate(upsert)]
                + [(a, f"bench-read-{i:03d}") for i, a in enumerate(read)]
                + [(retrieve[0], "bench-retrieve")]
            )
            upsert_text = _paragraphs(1, seed=1)[0][1]
            await loader.trainings(
                (a, f"node-{n:04d}", f"Refund policy, section {n:04d}", upsert_text)
                for a in upsert
                for n in range(UPSERT_NODES)
            )
            topics = _paragraphs(READ_TRAININGS, seed=2)
            # 5 node trainings and 15 general ones, like an agent built in a workflow editor.
            await loader.trainings(
                (a, f"topic-{n:02d}" if n < 5 else None, *topics[n])
                for a in read
                for n in range(READ_TRAININGS)
            )
            corpus = _paragraphs(RETRIEVE_TRAININGS, seed=3)
            await loader.trainings(
                (retrieve[0], None, *corpus[n]) for n in range(RETRIEVE_TRAININGS)
            )
            await loader.finish()
        finally:
            await loader.close()
        await _delete(db, agent["id"])
        for agent_id in (*read, *retrieve):
            await _publish(db, caller, agent_id)
    finally:
        await db.close()
    count = UPSERT_AGENTS * UPSERT_NODES + READ_AGENTS * READ_TRAININGS + RETRIEVE_TRAININGS
    return Dataset(
        url, token, upsert, read, retrieve, trainings=count, agents=len(upsert + read + retrieve)
    )


def seed_scale(dataset: Dataset) -> None:
    """Add 10,000 agents x 100 trainings to a seeded base dataset."""
    asyncio.run(_seed_scale(dataset))


async def _seed_scale(dataset: Dataset) -> None:
    db = await Database.connect(dataset.url)
    try:
        caller = await _caller(db)
        agent, training = await _templates(db, caller)
        loader = await _Loader.open(dataset.url, agent, training)
        try:
            ids = [new_id() for _ in range(SCALE_AGENTS)]
            await loader.agents((a, f"bench-scale-{i:05d}") for i, a in enumerate(ids))
            texts = _paragraphs(500, seed=4)
            await loader.trainings(
                (a, f"step-{n:03d}", *texts[(i * 7 + n) % len(texts)])
                for i, a in enumerate(ids)
                for n in range(SCALE_TRAININGS)
            )
            await loader.finish()
        finally:
            await loader.close()
        await _delete(db, agent["id"])
    finally:
        await db.close()
    dataset.agents += SCALE_AGENTS
    dataset.trainings += SCALE_AGENTS * SCALE_TRAININGS


@dataclass
class BigAgent:
    token: str
    agent_id: str


def seed_big(dataset: Dataset) -> BigAgent:
    """Add the "big" environment, its token and one agent with BIG_TRAININGS trainings."""
    _cli(dataset.url, "environments", "create", "big", "--rate-limit", "1000000")
    token = _cli(dataset.url, "tokens", "create", "--environment", "big", "--label", "bench-big")
    return BigAgent(token, asyncio.run(_seed_big(dataset)))


async def _seed_big(dataset: Dataset) -> str:
    db = await Database.connect(dataset.url)
    try:
        caller = await _caller(db)
        agent, training = await _templates(db, caller)
        loader = await _Loader.open(dataset.url, agent, training)
        big = new_id()
        try:
            await loader.agents([(big, "bench-big")])
            texts = _paragraphs(500, seed=5)
            await loader.trainings(
                (big, f"big-{n:05d}", *texts[n % len(texts)]) for n in range(BIG_TRAININGS)
            )
            await loader.finish()
        finally:
            await loader.close()
        await _delete(db, agent["id"])
        async with db.transaction() as uow:
            # Copies start in the template's environment; this one belongs to "big".
            await uow.write(
                "UPDATE agents SET environment_id = "
                "(SELECT id FROM environments WHERE name = 'big') WHERE id = :id",
                {"id": big},
            )
    finally:
        await db.close()
    dataset.agents += 1
    dataset.trainings += BIG_TRAININGS
    return big


def new_id() -> str:
    return str(uuid.uuid4())


async def _caller(db: Database) -> Caller:
    async with db.transaction() as uow:
        row = await uow.one(
            "SELECT t.id, t.environment_id FROM api_tokens t JOIN environments e "
            "ON e.id = t.environment_id WHERE e.name = 'default' AND t.label = 'bench'"
        )
    assert row is not None, "the bench token is missing"
    return Caller(row["id"], row["environment_id"], read_only=False)


async def _templates(db: Database, caller: Caller) -> tuple[dict[str, Any], dict[str, Any]]:
    """One agent and one training made by the real services: the rows every copy starts from."""
    async with db.transaction() as uow:
        made = await agents_service.create_agent(
            uow,
            caller,
            AgentCreate(name="bench-template", description="A bench agent. Be brief and kind."),
        )
        row = await agents_repository.scoped(uow, caller.environment_id, made.id)
        assert row is not None
        await trainings_service.upsert_training(
            uow,
            caller,
            row,
            TrainingCreate(node_id="template", subject="Template", instructions="x"),
            max_trainings=10_000,
        )
    return {"id": made.id}, {"agent_id": made.id}


async def _delete(db: Database, agent_id: str) -> None:
    async with db.transaction() as uow:
        await uow.write("DELETE FROM trainings WHERE agent_id = :id", {"id": agent_id})
        await uow.write("DELETE FROM agents WHERE id = :id", {"id": agent_id})


async def _publish(db: Database, caller: Caller, agent_id: str) -> None:
    async with db.transaction() as uow:
        row = await agents_repository.scoped(uow, caller.environment_id, agent_id)
        assert row is not None
        await versions_service.publish_agent(uow, CompiledCache(), caller, row)


class _Loader:
    """Bulk copies of a template agent row and a template training row."""

    def __init__(
        self, agent: Sequence[Any], training: Sequence[Any], columns: dict[str, list[str]]
    ):
        self.agent, self.training, self.columns = agent, training, columns

    @staticmethod
    async def open(url: str, agent: dict[str, Any], training: dict[str, Any]) -> _Loader:
        if url.startswith("sqlite:///"):
            return _SqliteLoader(Path(url.removeprefix("sqlite:///")), agent["id"])
        conn = await asyncpg.connect(url)
        return await _PostgresLoader.create(conn, agent["id"])

    def _agent_rows(self, rows: Iterable[tuple[str, str]]) -> Iterator[tuple[Any, ...]]:
        cols = self.columns["agents"]
        i_id, i_name, i_label = cols.index("id"), cols.index("name"), cols.index("label")
        for agent_id, name in rows:
            row = list(self.agent)
            row[i_id], row[i_name], row[i_label] = agent_id, name, name
            yield tuple(row)

    def _training_rows(
        self, rows: Iterable[tuple[str, str | None, str, str]]
    ) -> Iterator[tuple[Any, ...]]:
        cols = self.columns["trainings"]
        idx = [cols.index(c) for c in ("id", "agent_id", "node_id", "subject", "instructions")]
        for agent_id, node_id, subject, instructions in rows:
            row = list(self.training)
            for i, value in zip(
                idx, (new_id(), agent_id, node_id, subject, instructions), strict=True
            ):
                row[i] = value
            yield tuple(row)

    async def agents(self, rows: Iterable[tuple[str, str]]) -> None:
        raise NotImplementedError

    async def trainings(self, rows: Iterable[tuple[str, str | None, str, str]]) -> None:
        raise NotImplementedError

    async def finish(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class _SqliteLoader(_Loader):
    """One transaction of `executemany` on a raw connection (values copied byte for byte)."""

    def __init__(self, path: Path, template_agent: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA cache_size=-262144")  # 256 MiB: index pages stay in memory
        columns, rows = {}, {}
        for table, key in (("agents", "id"), ("trainings", "agent_id")):
            cur = self.conn.execute(f"SELECT * FROM {table} WHERE {key} = ?", (template_agent,))
            rows[table] = cur.fetchone()
            columns[table] = [d[0] for d in cur.description]
        super().__init__(rows["agents"], rows["trainings"], columns)
        self.conn.execute("BEGIN IMMEDIATE")

    def _insert(self, table: str) -> str:
        cols = self.columns[table]
        return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"

    async def agents(self, rows: Iterable[tuple[str, str]]) -> None:
        self.conn.executemany(self._insert("agents"), self._agent_rows(rows))

    async def trainings(self, rows: Iterable[tuple[str, str | None, str, str]]) -> None:
        self.conn.executemany(self._insert("trainings"), self._training_rows(rows))

    async def finish(self) -> None:
        self.conn.execute("COMMIT")

    async def close(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.conn.close()


class _PostgresLoader(_Loader):
    """COPY in chunks inside one transaction, then ANALYZE (as after any bulk load)."""

    CHUNK = 100_000

    def __init__(
        self,
        conn: asyncpg.Connection,
        agent: Sequence[Any],
        training: Sequence[Any],
        columns: dict[str, list[str]],
    ) -> None:
        super().__init__(agent, training, columns)
        self.conn = conn
        self.tx = conn.transaction()

    @classmethod
    async def create(cls, conn: asyncpg.Connection, template_agent: str) -> _PostgresLoader:
        columns, rows = {}, {}
        for table, key in (("agents", "id"), ("trainings", "agent_id")):
            record = await conn.fetchrow(f"SELECT * FROM {table} WHERE {key} = $1", template_agent)
            rows[table] = tuple(record.values())
            columns[table] = list(record.keys())
        loader = cls(conn, rows["agents"], rows["trainings"], columns)
        await loader.tx.start()
        return loader

    async def _copy(self, table: str, rows: Iterator[tuple[Any, ...]]) -> None:
        while True:
            chunk = list(itertools.islice(rows, self.CHUNK))
            if not chunk:
                return
            await self.conn.copy_records_to_table(table, records=chunk, columns=self.columns[table])

    async def agents(self, rows: Iterable[tuple[str, str]]) -> None:
        await self._copy("agents", self._agent_rows(rows))

    async def trainings(self, rows: Iterable[tuple[str, str | None, str, str]]) -> None:
        await self._copy("trainings", self._training_rows(rows))

    async def finish(self) -> None:
        await self.tx.commit()
        await self.conn.execute("ANALYZE")

    async def close(self) -> None:
        await self.conn.close()
