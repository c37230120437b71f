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
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from request_path import MEASURE, seeded  # the in-process harness, shared

BENCH = Path(__file__).resolve().parent
WORKLOADS = ("config", "get", "list", "upsert")
VARIANTS = ("reference", "fastapi floor", "cuecard, no middleware of ours", "cuecard")


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
        env, ids = seeded(work)
        env["BENCH_DIR"] = str(BENCH)
        workloads = options.workloads.split(",")
        cpu: dict[tuple[str, str], list[float]] = {}
        bodies: dict[tuple[int, str], set[str]] = {}
        for n in range(options.rounds):
            for workload in workloads:
                for variant in VARIANTS:
                    done = subprocess.run(
                        [sys.executable, "-c", MEASURE, workload, str(options.requests),
                         ids["token"], ids["agent"], "0"],
                        env={**env, "BENCH_APP": variant}, capture_output=True, text=True,
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
