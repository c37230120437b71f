"""First paint of the dashboard's agent page with 2,000 trainings (issue 13).

A real `cuecard serve` on a fresh SQLite file (or --database-url), an agent with 2,000 trainings
made through the API, and Debian's chromium driven by Playwright. Each run opens the agent page in
a fresh browser context (cold cache) and reads, from the page's own performance timeline:
  - fcp: first-contentful-paint
  - table: time from navigation start until the trainings table shows its first page
The same is measured on an agent with 20 trainings in the same run, so the ratio says what 100x
the trainings costs on this machine, whatever its load.

    .venv/bin/python bench/dashboard_bench.py            # 20 runs per agent
    .venv/bin/python bench/dashboard_bench.py --runs 50 --trainings 5000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from harness import free_port  # noqa: E402
from seed import cli_env  # noqa: E402

CUECARD = str(Path(sys.executable).parent / "cuecard")
CHROMIUM = "/usr/bin/chromium"


def start(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [CUECARD, "serve", "--port", str(port)], env=cli_env(url),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit("cuecard serve did not start")


def seed(base: str, token: str, trainings: int) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=30) as client:
        body = {"name": f"Agent with {trainings} trainings", "description": "You answer calls."}
        agent = client.post("/agents", json=body)
        agent_id: str = agent.json()["data"]["id"]
        for i in range(trainings):
            response = client.post(f"/agents/{agent_id}/trainings", json={
                "node_id": f"node-{i:05}", "subject": f"Topic {i:05}",
                "instructions": f"When the caller asks about topic {i}, explain rule {i} "
                                "in two sentences and offer to send the details by SMS.",
            })  # fmt: skip
            assert response.status_code == 200, response.text
    return agent_id


async def measure(
    base: str, token: str, agent_id: str, runs: int, trainings: int
) -> dict[str, list[float]]:
    from playwright.async_api import async_playwright

    found: dict[str, list[float]] = {"fcp": [], "table": []}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        for _ in range(runs + 1):  # the first run warms the server's caches; not counted
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            # The dashboard reads its token from sessionStorage (what the sign-in form stores).
            await context.add_init_script(f"sessionStorage.setItem('cuecard.token', {token!r})")
            page = await context.new_page()
            await page.goto(f"{base}/#/agents/{agent_id}/trainings")
            await page.locator("#trainings-table tbody tr").first.wait_for()
            table = await page.evaluate("performance.now()")
            fcp = await page.evaluate(
                "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"
            )
            rows = await page.locator("#trainings-table tbody tr").count()
            assert rows == min(50, trainings), rows  # the table's first page
            await context.close()
            if _ == 0:
                continue
            found["fcp"].append(float(fcp))
            found["table"].append(float(table))
        await browser.close()
    return found


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--trainings", type=int, default=2000)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        env = cli_env(url)
        subprocess.run([CUECARD, "init"], env=env, check=True, capture_output=True)
        token = subprocess.run([CUECARD, "tokens", "create", "--environment", "default"],
                               env=env, check=True, capture_output=True, text=True
                               ).stdout.strip()  # fmt: skip
        process, base = start(url)
        try:
            started = time.monotonic()
            big = seed(base, token, args.trainings)
            small = seed(base, token, 20)
            print(f"seeded {args.trainings} + 20 trainings in {time.monotonic() - started:.1f} s")
            results = {
                args.trainings: asyncio.run(measure(base, token, big, args.runs, args.trainings)),
                20: asyncio.run(measure(base, token, small, args.runs, 20)),
            }
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
    print(f"\n{args.runs} cold page loads each (ms since navigation start; chromium, SQLite)\n")
    print("| agent | metric | median | p90 | max |")
    print("|---|---|---|---|---|")
    for count, found in results.items():
        for metric, values in found.items():
            print(f"| {count} trainings | {metric} | {statistics.median(values):.0f} | "
                  f"{pct(values, 0.9):.0f} | {max(values):.0f} |")  # fmt: skip
    for metric in ("fcp", "table"):
        ratio = statistics.median(results[args.trainings][metric]) / statistics.median(
            results[20][metric]
        )
        print(f"{metric}: {args.trainings} trainings / 20 trainings = {ratio:.2f}x (medians)")
    worst = pct(results[args.trainings]["table"], 0.9)
    print(f"target: the table's first page under 1000 ms -> p90 {worst:.0f} ms: "
          f"{'met' if worst < 1000 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
