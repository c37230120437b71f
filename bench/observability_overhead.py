"""What the access log, the metrics and the timed database cost per request.

`GET /api/v1/agents` (10 agents, a real token, SQLite) is sent straight to the ASGI app in one
process, so no network or client shares the measured CPU, for three variants measured in turns in
one run (machine noise hits all alike; the least CPU of each is kept):
- `before`: the source of the commit before issue 14 (no access log, no metrics), same venv;
- `no-access-log`: this tree with CUECARD_ACCESS_LOG=false (metrics and the timed database on);
- `default`: this tree as shipped (a JSON access line per request to a file, metrics).

    .venv/bin/python bench/observability_overhead.py [--base-rev REV] [--requests N] [--rounds N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-0123456789"

# Runs in a fresh interpreter per variant and round; prints CPU microseconds per request.
MEASURE = r"""
import asyncio, json, logging, sys, time
from cuecard.app import create_app
from cuecard.auth import service as auth
from cuecard.core.config import Settings

settings = Settings.from_env()
try:
    from cuecard.core.logs import configure_logging
    configure_logging(settings, open(sys.argv[2], "a"))
except ImportError:
    pass  # before: uvicorn's access log was off by default, nothing to configure

async def main() -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.db.transaction() as uow:
            _, token = await auth.create_token(
                uow, settings.resolved_secret_key(), settings.token_prefix, "default"
            )
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": "/api/v1/agents", "raw_path": b"/api/v1/agents",
            "query_string": b"", "root_path": "", "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 5000),
            "headers": [(b"host", b"x"), (b"authorization", f"Bearer {token}".encode())],
        }
        statuses = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        async def one():
            await app(dict(scope, state={}), receive, send)

        for _ in range(300):
            await one()
        n = int(sys.argv[1])
        started = time.process_time()
        for _ in range(n):
            await one()
        spent = time.process_time() - started
        assert set(statuses) == {200}, set(statuses)
        print(json.dumps({"cpu_us": spent / n * 1e6}))

asyncio.run(main())
"""


def base_source(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-rev", default="ba19630")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cuecard-obs-bench-"))
    try:
        db = work / "cuecard.db"
        env = {
            **os.environ,
            "CUECARD_DATABASE_URL": f"sqlite:///{db}",
            "CUECARD_SECRET_KEY": SECRET,
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        cli = str(Path(sys.executable).parent / "cuecard")
        subprocess.run([cli, "init"], env=env, check=True, capture_output=True)
        subprocess.run([sys.executable, "-c", SEED], env=env, check=True, capture_output=True)
        variants = {
            "before": {**env, "PYTHONPATH": str(base_source(options.base_rev, work / "base"))},
            "no-access-log": {**env, "CUECARD_ACCESS_LOG": "false"},
            "default": env,
        }
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        log = work / "access.log"
        for _ in range(options.rounds):
            for name, variant_env in variants.items():
                out = subprocess.run(
                    [sys.executable, "-c", MEASURE, str(options.requests), str(log)],
                    env=variant_env, check=True, capture_output=True, text=True,
                ).stdout  # fmt: skip
                cpu[name].append(json.loads(out.splitlines()[-1])["cpu_us"])
        least = {name: min(values) for name, values in cpu.items()}
        print(
            f"GET /api/v1/agents in-process (ASGI), {options.requests} requests, "
            f"least of {options.rounds} rounds"
        )
        for name in variants:
            shown = ", ".join(f"{v:.0f}" for v in cpu[name])
            ratio = least[name] / least["before"]
            print(f"  {name:14} {least[name]:6.0f} us CPU/request ({ratio:.2f}x)  [{shown}]")
        lines = sum(1 for _ in log.open()) if log.exists() else 0
        print(f"  access-log lines written: {lines:,}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


SEED = r"""
import asyncio
import httpx
from cuecard.app import create_app
from cuecard.auth import service as auth
from cuecard.core.config import Settings

async def main() -> None:
    settings = Settings.from_env()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.db.transaction() as uow:
            _, token = await auth.create_token(
                uow, settings.resolved_secret_key(), settings.token_prefix, "default"
            )
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        client = httpx.AsyncClient(transport=transport, base_url="http://x", headers=headers)
        async with client as c:
            for i in range(10):
                (await c.post("/api/v1/agents", json={"name": f"Agent {i}"})).raise_for_status()

asyncio.run(main())
"""

if __name__ == "__main__":
    main()
