"""How long `cuecard` takes to start, as a ratio to `python -c "import httpx, typer"`.

Issue 8's budget: `cuecard --help` and `cuecard trainings sync --help` within 1.5x of the time
the interpreter needs to import the two libraries the CLI is built on. Every command runs N times
as a fresh process; the rounds are interleaved (each round runs every command once, in a rotated
order) so that a change in the machine's load hits all of them alike. Reports the median and the
90th percentile of each, and the ratio of medians to the baseline.

    .venv/bin/python bench/cli_startup.py             # 30 rounds
    .venv/bin/python bench/cli_startup.py --rounds 60 --json

`cuecard` is the console script next to this interpreter (as `pip install cuecard` installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUDGET = 1.5
SCRIPT = Path(sys.executable).with_name("cuecard")
COMMANDS: dict[str, list[str]] = {
    "baseline: python -c 'import httpx, typer'": [sys.executable, "-c", "import httpx, typer"],
    "cuecard --help": [str(SCRIPT), "--help"],
    "cuecard trainings sync --help": [str(SCRIPT), "trainings", "sync", "--help"],
    # Not in the budget; shown so a regression of the client commands' own start is visible.
    "cuecard trainings list (no server: exits 2)": [
        str(SCRIPT),
        "trainings",
        "list",
        "--agent",
        "a",
    ],
}
BUDGETED = ("cuecard --help", "cuecard trainings sync --help")


def once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - start


def measure(rounds: int) -> dict[str, list[float]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUECARD_")}
    env["COLUMNS"] = "100"
    names = list(COMMANDS)
    times: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm the OS page cache and .pyc files; not counted
        once(COMMANDS[name], env)
    for i in range(rounds):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(once(COMMANDS[name], env))
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
    args = parser.parse_args()
    if not SCRIPT.exists():
        parser.error(f"{SCRIPT} not found: install cuecard into this interpreter's environment")

    times = measure(args.rounds)
    base = statistics.median(times[next(iter(COMMANDS))])
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        rows.append(
            {
                "command": name,
                "median_ms": round(median * 1000, 1),
                "p90_ms": round(percentile(values, 0.9) * 1000, 1),
                "x_baseline": round(median / base, 2),
            }
        )
    within = all(r["x_baseline"] <= BUDGET for r in rows if r["command"] in BUDGETED)
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"rounds": args.rounds, "load": load, "rows": rows, "within": within}))
        return 0 if within else 1
    loads = " ".join(f"{x:.2f}" for x in load)
    print(
        f"{args.rounds} interleaved rounds, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average at the end {loads}"
    )
    print(f"{'command':46} {'median ms':>10} {'p90 ms':>8} {'x baseline':>11}")
    for r in rows:
        print(f"{r['command']:46} {r['median_ms']:>10} {r['p90_ms']:>8} {r['x_baseline']:>11}")
    print(f"budget: the two --help rows <= {BUDGET}x baseline: {'met' if within else 'MISSED'}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
