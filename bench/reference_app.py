"""The same-work reference every ratio is taken against (issue 8): the thinnest honest stack.

Raw Starlette + msgspec + stdlib sqlite3 (asyncpg on PostgreSQL), serving the five benchmarked
endpoints on the database the bench seeded, doing the same work and the same SQL as Cuecard:

- auth: `Authorization: Bearer talq_...` -> HMAC-SHA256(secret key, token) -> the same lookup
  in `api_tokens` joined to `environments`, cached in process for the same 1 s as Cuecard's
  `TokenCache`, `last_used_at` written at the same one-minute resolution;
- the agent scoped to the token's environment (another environment's agent is a 404);
- upsert: one transaction (SQLite: the process's write lock, then `BEGIN IMMEDIATE`) with the
  draft reset of the agent row, the `INSERT ... ON CONFLICT (agent_id, node_id)` upsert, the
  limit probe on a create, the audit entry and the webhook subscription lookup;
- list trainings and get agent: the same queries, the same JSON (the bench compares both
  servers' answers before loading them) and the same ETag;
- runtime-config: the published version's compiled config from an in-process cache, compiled on
  a miss by Cuecard's own `compile_snapshot` (the work is the same);
- retrieve: the same compiled config, ranked by Cuecard's own `cuecard.runtime.retrieval`.

What it leaves out is exactly what the ratio is meant to show: the framework (routing,
dependency solving, validation models, middleware), and Cuecard's per-request extras (request
ids, access log, metrics, rate-limit counting, idempotency keys). Served the way `cuecard serve`
serves Cuecard: uvicorn, uvloop, httptools, one SO_REUSEPORT socket per worker process.

    CUECARD_SECRET_KEY=... python reference_app.py PORT WORKERS DATABASE_URL
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import multiprocessing
import os
import re
import signal
import socket
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
import msgspec
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cuecard.runtime.compile import Compiled, Format, compile_snapshot
from cuecard.runtime.retrieval import Turn, has_index, prepare_index, retrieve
from cuecard.snapshots.reader import read as read_snapshot

PREFIX = "talq_"
TOKEN_CACHE_SECONDS = 1.0
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_TRAININGS = 10_000
MAX_INSTRUCTIONS = 100_000
EMBEDDED = 100
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# --- the SQL, as Cuecard sends it ---------------------------------------------------------------

SETTINGS = (
    "name", "label", "description", "language", "initial_message", "interrupt_sensitivity",
    "endpointing_sensitivity", "ivr_navigation_mode", "conversation_speed",
    "initial_message_delay", "ask_if_human_present_on_idle", "idle_time_seconds",
    "max_idle_check_count", "max_call_duration_seconds", "say_goodbye_on_max_duration",
    "user_inactivity_timeout_seconds", "initial_idle_time_seconds",
    "initial_max_idle_check_count", "llm_temperature", "enable_recording", "direction",
    "who_speaks_first", "training_budget_tokens", "publish_requires_clean_lint",
    "publish_requires_passing_tests", "voice_template_id", "voice_name", "voice_provider",
    "voice_provider_voice_id", "voice_quality_tier", "voice_stability", "voice_similarity",
    "ambient_background", "ambient_volume", "enable_initial_message_cache",
)  # fmt: skip
AGENT_COLUMNS = (
    "id", "environment_id", *SETTINGS, "current_status", "is_sandbox", "draft_revision",
    "published_version", "created_at", "updated_at",
)  # fmt: skip
_AGENT = ", ".join(AGENT_COLUMNS)
TRAINING_COLUMNS = (
    "id", "agent_id", "node_id", "subject", "instructions", "current_status", "position",
    "pinned", "created_at", "updated_at",
)  # fmt: skip
_TRAINING = ", ".join(TRAINING_COLUMNS)

SQL_TOKEN = (
    "SELECT t.id, t.environment_id, t.read_only, t.runtime, t.label, t.token_hash, "
    "t.last_used_at, e.rate_limit_per_minute FROM api_tokens t "
    "JOIN environments e ON e.id = t.environment_id "
    "WHERE t.token_hash = :digest AND t.revoked_at IS NULL"
)
SQL_TOKEN_USED = "UPDATE api_tokens SET last_used_at = :now WHERE id = :id"
SQL_AGENT = f"SELECT {_AGENT} FROM agents WHERE id = :id AND environment_id = :env"
SQL_DRAFT = (
    "UPDATE agents SET current_status = 'draft', draft_revision = draft_revision + 1, "
    f"updated_at = :now WHERE id = :agent_id RETURNING {_AGENT}"
)
SQL_UPSERT = f"""
INSERT INTO trainings ({_TRAINING})
VALUES (:id, :agent_id, :node_id, :subject, :instructions,
        COALESCE(:current_status, 'active'), :position, COALESCE(:pinned, FALSE), :now, :now)
