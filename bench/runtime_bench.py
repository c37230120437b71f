"""Runtime-config and per-turn retrieve: latency and throughput for agents with 10, 100 and 1,000
trainings.

In process: requests go through the real app (routing, token check, agent lookup, cache, BM25,
JSON) over httpx's ASGI transport, one at a time, with no HTTP server or socket in between. That
isolates what this code costs per request; the over-HTTP numbers under load (uvicorn workers,
wrk) are bench/run.py's. The database is a fresh SQLite file unless --database-url names a
PostgreSQL database (its name must contain "bench": everything in it is dropped).

Per agent size it reports:
- compile: the first runtime-config read of a new draft revision (a cache miss: read the
  trainings, count tokens, render); median of a few fresh revisions.
- config: runtime-config of the published version, served from the cache (p50, p99, req/s).
- config 304: the same with If-None-Match.
- retrieve: POST runtime/retrieve with a two-turn conversation (p50, p99, req/s), index built.
- rank only: the BM25 ranking alone, in process, without HTTP or the database.
Latencies are wall-clock milliseconds (p50, p99) of sequential calls; `cpu` is this process's CPU
milliseconds per call, which other load on a shared machine does not inflate.

Usage: .venv/bin/python bench/runtime_bench.py [--requests 2000] [--database-url URL] [--json F]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from cuecard.app import create_app
from cuecard.auth import service as auth
from cuecard.core.config import Settings
from cuecard.core.migrate import upgrade
from cuecard.runtime.cache import version_key
from cuecard.runtime.retrieval import Turn, retrieve

SIZES = (10, 100, 1000)
# Small enough that every size is over budget, so retrieve ranks every unpinned training.
BUDGET_TOKENS = 300

_TOPICS = (
    "refund", "shipping", "delivery", "invoice", "password", "warranty", "subscription",
    "cancellation", "exchange", "discount", "appointment", "billing", "account", "order",
    "voucher", "store", "repair", "battery", "charger", "installation", "membership", "tracking",
)  # fmt: skip
_SYLLABLES = ("ka", "lo", "mi", "ren", "tu", "sa", "vo", "pel", "dri", "an", "gos", "ti", "mur")


def _vocabulary(size: int = 3000) -> list[str]:
    """Made-up words; drawn with Zipf weights below, like the words of real text."""
    rng = random.Random(0)
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


VOCABULARY = _vocabulary()
ZIPF = [1 / (rank + 1) for rank in range(len(VOCABULARY))]


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(VOCABULARY, weights=ZIPF, k=n))


def corpus(size: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for n in range(size):
        topic = rng.choice(_TOPICS)
        text = f"When asked about {topic}, {words(rng, rng.randint(30, 80))}."
        out.append((f"{topic.capitalize()} {words(rng, 2)} {n:04d}", text))
    return out


def conversation(rng: random.Random) -> list[dict[str, str]]:
    question = f"A question about my {rng.choice(_TOPICS)}: {words(rng, rng.randint(6, 14))}?"
    return [
        {"role": "assistant", "content": "Hello, how can I help you today?"},
        {"role": "user", "content": question},
    ]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(n: int, call: Callable[[int], Awaitable[None]]) -> dict[str, float]:
    """Run `call` n times, one after another; latency in ms and the resulting throughput."""
    samples = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in range(n):
        t0 = time.perf_counter()
        await call(i)
        samples.append((time.perf_counter() - t0) * 1000)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "p50_ms": round(percentile(samples, 0.50), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
        "rps": round(n / elapsed),
        # CPU time of this process per call: what a busy machine's other load cannot inflate
        # (the PostgreSQL server's share is not in it).
        "cpu_ms": round(cpu / n * 1000, 3),
    }


async def reset_postgres(url: str) -> None:
    if "bench" not in url.rsplit("/", 1)[-1]:
        raise SystemExit("--database-url: the database name must contain 'bench' (it is emptied)")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


async def run(database_url: str, requests: int) -> list[dict[str, Any]]:
    settings = Settings(database_url=database_url, env="test", secret_key="bench-secret-key-0123")
    app = create_app(settings)
    results = []
    async with app.router.lifespan_context(app):
        async with app.state.db.transaction() as uow:
            await auth.ensure_environment(uow, "default")
            _, token = await auth.create_token(
                uow, settings.resolved_secret_key(), settings.token_prefix, "default"
            )
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for size in SIZES:
                results.append(await measure(app, client, headers, size, requests))
                print(format_row(results[-1]), file=sys.stderr, flush=True)
    return results


async def measure(
    app: Any, client: httpx.AsyncClient, headers: dict[str, str], size: int, requests: int
) -> dict[str, Any]:
    async def ok(response: Awaitable[httpx.Response], status: int = 200) -> httpx.Response:
        r = await response
        if r.status_code != status:
            raise SystemExit(f"unexpected {r.status_code}: {r.text[:300]}")
        return r

    created = await ok(
        client.post(
            "/api/v1/agents",
            json={"name": f"bench-{size}", "description": "You are a support agent.",
                  "training_budget_tokens": BUDGET_TOKENS},
            headers=headers,
        ),
        201,
    )  # fmt: skip
    agent_id = created.json()["data"]["id"]
    base = f"/api/v1/agents/{agent_id}"
    for subject, instructions in corpus(size, seed=size):
        await ok(
            client.post(
                f"{base}/trainings",
                json={"subject": subject, "instructions": instructions},
                headers=headers,
            )
        )
    await ok(client.post(f"{base}/publish", headers=headers))

    # compile: each round makes a new draft revision (a settings write), then reads it once.
    compile_ms = []
    for round_ in range(5):
        body = {"llm_temperature": 0.5 + round_ / 100}
        await ok(client.patch(base, json=body, headers=headers))
        t0 = time.perf_counter()
        r = await ok(client.get(f"{base}/runtime-config?version=draft", headers=headers))
        compile_ms.append((time.perf_counter() - t0) * 1000)
        assert r.headers["X-Cuecard-Cache"] == "miss"

    config_url = f"{base}/runtime-config?version=published"
    first = await ok(client.get(config_url, headers=headers))
    budget = first.json()["budget"]
    etag = first.headers["ETag"]

    async def get_config(_: int) -> None:
        await ok(client.get(config_url, headers=headers))

    async def get_304(_: int) -> None:
        await ok(client.get(config_url, headers={**headers, "If-None-Match": etag}), 304)

    rng = random.Random(size)
    bodies = [{"messages": conversation(rng), "top_k": 5} for _ in range(200)]
    t0 = time.perf_counter()
    await ok(client.post(f"{base}/runtime/retrieve", json=bodies[0], headers=headers))
    first_retrieve_ms = (time.perf_counter() - t0) * 1000

    async def post_retrieve(i: int) -> None:
        await ok(client.post(f"{base}/runtime/retrieve", json=bodies[i % 200], headers=headers))

    compiled = app.state.runtime_cache.get(version_key(agent_id, 1))
    turns = [[Turn(m["role"], m["content"]) for m in b["messages"]] for b in bodies]

    async def rank_only(i: int) -> None:
        retrieve(compiled, turns[i % 200], top_k=5)

    return {
        "trainings": size,
        "mode": budget["mode"],
        "retrieved_trainings": budget["retrieved_count"],
        "config_bytes": len(first.content),
        "compile_ms": round(statistics.median(compile_ms), 2),
        "config": await timed(requests, get_config),
        "config_304": await timed(requests, get_304),
        "first_retrieve_ms": round(first_retrieve_ms, 2),
        "retrieve": await timed(requests, post_retrieve),
        "rank_only": await timed(requests, rank_only),
    }


def format_row(r: dict[str, Any]) -> str:
    def cell(name: str) -> str:
        m = r[name]
        return f"{m['p50_ms']:>7.3f} {m['p99_ms']:>7.3f} {m['cpu_ms']:>7.3f} {m['rps']:>6}"

    return (
        f"{r['trainings']:>6} {r['mode']:>8} {r['compile_ms']:>9.2f} | {cell('config')} | "
        f"{cell('config_304')} | {r['first_retrieve_ms']:>8.2f} | {cell('retrieve')} | "
        f"{cell('rank_only')}"
    )


HEADER = (
    "trains     mode  compile  |         config (cached)       |          config 304           | "
    "1st retr |           retrieve            |         rank only\n"
    "                       ms |     p50     p99     cpu  req/s |     p50     p99     cpu  req/s | "
    "      ms |     p50     p99     cpu  req/s |     p50     p99     cpu  op/s"
)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per measurement")
    parser.add_argument("--database-url", help="a PostgreSQL URL; default: a temporary SQLite")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        if args.database_url:
            await reset_postgres(url)
        upgrade(url)
        print(HEADER, file=sys.stderr)
        results = await run(url, args.requests)
    backend = "postgresql" if args.database_url else "sqlite"
    report = {"backend": backend, "requests": args.requests, "results": results}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main())
