"""Per-token rate limits: fixed one-minute windows, counted where every server sees them.

- One machine (any number of worker processes or `cuecard serve` instances on the same
  database): the counters live in a small memory-mapped file beside the SQLite database or in
  the system's temporary directory (or CUECARD_RATE_LIMIT_DIR), updated under a file lock:
  atomic across processes, no service to run. The file holds counters and token-id hashes only.
- Several machines: CUECARD_REDIS_URL points every server at one Redis; INCR + EXPIRE there.

A limiter that cannot count (the temporary directory is full, Redis is down) lets the request
through and logs it: the limit protects the service, it must not become a way to take it down.
If Redis is down the machine's own counters take over until it answers again.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import mmap
import os
import struct
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
    """Counters shared by every process of this machine through one memory-mapped file.

    The file is a fixed table of slots (key digest, window, count) probed by the key's hash,
    each hit done under an exclusive `lockf` of the file: two system calls, a few microseconds
    (a SQLite file for the same job cost ~100 us a request). A slot whose window is over is
    reused. If every probed slot is busy the hit is not counted (logged), never refused.
    """

    SLOTS = 4096  # 128 KiB: far more tokens than one machine sees in a minute
    PROBES = 32
    _SLOT = struct.Struct("<16sqq")  # blake2b-128 of the key, window, count

    def __init__(self, path: Path) -> None:
        self.path = path
        self._map: mmap.mmap | None = None
        self._fd = -1

    @classmethod
    def for_deployment(cls, database_url: str, directory: str | None = None) -> LocalRateLimiter:
        """One file per database, so the servers of one deployment share it: beside a SQLite
        file (every process using it is on this machine), else in the temporary directory."""
        digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
        if directory is None and database_url.startswith("sqlite:///"):
            directory = str(Path(database_url.removeprefix("sqlite:///")).parent)
        folder = Path(directory or tempfile.gettempdir())
        return cls(folder / f"cuecard-ratelimit-{digest}.bin")

    def _open(self) -> mmap.mmap:
        if self._map is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            size = self.SLOTS * self._SLOT.size
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size < size:
                    # Real blocks, zero-filled (every slot free): a sparse page written through
                    # the mapping on a full disk would kill the process with SIGBUS.
                    os.posix_fallocate(fd, 0, size)
                self._map = mmap.mmap(fd, size)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
        return self._map

    async def _count(self, key: str, window: int) -> int | None:
        digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
        first = int.from_bytes(digest[:8], "little") % self.SLOTS
        try:
            table = self._open()
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
            try:
                return self._increment(table, digest, first, window)
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)
        except OSError as exc:
            log.warning("rate limit not counted (%s): %s", self.path, exc)
            self._close()
            return None

    def _increment(self, table: mmap.mmap, digest: bytes, first: int, window: int) -> int | None:
        slot = self._SLOT
        free = -1
        for probe in range(self.PROBES):
            offset = ((first + probe) % self.SLOTS) * slot.size
            owner, seen_window, count = slot.unpack_from(table, offset)
            if owner == digest:
                count = count + 1 if seen_window == window else 1
                slot.pack_into(table, offset, digest, window, count)
                return int(count)
            if free < 0 and seen_window < window:  # empty (0) or from an earlier minute
                free = offset
        if free < 0:
            log.warning("rate limit table full (%s): request not counted", self.path)
            return None
        slot.pack_into(table, free, digest, window, 1)
        return 1

    def _close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

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
