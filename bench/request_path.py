"""CPU per request of the request path, in process, for this tree against an older commit (A/B).

List trainings (an agent with 20), get agent and a training upsert by node_id are sent straight
to the ASGI app (a real token, SQLite, no network, no client sharing the CPU), for each variant
in turns in one run (machine noise hits all alike); the least CPU per request of each is kept.
Every answer's status is checked, and the variants' list and get bodies must be the same bytes.

    .venv/bin/python bench/request_path.py [--base-rev REV] [--requests N] [--rounds N]
    .venv/bin/python bench/request_path.py --profile list    # cProfile of this tree, top 30

`MEASURE` and `SEED` are the in-process harness of `framework_floor.py` too, which serves the
same requests from other apps (the `BENCH_APP` variable; Cuecard when unset).
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

from observability_overhead import base_source  # a git archive of another commit's src/

SECRET = "bench-secret-key-0123456789"
WORKLOADS = ("list", "get", "upsert")  # and "config" (the published agent's runtime-config)

# Runs in a fresh interpreter per variant, workload and round; prints CPU us per request.
MEASURE = r"""
import asyncio, cProfile, hashlib, json, os, pstats, sys, time

workload, n, token, agent, profile = sys.argv[1], int(sys.argv[2]), *sys.argv[3:6]
BODY = json.dumps({"node_id": "node-0000", "subject": "Refund policy",
                   "instructions": "Confirm the order number first. " * 20}).encode()

def build(variant):
    if variant in ("reference", "fastapi floor"):  # see framework_floor.py
        sys.path.insert(0, os.environ["BENCH_DIR"])
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
    app = build(os.environ.get("BENCH_APP", "cuecard"))
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
        profiler = cProfile.Profile() if profile == "1" else None
        if profiler:
            profiler.enable()
        started = time.process_time()
        for _ in range(n):
            await one()
        spent = time.process_time() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(30)
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


def seeded(work: Path) -> tuple[dict[str, str], dict[str, str]]:
    """A SQLite database in `work` with SEED's agent, and the environment to measure it with
    (a rate limit no run reaches); returns that environment and the token and agent ids."""
    env = {
        **os.environ,
        "CUECARD_DATABASE_URL": f"sqlite:///{work / 'cuecard.db'}",
        "CUECARD_SECRET_KEY": SECRET,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cli = str(Path(sys.executable).parent / "cuecard")
    subprocess.run([cli, "init"], env=env, check=True, capture_output=True)
    subprocess.run(
        [cli, "environments", "update", "default", "--rate-limit", "1000000"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", SEED], env=env, check=True, capture_output=True, text=True
    ).stdout
    ids: dict[str, str] = json.loads(out.splitlines()[-1])
    return env, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-rev", default="HEAD", help="the A of the A/B (default HEAD)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--profile", choices=(*WORKLOADS, "config"), help="profile this tree only")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cuecard-path-bench-"))
    try:
        env, ids = seeded(work)

        def run(variant_env: dict[str, str], workload: str, profile: bool) -> dict[str, str]:
            done = subprocess.run(
                [sys.executable, "-c", MEASURE, workload, str(options.requests), ids["token"],
                 ids["agent"], "1" if profile else "0"],
                env=variant_env, capture_output=True, text=True,
            )  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(done.stderr[-3000:])
            if profile:
                print(done.stderr[-20000:])
            result: dict[str, str] = json.loads(done.stdout.splitlines()[-1])
            return result

        if options.profile:
            print(run(env, options.profile, True))
            return
        variants = {
            f"base ({options.base_rev})": {
                **env,
                "PYTHONPATH": str(base_source(options.base_rev, work / "base")),
            },
            "this tree": env,
        }
        workloads = options.workloads.split(",")
        cpu: dict[tuple[str, str], list[float]] = {}
        bodies: dict[tuple[int, str], set[str]] = {}
        for n in range(options.rounds):
            for workload in workloads:
                for name, variant_env in variants.items():
                    out = run(variant_env, workload, False)
                    cpu.setdefault((workload, name), []).append(float(out["cpu_us"]))
                    if out["body"]:
                        bodies.setdefault((n, workload), set()).add(out["body"])
        print(
            f"in-process (ASGI), SQLite, {options.requests} requests per round, least CPU of "
            f"{options.rounds} rounds (variants interleaved)"
        )
        for workload in workloads:
            base = min(cpu[(workload, next(iter(variants)))])
            for name in variants:
                least = min(cpu[(workload, name)])
                shown = ", ".join(f"{v:.0f}" for v in cpu[(workload, name)])
                print(
                    f"  {workload:7} {name:22} {least:6.0f} us CPU/request "
                    f"({least / base:.2f}x)  [{shown}]"
                )
        # Within a round (upserts change timestamps between rounds) the variants' list and get
        # answers must be the same bytes.
        same = all(len(seen) == 1 for seen in bodies.values())
        print(f"  list/get bodies of the variants: {'identical' if same else 'DIFFERENT'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
