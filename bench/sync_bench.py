"""How long `cuecard trainings sync` takes for 1,000 files: from scratch, unchanged, one edit.

It starts `cuecard serve` on a temporary SQLite database and a free loopback port, creates a
token with `cuecard tokens create`, writes N Markdown files (~1 KB each, in 10 folders) and times
the `cuecard trainings sync` command as a user runs it (a new process each time, so Python's
start-up is included), each round on a fresh agent. The unchanged run must write nothing: the
script checks that the server's draft revision did not move, and fails otherwise.

    .venv/bin/python bench/sync_bench.py [--files 1000] [--concurrency 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
CUECARD = str(BIN / "cuecard")
PARAGRAPH = (
    "When a caller asks about this topic, answer in two or three short sentences, confirm the "
    "details back to them, and offer to send a summary by email. Never promise what the policy "
    "does not allow; escalate to a human when the caller insists. "
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one command, and its stdout."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, _children_cpu() - cpu_before, done.stdout


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_files(root: Path, count: int) -> None:
    for i in range(count):
        path = root / f"topic-{i % 10}" / f"training-{i:04d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        front = f"---\nposition: {i}\n---\n" if i % 5 == 0 else ""
        path.write_text(f"{front}# Topic {i}\n\n{PARAGRAPH * 4}\nReference {i}.\n")


def draft_revision(db: Path, agent_id: str) -> int:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT draft_revision FROM agents WHERE id = ?", (agent_id,)).fetchone()
    return int(row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    times: dict[str, list[tuple[float, float]]] = defaultdict(list)

    with tempfile.TemporaryDirectory(prefix="cuecard-sync-bench-") as tmp:
        work = Path(tmp)
        db = work / "cuecard.db"
        env = {
            **os.environ,
            "CUECARD_DATABASE_URL": f"sqlite:///{db}",
            "CUECARD_SECRET_KEY": "sync-bench-secret-key-0123456789",
        }
        run([CUECARD, "init"], env)
        run([CUECARD, "environments", "update", "default", "--rate-limit", "1000000"], env)
        _, _, token = run([CUECARD, "tokens", "create", "--environment", "default"], env)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [CUECARD, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("cuecard serve did not start")
                time.sleep(0.05)

            client_env = {**env, "CUECARD_URL": url, "CUECARD_TOKEN": token.strip()}
            headers = {"Authorization": f"Bearer {token.strip()}"}
            folder = work / "trainings"
            write_files(folder, options.files)
            for round_ in range(options.repeat):
                agent = httpx.post(
                    f"{url}/api/v1/agents", json={"name": f"Bench {round_}"}, headers=headers
                )
                agent_id = agent.json()["data"]["id"]
                sync = [
                    CUECARD, "trainings", "sync", str(folder), "--agent", agent_id,
                    "--concurrency", str(options.concurrency),
                ]  # fmt: skip

                wall, cpu, out = run(sync, client_env)
                assert f"Done: {options.files} created" in out, out
                times["from scratch"].append((wall, cpu))
                revision = draft_revision(db, agent_id)
                wall, cpu, out = run(sync, client_env)
                assert f"{options.files} unchanged" in out and "nothing was written" in out, out
                assert draft_revision(db, agent_id) == revision, "the unchanged sync wrote"
                times["unchanged"].append((wall, cpu))
                edited = folder / "topic-3" / "training-0003.md"
                edited.write_text(edited.read_text() + f"Edit {round_}.\n")
                wall, cpu, out = run(sync, client_env)
                assert "Done: 0 created, 1 updated" in out, out
                times["one file edited"].append((wall, cpu))
                wall, cpu, _ = run([CUECARD, "--help"], client_env)
                times["`cuecard --help`"].append((wall, cpu))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    print(
        f"cuecard trainings sync: {options.files} files (~1 KB each), concurrency "
        f"{options.concurrency}, `cuecard serve` on SQLite with 1 worker, {os.cpu_count()} cores; "
        f"median of {options.repeat} (min), wall seconds; CPU = the sync process's own CPU"
    )
    for label, samples in times.items():
        walls = [w for w, _ in samples]
        cpu = statistics.median(c for _, c in samples)
        line = (
            f"  {label:<18} {statistics.median(walls):6.2f} s ({min(walls):.2f})  CPU {cpu:.2f} s"
        )
        if label == "from scratch":
            line += f"  = {options.files / statistics.median(walls):,.0f} trainings/s"
        print(line)


if __name__ == "__main__":
    main()