ON CONFLICT (agent_id, node_id) DO UPDATE SET
    subject = excluded.subject,
    instructions = excluded.instructions,
    current_status = COALESCE(:current_status, trainings.current_status),
    position = COALESCE(:position, trainings.position),
    pinned = COALESCE(:pinned, trainings.pinned),
    updated_at = excluded.updated_at
RETURNING {_TRAINING}
"""
SQL_MORE_THAN = (
    "SELECT COUNT(*) AS total FROM (SELECT 1 FROM trainings WHERE agent_id = :agent_id "
    "LIMIT :probe) AS probe"
)
SQL_AUDIT = (
    "INSERT INTO audit_log (id, environment_id, agent_id, token_id, token_label, action, "
    "target_type, target_id, changes, created_at) VALUES (:id, :environment_id, :agent_id, "
    ":token_id, :token_label, :action, :target_type, :target_id, :changes, :created_at)"
)
SQL_WEBHOOKS = (
    "SELECT id FROM webhooks WHERE agent_id = :agent AND enabled = :yes "
    "AND events LIKE :pattern ESCAPE '\\'"
)
SQL_WEBHOOK_LOG = (
    "INSERT INTO webhook_logs (id, webhook_id, event_id, event, attempt, status, payload, "
    "next_attempt_at, created_at) VALUES (:id, :webhook, :event_id, :event, 1, 'pending', "
    ":payload, :now, :now)"
)
_ORDER = " ORDER BY created_at, id"
SQL_LIST = (
    f"SELECT {_TRAINING} FROM trainings WHERE agent_id = :agent_id{_ORDER} "
    "LIMIT :limit OFFSET :offset"
)
SQL_COUNT = "SELECT COUNT(*) AS total FROM trainings WHERE agent_id = :agent_id"
SQL_HAS_ACTIVE = (
    "SELECT 1 AS found FROM trainings WHERE agent_id = :agent_id "
    "AND current_status = 'active' LIMIT 1"
)
SQL_ACTIONS = "SELECT id FROM actions WHERE agent_id = :agent_id ORDER BY created_at, id"
SQL_NUMBERS = (
    "SELECT a.agent_id, p.id FROM agent_phone_numbers a "
    "JOIN phone_numbers p ON p.id = a.phone_number_id "
    "WHERE a.agent_id IN (:a0) ORDER BY p.number"
)
SQL_SNAPSHOT = "SELECT snapshot FROM agent_versions WHERE agent_id = :agent_id AND version = :v"
SQL_TRAINED_EVENT = "event_training_updated"

# --- formatting -------------------------------------------------------------------------------


def stamp(value: Any) -> str:
    """Cuecard's timestamp text: SQLite stores exactly this text; PostgreSQL gives datetimes."""
    if isinstance(value, str):
        return value
    value = value.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        value.year, value.month, value.day,
        value.hour, value.minute, value.second, value.microsecond,
    )  # fmt: skip


def training_json(r: Sequence[Any]) -> dict[str, Any]:
    """A trainings row (TRAINING_COLUMNS order) as the Training object (its field order)."""
    return {
        "id": r[0], "subject": r[3], "instructions": r[4], "current_status": r[5],
        "created_at": stamp(r[8]), "updated_at": stamp(r[9]), "node_id": r[2],
        "agent_id": r[1], "position": r[6], "pinned": bool(r[7]),
    }  # fmt: skip


