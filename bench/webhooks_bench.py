"""Webhook delivery: events per second one worker delivers, and commit-to-delivery latency.

    .venv/bin/python bench/webhooks_bench.py                  # SQLite
    .venv/bin/python bench/webhooks_bench.py --postgres URL   # also PostgreSQL (a *bench* db)

Throughput: N deliveries are queued by the real outbox (`emit`, one transaction), then one
`DeliveryWorker` drains them to a receiver on 127.0.0.1 that answers 200 at once; events/s is
N over the drain time. Latency: a real `cuecard serve` (one process, its worker inside) gets
training upserts at a steady rate; each payload's `timestamp` is taken inside the transaction
that commits the change, the receiver notes when the delivery arrives; the difference is
reported as p50 / p99 (an upper bound of commit-to-delivery: it also holds the rest of the
request's transaction). The receiver is a separate process, so its work is not counted as the
worker's, but it shares the 2-core machine with everything else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "src"))

from cuecard.auth import service as auth  # noqa: E402
from cuecard.core.config import Settings  # noqa: E402
from cuecard.core.db import Database, new_id  # noqa: E402
from cuecard.core.migrate import upgrade  # noqa: E402
from cuecard.webhooks.delivery import DeliveryWorker  # noqa: E402
from cuecard.webhooks.outbox import emit  # noqa: E402

SECRET = "bench-secret-key-0123456789"


# --- the receiver (run as a subprocess: `webhooks_bench.py --receiver PORT FILE`) -------------


async def _receiver(port: int, out: Path) -> None:
    sink = out.open("a", buffering=1)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                now = time.time()
                payload = json.loads(body)
                sink.write(f"{payload.get('event_id')}\t{payload.get('timestamp')}\t{now}\n")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception as exc:  # a bench receiver: say what broke, keep serving
            print(f"receiver: {exc!r}", file=sys.stderr)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def start_receiver(port: int, out: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--receiver", str(port), str(out)], start_new_session=True
    )
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the receiver did not start")


def received(out: Path) -> list[tuple[str, str, float]]:
    rows = []
    for line in out.read_text().splitlines():
        event_id, stamp, at = line.split("\t")
        rows.append((event_id, stamp, float(at)))
    return rows


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- setup ------------------------------------------------------------------------------------


async def _prepare(url: str, receiver_url: str) -> tuple[str, str]:
    """An environment, a token, an agent and a webhook on every config event; (agent id, token)."""
    settings = Settings(database_url=url, secret_key=SECRET, allow_private_targets=True)
    db = await Database.connect(url)
    try:
        async with db.transaction() as uow:
            await auth.ensure_environment(uow, "default")
            caller_info, token = await auth.create_token(
                uow,
                settings.resolved_secret_key(),
                settings.token_prefix,
                "default",
                label="bench",
            )
            env = await auth.get_environment(uow, "default")
            from cuecard.agent_api import service as agents
            from cuecard.agent_api.schemas import AgentCreate
            from cuecard.auth.service import Caller
            from cuecard.webhooks import service as webhooks
            from cuecard.webhooks.schemas import WebhookCreate

            caller = Caller(caller_info.id, env.id, False)
            agent = await agents.create_agent(uow, caller, AgentCreate(name="bench"))
            row = await uow.one("SELECT * FROM agents WHERE id = :id", {"id": agent.id})
            await webhooks.create_webhook(
                uow,
                caller,
                settings,
                settings.resolved_secret_key(),
                row,
                WebhookCreate(
                    name="bench",
                    webhook_url=receiver_url,
                    webhook_secret="s",
                    events=["event_training_updated"],
                ),
            )
        return agent.id, token
    finally:
        await db.close()


async def throughput(url: str, count: int) -> dict[str, Any]:
    port = free_port()
    out = Path(tempfile.mkdtemp()) / "received.tsv"
    receiver = start_receiver(port, out)
    try:
        agent_id, _ = await _prepare(url, f"http://127.0.0.1:{port}/hook")
        settings = Settings(database_url=url, secret_key=SECRET, allow_private_targets=True)
        db = await Database.connect(url)
        async with db.transaction() as uow:
            for i in range(count):
                await emit(
                    uow, agent_id, "event_training_updated", {"training": {"id": new_id(), "n": i}}
                )
        worker = DeliveryWorker(db, settings, settings.resolved_secret_key())
        started = time.perf_counter()
        sent = await worker.run_once()
        elapsed = time.perf_counter() - started
        await worker.close()
        async with db.transaction() as uow:
            statuses = await uow.all(
                "SELECT status, error, COUNT(*) AS n FROM webhook_logs GROUP BY status, error"
            )
        await db.close()
        if any(row["status"] != "success" for row in statuses):
            print(f"not delivered at once: {statuses}", file=sys.stderr)
        assert sent == count, (sent, count)
        lines = received(out)
        got = len({r[0] for r in lines})
        assert got == count, f"the receiver got {got} of {count}"
        return {
            "deliveries": count,
            "seconds": round(elapsed, 2),
            "events_per_second": round(count / elapsed),
        }
    finally:
        os.killpg(receiver.pid, signal.SIGTERM)


async def latency(url: str, count: int, rate: float, poll: float) -> dict[str, Any]:
    port, api_port = free_port(), free_port()
    out = Path(tempfile.mkdtemp()) / "received.tsv"
    receiver = start_receiver(port, out)
    agent_id, token = await _prepare(url, f"http://127.0.0.1:{port}/hook")
    env = {
        **os.environ,
        "CUECARD_DATABASE_URL": url,
        "CUECARD_SECRET_KEY": SECRET,
        "CUECARD_ALLOW_PRIVATE_TARGETS": "true",
        "CUECARD_WEBHOOK_POLL_SECONDS": str(poll),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "cuecard.cli", "serve", "--port", str(api_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{api_port}"
    try:
        async with httpx.AsyncClient(
            base_url=base, timeout=10, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            for _ in range(200):
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            for i in range(count):
                response = await client.post(
                    f"/api/v1/agents/{agent_id}/trainings",
                    json={"node_id": f"n{i % 50}", "subject": "s", "instructions": f"i{i}"},
                )
                assert response.status_code == 200
                await asyncio.sleep(1 / rate)
        deadline = time.monotonic() + 30
        while len(received(out)) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        rows = received(out)
        delays = [
            (at - datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()) * 1000
            for _, stamp, at in rows
        ]
        return {
            "events": len(rows),
            "poll_seconds": poll,
            "rate_per_second": rate,
            "p50_ms": round(statistics.median(delays), 1),
            "p99_ms": round(percentile(delays, 99), 1),
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
        os.killpg(receiver.pid, signal.SIGTERM)


def _fresh(kind: str, postgres: str | None) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    else:
        assert postgres and "bench" in postgres, "the PostgreSQL database name must contain bench"
        import asyncpg

        async def reset() -> None:
            conn = await asyncpg.connect(postgres)
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            await conn.close()

        asyncio.run(reset())
        url = postgres
    upgrade(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="a PostgreSQL URL whose database name has 'bench'")
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--receiver", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        asyncio.run(_receiver(int(args.receiver[0]), Path(args.receiver[1])))
        return
    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    results: dict[str, Any] = {}
    for kind in kinds:
        results[kind] = {
            "throughput": asyncio.run(throughput(_fresh(kind, args.postgres), args.deliveries)),
            "latency": [
                asyncio.run(latency(_fresh(kind, args.postgres), args.events, args.rate, poll))
                for poll in (0.2, 0.05)
            ],
        }
        print(json.dumps({kind: results[kind]}), flush=True)


if __name__ == "__main__":
    main()
