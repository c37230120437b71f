"""Per-token rate limits: fixed one-minute windows, counted where every server sees them.

- One machine (any number of worker processes or `cuecard serve` instances on the same
  database): the counters live in a small SQLite file of their own under the system's temporary
  directory (or CUECARD_RATE_LIMIT_DIR). One `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` per
  request, atomic across processes, no service to run. The file holds nothing but counters.
- Several machines: CUECARD_REDIS_URL points every server at one Redis; INCR + EXPIRE there.

A limiter that cannot count (the temporary directory is full, Redis is down) lets the request
through and logs it: the limit protects the service, it must not become a way to take it down.
If Redis is down the machine's own counters take over until it answers again.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("cuecard.ratelimit")

WINDOW_SECONDS = 60
_REDIS_RETRY_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Decision:
    limit: int
    remaining: int
    reset_at: int  # Unix time (seconds) when the window ends
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }

    def retry_after(self, now: float | None = None) -> int:
        return max(1, int(self.reset_at - (time.time() if now is None else now) + 0.999))


def _decide(count: int | None, limit: int, window: int) -> Decision:
    reset_at = (window + 1) * WINDOW_SECONDS
    if count is None:  # could not count: let it through
        return Decision(limit, limit, reset_at, True)
    return Decision(limit, max(0, limit - count), reset_at, count <= limit)


class RateLimiter(ABC):
    async def hit(self, key: str, limit: int) -> Decision:
        """Count one request for `key` in the current window and say whether it may pass."""
        window = int(time.time() // WINDOW_SECONDS)
        return _decide(await self._count(key, window), limit, window)

    @abstractmethod
    async def _count(self, key: str, window: int) -> int | None: ...

    async def close(self) -> None:
        return None


class LocalRateLimiter(RateLimiter):
    """Counters shared by every process of this machine through one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._hits = 0

    @classmethod
    def for_deployment(cls, database_url: str, directory: str | None = None) -> LocalRateLimiter:
        # One file per database: the servers of one deployment share it, tests never do.
        digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
        folder = Path(directory or tempfile.gettempdir())
        return cls(folder / f"cuecard-ratelimit-{digest}.db")

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # Counters need no durability: losing the last minute's counts on a crash is fine.
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA busy_timeout=1000")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, window INTEGER NOT NULL, "
                "count INTEGER NOT NULL, PRIMARY KEY (key, window)) WITHOUT ROWID"
            )
            self._conn = conn
        return self._conn

    async def _count(self, key: str, window: int) -> int | None:
        # Inline on the event loop, like the SQLite request path: tens of microseconds.
        try:
            conn = self._connect()
            (count,) = conn.execute(
                "INSERT INTO hits (key, window, count) VALUES (?, ?, 1) "
                "ON CONFLICT (key, window) DO UPDATE SET count = count + 1 RETURNING count",
                (key, window),
            ).fetchone()
            self._hits += 1
            if self._hits % 1000 == 0:
                conn.execute("DELETE FROM hits WHERE window < ?", (window - 1,))
            return int(count)
        except sqlite3.Error as exc:
            log.warning("rate limit not counted (%s): %s", self.path, exc)
            self._close()
            return None

    def _close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    async def close(self) -> None:
        self._close()


class RedisRateLimiter(RateLimiter):
    """Counters in Redis, shared by every server that points at it."""

    def __init__(self, url: str, fallback: RateLimiter) -> None:
        import redis.asyncio as redis  # only servers configured with Redis import it

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._fallback = fallback
        self._down_until = 0.0

    async def _count(self, key: str, window: int) -> int | None:
        if time.monotonic() < self._down_until:
            return await self._fallback._count(key, window)
        name = f"cuecard:rl:{key}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, WINDOW_SECONDS * 2)
                count, _ = await pipe.execute()
            return int(count)
        except Exception as exc:  # any Redis failure: count on this machine meanwhile
            log.warning("Redis rate limit unavailable, counting locally: %s", exc)
            self._down_until = time.monotonic() + _REDIS_RETRY_SECONDS
            return await self._fallback._count(key, window)

    async def close(self) -> None:
        await self._redis.aclose()
        await self._fallback.close()


def build_limiter(database_url: str, redis_url: str | None, directory: str | None) -> RateLimiter:
    local = LocalRateLimiter.for_deployment(database_url, directory)
    return RedisRateLimiter(redis_url, local) if redis_url else local