_A = {name: i for i, name in enumerate(AGENT_COLUMNS)}
_AGENT_BOOLS = (
    "ask_if_human_present_on_idle", "enable_recording", "say_goodbye_on_max_duration",
    "publish_requires_clean_lint", "publish_requires_passing_tests", "is_sandbox",
)  # fmt: skip
_AGENT_FLOATS = ("conversation_speed", "llm_temperature")


def agent_json(
    a: Sequence[Any], trainings: list[dict[str, Any]], count: int, ready: bool
) -> dict[str, Any]:
    """An agents row as the Agent object, in its field order. The bench's agents have no voice,
    actions or phone numbers (a row with them is refused rather than answered differently)."""
    if a[_A["voice_template_id"]]:
        raise NotImplementedError("the reference does not render voices")

    def v(name: str) -> Any:
        value = a[_A[name]]
        if name in _AGENT_BOOLS:
            return bool(value)
        if name in _AGENT_FLOATS:
            return float(value)
        return value

    out = {name: v(name) for name in ("id", "name", "label", "description", "language")}
    out["voice"] = None
    for name in ("initial_message", "interrupt_sensitivity", "conversation_speed",
                 "initial_message_delay", "ask_if_human_present_on_idle", "direction",
                 "who_speaks_first", "current_status", "is_sandbox"):  # fmt: skip
        out[name] = v(name)
    out["is_ready_to_publish"] = ready
    out["created_at"] = stamp(a[_A["created_at"]])
    out["updated_at"] = stamp(a[_A["updated_at"]])
    out["trainings"] = trainings
    out["trainings_count"] = count
    out["actions"] = []
    out["phone_numbers"] = []
    for name in ("endpointing_sensitivity", "ivr_navigation_mode", "idle_time_seconds",
                 "llm_temperature", "enable_recording", "max_idle_check_count",
                 "max_call_duration_seconds", "say_goodbye_on_max_duration",
                 "user_inactivity_timeout_seconds", "initial_idle_time_seconds",
                 "initial_max_idle_check_count", "training_budget_tokens",
                 "publish_requires_clean_lint", "publish_requires_passing_tests",
                 "published_version"):  # fmt: skip
        out[name] = v(name)
    out["advanced_settings"] = {
        "enable_initial_message_cache": bool(a[_A["enable_initial_message_cache"]])
    }
    return out


encode = msgspec.json.Encoder().encode


def etag(data: Any) -> str:
    return '"' + hashlib.sha256(encode(data)).hexdigest()[:32] + '"'


def now() -> datetime:
    return datetime.now(UTC)


class TrainingIn(msgspec.Struct):
    subject: str
    instructions: str
    node_id: str | None = None
    current_status: Literal["active", "inactive"] | None = None
    position: int | None = None
    pinned: bool | None = None


class MessageIn(msgspec.Struct):
    role: Literal["user", "assistant"]
    content: str


class RetrieveIn(msgspec.Struct):
    messages: list[MessageIn]
    version: str | int = "published"
    node_id: str | None = None
    top_k: int = 5
    budget_tokens: int | None = None


_training_in = msgspec.json.Decoder(TrainingIn)
_retrieve_in = msgspec.json.Decoder(RetrieveIn)


def valid_training(t: TrainingIn) -> bool:
    return (
        0 < len(t.subject) <= 255
        and 0 < len(t.instructions) <= MAX_INSTRUCTIONS
        and (t.node_id is None or len(t.node_id) <= 255)
        and (t.position is None or -1_000_000 <= t.position <= 1_000_000)
    )


def valid_retrieve(r: RetrieveIn) -> bool:
    return (
        0 < len(r.messages) <= 100
        and all(m.content.strip() and len(m.content) <= 20_000 for m in r.messages)
        and 1 <= r.top_k <= 50
        and (r.budget_tokens is None or 1 <= r.budget_tokens <= 1_000_000)
        and (r.node_id is None or len(r.node_id) <= 255)
    )


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(encode(body), status, headers, media_type="application/json")


