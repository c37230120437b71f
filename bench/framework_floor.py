"""How close to the same-work reference any use of FastAPI can come: the framework's floor.

The reference's own handlers (`reference_app.py`: raw Starlette, msgspec, stdlib sqlite3) are
served three ways, in process (straight to the ASGI app, a real token, SQLite, no network):

- `reference`: as `make bench` serves them, a raw Starlette app;
- `fastapi floor`: the very same handlers, unchanged, as FastAPI routes (`add_api_route`, the
  handler takes the `Request`, returns a `Response`): no dependency, no model, no middleware of
  ours; the least FastAPI can do. Nothing a "leaner use of FastAPI" removes is left in it;
- `cuecard` and `cuecard, no middleware of ours`: the app as shipped, and with its own five ASGI
  middlewares taken off (what is left is FastAPI's routing and dependencies and our code).

Each variant and workload runs in a fresh interpreter, in turns, several rounds (machine noise
hits all alike); the least CPU per request of each is kept. Every answer's status is checked and
the GET bodies of all variants must be the same bytes. In-process CPU leaves out the HTTP server
(uvicorn, httptools), which `make bench` charges to both sides alike; `--server-us` adds an
estimate of it back to turn the in-process ratio into the ratio `make bench` would see.

    .venv/bin/python bench/framework_floor.py [--requests N] [--rounds N] [--server-us US]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SECRET = "bench-secret-key-0123456789"
WORKLOADS = ("config", "get", "list", "upsert")
VARIANTS = ("reference", "fastapi floor", "cuecard, no middleware of ours", "cuecard")

# Runs in a fresh interpreter per variant, workload and round; prints CPU us per request.
MEASURE = r"""
import asyncio, hashlib, json, os, sys, time
sys.path.insert(0, os.environ["BENCH_DIR"])
variant, workload, n, token, agent = sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:6]
BODY = json.dumps({"node_id": "node-0000", "subject": "Refund policy",
                   "instructions": "Confirm the order number first. " * 20}).encode()


def build():
    if variant in ("reference", "fastapi floor"):
        import reference_app
        reference = reference_app.make_app(
            os.environ["CUECARD_DATABASE_URL"], os.environ["CUECARD_SECRET_KEY"].encode())
        if variant == "reference":
            return reference
        from fastapi import FastAPI
        app = FastAPI(lifespan=reference.router.lifespan_context, openapi_url=None,
                      docs_url=None, redoc_url=None,
                      telemetry={"tracing": False, "metrics": False, "logs": False})
        for route in reference.routes:
            app.add_api_route(route.path, route.endpoint, methods=sorted(route.methods))
        return app
    from cuecard.app import create_app
    from cuecard.core.config import Settings
    app = create_app(Settings.from_env())
    if variant == "cuecard, no middleware of ours":
        app.user_middleware.clear()
    return app


async def main() -> None:
    app = build()
    async with app.router.lifespan_context(app):
        path = f"/api/v1/agents/{agent}" + {"get": "", "list": "/trainings",
                                             "upsert": "/trainings",
                                             "config": "/runtime-config"}[workload]
        method = "POST" if workload == "upsert" else "GET"
        headers = [(b"host", b"x"), (b"authorization", f"Bearer {token}".encode())]
        if method == "POST":
            headers += [(b"content-type", b"application/json"),
                        (b"content-length", str(len(BODY)).encode())]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
            "headers": headers,
        }
        statuses, last = [], []

        async def receive():
            return {"type": "http.request", "body": BODY if method == "POST" else b"",
                    "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
                last[:] = []
            elif message["type"] == "http.response.body":
                last.append(message.get("body", b""))

        async def one():
            await app(dict(scope, state={}), receive, send)

        for _ in range(200):
            await one()
        started = time.process_time()
        for _ in range(n):
            await one()
        spent = time.process_time() - started
        assert set(statuses) == {200}, set(statuses)
        body = b"".join(last)
        print(json.dumps({"cpu_us": spent / n * 1e6,
                          "body": hashlib.sha256(body).hexdigest() if method == "GET" else ""}))

asyncio.run(main())
"""

# The data: one agent with 20 trainings, published (runtime-config answers from the cache).
SEED = r"""
import asyncio, json
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
        async with httpx.AsyncClient(transport=transport, base_url="http://x",
                                     headers=headers) as c:
            agent = (await c.post("/api/v1/agents", json={"name": "Bench"})).json()["data"]["id"]
            for i in range(20):
                r = await c.post(f"/api/v1/agents/{agent}/trainings", json={
                    "node_id": f"node-{i:04d}", "subject": f"Topic {i}",
                    "instructions": "When the caller asks, confirm the order number. " * 10})
                r.raise_for_status()
            (await c.post(f"/api/v1/agents/{agent}/publish")).raise_for_status()
    print(json.dumps({"token": token, "agent": agent}))

asyncio.run(main())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument(
        "--server-us",
        type=float,
        default=100.0,
        help="the HTTP server's CPU per request, added to both sides for the make-bench estimate",
    )
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cuecard-floor-bench-"))
    try:
        env = {
            **os.environ,
            "CUECARD_DATABASE_URL": f"sqlite:///{work / 'cuecard.db'}",
            "CUECARD_SECRET_KEY": SECRET,
            "BENCH_DIR": str(BENCH),
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        cli = str(Path(sys.executable).parent / "cuecard")
        subprocess.run([cli, "init"], env=env, check=True, capture_output=True)
        subprocess.run(
            [cli, "environments", "update", "default", "--rate-limit", "1000000"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        seeded = subprocess.run(
            [sys.executable, "-c", SEED], env=env, check=True, capture_output=True, text=True
        ).stdout
        ids = json.loads(seeded.splitlines()[-1])
        workloads = options.workloads.split(",")
        cpu: dict[tuple[str, str], list[float]] = {}
        bodies: dict[tuple[int, str], set[str]] = {}
        for n in range(options.rounds):
            for workload in workloads:
                for variant in VARIANTS:
                    done = subprocess.run(
                        [sys.executable, "-c", MEASURE, variant, workload, str(options.requests),
                         ids["token"], ids["agent"]],
                        env=env, capture_output=True, text=True,
                    )  # fmt: skip
                    if done.returncode != 0:
                        raise SystemExit(f"{variant} {workload}:\n{done.stderr[-3000:]}")
                    out = json.loads(done.stdout.splitlines()[-1])
                    cpu.setdefault((workload, variant), []).append(float(out["cpu_us"]))
                    if out["body"]:
                        bodies.setdefault((n, workload), set()).add(out["body"])
        print(
            f"in-process (ASGI), SQLite, {options.requests} requests per round, least CPU of "
            f"{options.rounds} rounds (variants interleaved); x ref = the reference's CPU per "
            f"request / the variant's; 'with server' adds {options.server_us:.0f} us to both"
        )
        print(f"  {'workload':8} {'variant':31} {'us/req':>7} {'x ref':>6} {'with server':>11}")
        for workload in workloads:
            ref = min(cpu[(workload, "reference")])
            for variant in VARIANTS:
                least = min(cpu[(workload, variant)])
                served = (ref + options.server_us) / (least + options.server_us)
                print(
                    f"  {workload:8} {variant:31} {least:7.0f} {ref / least:6.2f} {served:11.2f}"
                    f"   [{', '.join(f'{v:.0f}' for v in cpu[(workload, variant)])}]"
                )
        same = all(len(seen) == 1 for seen in bodies.values())
        print(f"  GET bodies of the variants: {'identical' if same else 'DIFFERENT'}")
        if not same:
            raise SystemExit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