def refusal(status: int, message: str) -> Response:
    return answer(status, {"success": False, "message": message})


# --- the database: the same two shapes Cuecard uses -------------------------------------------


class Db:
    """`read`: a query outside any transaction; `transaction`: the write path's one transaction.
    Rows are tuples in the SELECT's column order."""

    async def one(self, sql: str, params: dict[str, Any]) -> Sequence[Any] | None:
        raise NotImplementedError

    async def all(self, sql: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        raise NotImplementedError

    def transaction(self) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class SqliteDb(Db):
    """A reader and a writer connection, WAL + synchronous=NORMAL, a process-wide write lock
    taken before `BEGIN IMMEDIATE`: Cuecard's `SqliteDatabase`."""

    def __init__(self, path: str) -> None:
        self.reader, self.writer = self._connect(path), self._connect(path)
        self.lock = asyncio.Lock()

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    async def one(self, sql: str, params: dict[str, Any]) -> Sequence[Any] | None:
        row: Sequence[Any] | None = self.reader.execute(sql, params).fetchone()
        return row

    async def all(self, sql: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        return self.reader.execute(sql, params).fetchall()

    @asynccontextmanager
    async def transaction(self) -> Any:
        async with self.lock:
            self.writer.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(self.writer)
            except BaseException:
                self.writer.execute("ROLLBACK")
                raise
            self.writer.execute("COMMIT")

    async def close(self) -> None:
        self.reader.close()
        self.writer.close()


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def all(self, sql: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        return self.conn.execute(sql, params).fetchall()

    async def many(self, sql: str, rows: list[dict[str, Any]]) -> None:
        self.conn.executemany(sql, rows)


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return _NAMED.sub(number, sql), tuple(names)


class PostgresDb(Db):
    """An asyncpg pool of the same size as Cuecard's (10 per process); reads take a connection
    each, the write path one connection in one transaction."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._sql: dict[str, tuple[str, tuple[str, ...]]] = {}

    def args(self, sql: str, params: dict[str, Any]) -> list[Any]:
        found = self._sql.get(sql)
        if found is None:
            found = self._sql[sql] = _positional(sql)
        text, names = found
        return [text, *(params[n] for n in names)]

    async def one(self, sql: str, params: dict[str, Any]) -> Sequence[Any] | None:
        async with self.pool.acquire() as conn:
            record: Sequence[Any] | None = await conn.fetchrow(*self.args(sql, params))
            return record

    async def all(self, sql: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(*self.args(sql, params)))

    @asynccontextmanager
    async def transaction(self) -> Any:
        async with self.pool.acquire() as conn, conn.transaction():
            yield _PostgresTx(self, conn)

    async def close(self) -> None:
        await self.pool.close()


class _PostgresTx:
    def __init__(self, db: PostgresDb, conn: asyncpg.Connection) -> None:
        self.db, self.conn = db, conn

    async def all(self, sql: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        return list(await self.conn.fetch(*self.db.args(sql, params)))

    async def many(self, sql: str, rows: list[dict[str, Any]]) -> None:
        text, names = _positional(sql)
        await self.conn.executemany(text, [[row[n] for n in names] for row in rows])


# --- the app ----------------------------------------------------------------------------------


# (token id, environment id, read_only, label) of a bearer token.
Caller = tuple[str, str, bool, str | None]


class State:
    db: Db
    key: bytes
    tokens: dict[str, tuple[Caller | None, float]]
    compiled: dict[tuple[str, int], Compiled]
    vectors: Any


S = State()
S.tokens = {}
S.compiled = {}
S.vectors = None


async def caller(request: Request) -> Caller | None:
    """(token id, environment id, read_only, label) of the bearer token, or None (401)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(PREFIX) or len(token) > 256:
        return None
    digest = hmac.new(S.key, token.encode(), hashlib.sha256).hexdigest()
    entry = S.tokens.get(digest)
    if entry is not None and entry[1] >= time.monotonic():
        return entry[0]
    found = await _lookup(digest)
    if len(S.tokens) >= 10_000:
        S.tokens.clear()
    S.tokens[digest] = (found, time.monotonic() + TOKEN_CACHE_SECONDS)
    return found


async def _lookup(digest: str) -> Caller | None:
    async with S.db.transaction() as tx:
        rows = await tx.all(SQL_TOKEN, {"digest": digest})
        if not rows or not hmac.compare_digest(rows[0][5], digest):
            return None
        row = rows[0]
        used = row[6]
        if isinstance(used, str):
            used = datetime.fromisoformat(used)
        moment = now()
        if used is None or moment - used > LAST_USED_RESOLUTION:
            await tx.all(SQL_TOKEN_USED, {"now": stamp(moment) if _sqlite() else moment,
                                          "id": row[0]})  # fmt: skip
    if row[3]:  # a runtime token: these endpoints are not all runtime-scoped; refused
        return None
    return (row[0], row[1], bool(row[2]), row[4])


def _sqlite() -> bool:
    return isinstance(S.db, SqliteDb)


def _ts(value: datetime) -> Any:
    return stamp(value) if _sqlite() else value


async def scoped(request: Request, who: Caller) -> Sequence[Any] | None:
    agent_id = request.path_params["agent_id"]
    if not UUID.match(agent_id):
        return None
    return await S.db.one(SQL_AGENT, {"id": agent_id.lower(), "env": who[1]})


NOT_FOUND = "Agent not found"


async def authorized(request: Request, *, write: str | None = None
                     ) -> tuple[Caller, Sequence[Any]] | Response:  # fmt: skip
    """The caller and its agent, or the refusal Cuecard gives: 401, 403 for a read-only token on
    a write (`write` is the message), 404 for an agent that is not the caller's."""
    who = await caller(request)
    if who is None:
        return refusal(401, "Unauthenticated.")
    if write is not None and who[2]:
        return refusal(403, write)
    agent = await scoped(request, who)
    if agent is None:
        return refusal(404, NOT_FOUND)
    return who, agent


async def upsert_training(request: Request) -> Response:
    allowed = await authorized(
        request, write="You are not authorized to create training for this agent."
    )
    if isinstance(allowed, Response):
        return allowed
    who, agent = allowed
    try:
        body = _training_in.decode(await request.body())
    except msgspec.DecodeError:
        return refusal(422, "The given data was invalid.")
    if not valid_training(body):
        return refusal(422, "The given data was invalid.")
    try:
        return await _upsert(who, agent[0], body)
    except _TooMany:
        return refusal(422, f"The agent already has the maximum of {MAX_TRAININGS} trainings.")


async def _upsert(who: Caller, agent_id: str, body: TrainingIn
                  ) -> Response:  # fmt: skip
    candidate = str(uuid.uuid4())
    async with S.db.transaction() as tx:
        if not await tx.all(SQL_DRAFT, {"now": _ts(now()), "agent_id": agent_id}):
            return refusal(404, NOT_FOUND)
        row = (
            await tx.all(
                SQL_UPSERT,
                {
                    "id": candidate,
                    "agent_id": agent_id,
                    "node_id": body.node_id,
                    "subject": body.subject,
                    "instructions": body.instructions,
                    "current_status": body.current_status,
                    "position": body.position,
                    "pinned": body.pinned,
                    "now": _ts(now()),
                },
            )
        )[0]
        created = row[0] == candidate
        if created:
            probe = await tx.all(SQL_MORE_THAN, {"agent_id": agent_id, "probe": MAX_TRAININGS + 1})
            if probe[0][0] > MAX_TRAININGS:
                raise _TooMany()
        training = training_json(row)
        changes = {
            k: v
            for k, v in (
                ("node_id", body.node_id), ("subject", body.subject),
                ("instructions", body.instructions), ("current_status", body.current_status),
                ("position", body.position), ("pinned", body.pinned),
            )
            if v is not None
        }  # fmt: skip
        await tx.all(
            SQL_AUDIT,
            {
                "id": str(uuid.uuid4()), "environment_id": who[1], "agent_id": agent_id,
                "token_id": who[0], "token_label": who[3],
                "action": "training.created" if created else "training.updated",
                "target_type": "training", "target_id": training["id"],
                "changes": json.dumps(changes, default=str, separators=(",", ":")),
                "created_at": _ts(now()),
            },
        )  # fmt: skip
        pattern = '%"' + SQL_TRAINED_EVENT.replace("_", "\\_") + '"%'
        hooks = await tx.all(SQL_WEBHOOKS, {"agent": agent_id, "yes": True, "pattern": pattern})
        if hooks:
            moment, event_id = now(), str(uuid.uuid4())
            payload = json.dumps(
                {"event_id": event_id, "event": SQL_TRAINED_EVENT, "timestamp": stamp(moment),
                 "agent_id": agent_id, "training": training, "created": created},
                separators=(",", ":"),
            )  # fmt: skip
            await tx.many(
                SQL_WEBHOOK_LOG,
                [{"id": str(uuid.uuid4()), "webhook": h[0], "event_id": event_id,
                  "event": SQL_TRAINED_EVENT, "payload": payload, "now": _ts(moment)}
                 for h in hooks],
            )  # fmt: skip
    verb = "created" if created else "updated"
    message = f"Agent training {verb} successfully"
    return answer(200, {"success": True, "message": message, "data": training})


class _TooMany(Exception):
    pass


async def list_trainings(request: Request) -> Response:
    allowed = await authorized(request)
    if isinstance(allowed, Response):
        return allowed
    _, agent = allowed
    rows = await S.db.all(SQL_LIST, {"agent_id": agent[0], "limit": MAX_TRAININGS, "offset": 0})
    data = [training_json(r) for r in rows]
    return answer(200, {"success": True, "data": data}, {"ETag": etag(data)})


async def get_agent(request: Request) -> Response:
    allowed = await authorized(request)
    if isinstance(allowed, Response):
        return allowed
    _, agent = allowed
    agent_id = agent[0]
    first = await S.db.all(SQL_LIST, {"agent_id": agent_id, "limit": EMBEDDED + 1, "offset": 0})
    if await S.db.all(SQL_ACTIONS, {"agent_id": agent_id}) or await S.db.all(
        SQL_NUMBERS, {"a0": agent_id}
    ):
        raise NotImplementedError("the reference does not render actions or phone numbers")
    has_prompt = bool((agent[_A["description"]] or "").strip())
    if len(first) <= EMBEDDED:
        count = len(first)
        ready = has_prompt or any(r[5] == "active" for r in first)
    else:
        count_row = await S.db.one(SQL_COUNT, {"agent_id": agent_id})
        count = int(count_row[0]) if count_row else 0
        ready = has_prompt or await S.db.one(SQL_HAS_ACTIVE, {"agent_id": agent_id}) is not None
        first = first[:EMBEDDED]
    data = agent_json(agent, [training_json(r) for r in first], count, ready)
    return answer(200, {"success": True, "data": data}, {"ETag": etag(data)})


async def published(agent: Sequence[Any], selector: str | int) -> tuple[Compiled, int, bool] | None:
    """The compiled version (published or N), from the cache if it can: Cuecard's `_version`."""
    if selector == "published":
        if agent[_A["published_version"]] is None:
            return None
        selector = int(agent[_A["published_version"]])
    key = (agent[0], int(selector))
    compiled = S.compiled.get(key)
    if compiled is not None:
        return compiled, key[1], True
    row = await S.db.one(SQL_SNAPSHOT, {"agent_id": agent[0], "v": key[1]})
    if row is None:
        return None
    compiled = compile_snapshot(read_snapshot(str(row[0])))
    S.compiled[key] = compiled
    return compiled, key[1], False


async def runtime_config(request: Request) -> Response:
    allowed = await authorized(request)
    if isinstance(allowed, Response):
        return allowed
    _, agent = allowed
    version = request.query_params.get("version", "published")
    fmt = Format(request.query_params.get("format", Format.NATIVE.value))
    found = await published(agent, version if version in ("published",) else int(version))
    if found is None:
        return refusal(404, "Version not found")
    compiled, number, hit = found
    headers = {
        "ETag": f'"{compiled.config_hash}"',
        "Cache-Control": "private, no-cache",
        "X-Cuecard-Version": str(number),
        "X-Cuecard-Budget-Mode": compiled.mode.value,
        "X-Cuecard-Cache": "hit" if hit else "miss",
    }
    tags = request.headers.get("if-none-match")
    if tags and any(t.strip().removeprefix("W/").strip('"') in ("*", compiled.config_hash)
                    for t in tags.split(",")):  # fmt: skip
        return Response(status_code=304, headers=headers)
    return Response(compiled.render(fmt), media_type="application/json", headers=headers)


async def retrieve_trainings(request: Request) -> Response:
    allowed = await authorized(request)
    if isinstance(allowed, Response):
        return allowed
    _, agent = allowed
    try:
        body = _retrieve_in.decode(await request.body())
    except msgspec.DecodeError:
        return refusal(422, "The given data was invalid.")
    if not valid_retrieve(body):
        return refusal(422, "The given data was invalid.")
    found = await published(agent, body.version)
    if found is None:
        return refusal(404, "Version not found")
    compiled, number, hit = found
    reused = has_index(compiled)
    await prepare_index(compiled, S.vectors)
    result = retrieve(
        compiled,
        [Turn(m.role, m.content) for m in body.messages],
        node_id=body.node_id,
        top_k=body.top_k,
        budget_tokens=body.budget_tokens,
    )
    data = {
        "success": True,
        "documents": [
            {"training_id": d.block.training_id, "subject": d.block.subject,
             "content": d.block.instructions, "score": d.score}
            for d in result.documents
        ],
        "version": number, "config_hash": compiled.config_hash, "mode": compiled.mode.value,
        "budget_tokens": result.budget_tokens, "used_tokens": result.used_tokens,
    }  # fmt: skip
    return answer(200, data, {"X-Cuecard-Cache": "hit" if hit and reused else "miss"})


async def health(request: Request) -> Response:
    return answer(200, {"status": "ok"})


def make_app(url: str, key: bytes, vectors: Callable[[], Any] | None = None) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        if url.startswith("sqlite:///"):
            S.db = SqliteDb(url.removeprefix("sqlite:///"))
        else:
            S.db = PostgresDb(await asyncpg.create_pool(url, min_size=1, max_size=10))
        S.key = key
        # Vectors a Cuecard process already computed are read from `text_embeddings`, as
        # Cuecard's own processes do: the one-off index build, not the measured request.
        from cuecard.core.db import Database
        from cuecard.runtime.vector_store import VectorStore

        store_db = await Database.connect(url)
        S.vectors = VectorStore(store_db)
        try:
            yield
        finally:
            await store_db.close()
            await S.db.close()

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/api/v1/agents/{agent_id}", get_agent),
            Route("/api/v1/agents/{agent_id}/trainings", list_trainings, methods=["GET"]),
            Route("/api/v1/agents/{agent_id}/trainings", upsert_training, methods=["POST"]),
            Route("/api/v1/agents/{agent_id}/runtime-config", runtime_config),
            Route(
                "/api/v1/agents/{agent_id}/runtime/retrieve", retrieve_trainings, methods=["POST"]
            ),
        ],
        lifespan=lifespan,
    )


def _worker(port: int, url: str, key: bytes) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    config = uvicorn.Config(
        make_app(url, key), loop="uvloop", http="httptools", access_log=False,
        log_level="warning", lifespan="on",
    )  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])


def main(port: int, workers: int, url: str, key: bytes) -> None:
    if workers == 1:
        _worker(port, url, key)
        return
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(port, url, key)) for _ in range(workers)]

    def stop(signum: int, frame: object) -> None:
        for process in processes:
            process.terminate()

    signal.signal(signal.SIGTERM, stop)
    for process in processes:
        process.start()
    for process in processes:
        process.join()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], os.environ["CUECARD_SECRET_KEY"].encode())
