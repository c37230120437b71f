"""Servers, wrk and memory sampling for bench/run.py.

Every server runs in a session of its own and is stopped through that session's process group,
so nothing else on the machine is touched.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
LUA = BENCH / "lua"
VENV_BIN = Path(sys.executable).parent


def ensure_wrk() -> str:
    """wrk from Debian, installed on first use (the bench is the only thing that needs it)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing the Debian package (apt-get install -y wrk)", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        done = subprocess.run([*sudo, *step], check=False, stdout=subprocess.DEVNULL)
        if done.returncode != 0 and step[1] == "install":
            raise SystemExit("could not install wrk; install it with: apt-get install -y wrk")
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is still not on PATH after installing it")
    return found


# One worker's server runs on the first of these CPUs and wrk on the second, as the issue
# measured it: on two cores left to the scheduler, a publish's threads and file writes took
# wrk's core for 100-200 ms at a time and its p99 grew tenfold while the server's own handling
# stayed under 2 ms (bench/README.md, item 19). Two workers need both cores and are not pinned.
SERVER_CPU, WRK_CPU = 0, 1


def pinnable() -> bool:
    return shutil.which("taskset") is not None and {SERVER_CPU, WRK_CPU} <= os.sched_getaffinity(0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A server process tree, started in its own session and stopped by its process group."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, list(argv), env, log
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.pinned = False  # on SERVER_CPU, its threads and children with it

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, workers: int) -> Server:
        argv = [a.format(port=self.port, workers=workers) for a in self.argv]
        self.pinned = workers == 1 and pinnable()
        if self.pinned:
            argv = ["taskset", "-c", str(SERVER_CPU), *argv]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, env=self.env, stdout=log, stderr=log, start_new_session=True, cwd=BENCH
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log}")
            if len(self.workers()) >= workers and _status(self.base + "/health") == 200:
                time.sleep(0.5)  # the other worker may still be importing
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer /health within 60 s; see {self.log}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def tree(self) -> list[int]:
        if self.proc is None:
            return []
        pids, i = [self.proc.pid], 0
        while i < len(pids):
            pids.extend(_children(pids[i]))
            i += 1
        return pids

    def workers(self) -> list[int]:
        """Processes that serve requests: the root alone, or its children under a supervisor."""
        pids = self.tree()
        if len(pids) <= 1:
            return pids
        return [p for p in pids[1:] if "resource_tracker" not in _cmdline(p)]


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out.extend(int(p) for p in f.read().split())
    except OSError:
        pass
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler:
    """Peak VmRSS of each worker of a server, sampled every 0.25 s while running."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.server.workers():
                kib = rss_kib(pid)
                if kib is not None:
                    self.peak[pid] = max(self.peak.get(pid, 0), kib)
            self._stop.wait(0.25)

    def peak_mib(self) -> float:
        return max(self.peak.values(), default=0) / 1024


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def request(
    method: str, url: str, token: str, body: dict[str, Any] | None = None, timeout: float = 10
) -> tuple[int, Any]:
    """One request outside wrk: checks a workload's exact status and body before loading it."""
    status, _, raw = exchange(method, url, token, body, timeout)
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")[:300]


def exchange(
    method: str, url: str, token: str, body: dict[str, Any] | None = None, timeout: float = 10
) -> tuple[int, dict[str, str], bytes]:
    """One request: its status, headers (lower-cased names) and raw body."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            got = {k.lower(): v for k, v in response.headers.items()}
            return int(response.status), got, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    non_2xx: int
    requests: int = 0
    server_cpu_s: float = 0.0  # CPU time of the server's process tree during the run
    wrk_cpu_s: float = 0.0
    db_cpu_s: float = 0.0  # PostgreSQL's processes (the whole local cluster)
    other_cpu_s: float = 0.0  # every other process on the machine: the run was not alone if > 0
    seconds: float = 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else 0.0

    @property
    def db_us_per_request(self) -> float:
        return self.db_cpu_s / self.requests * 1e6 if self.requests else 0.0

    @property
    def other_share(self) -> float:
        """Share of the machine's CPUs used by processes other than the server, its database
        and wrk."""
        return self.other_cpu_s / (self.seconds * (os.cpu_count() or 1)) if self.seconds else 0.0


@dataclass
class Row:
    """One workload at one worker count and connection count: 3 runs after a warm-up."""

    db: str
    dataset: str
    workload: str
    workers: int
    conns: int
    runs: list[Run] = field(default_factory=list)
    # Errors outside the kept runs (warm-ups, attempts discarded for a busy machine) still count.
    extra_socket_errors: int = 0
    extra_non_2xx: int = 0
    attempts: int = 0
    note: str = ""
    server: str = "cuecard"  # or "reference": bench/reference_app.py on the same data

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.runs) if self.runs else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs) if self.runs else 0.0

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs) if self.runs else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return statistics.median(r.cpu_us_per_request for r in self.runs) if self.runs else 0.0

    @property
    def db_us_per_request(self) -> float:
        return statistics.median(r.db_us_per_request for r in self.runs) if self.runs else 0.0

    @property
    def other_share(self) -> float:
        return max((r.other_share for r in self.runs), default=0.0)

    @property
    def socket_errors(self) -> int:
        return sum(r.socket_errors for r in self.runs) + self.extra_socket_errors

    @property
    def non_2xx(self) -> int:
        return sum(r.non_2xx for r in self.runs) + self.extra_non_2xx

    def discard(self, runs: Iterable[Run]) -> None:
        for run in runs:
            self.extra_socket_errors += run.socket_errors
            self.extra_non_2xx += run.non_2xx

    @property
    def failed(self) -> bool:
        return bool(self.note) or not self.runs or self.socket_errors + self.non_2xx > 0


def _busy_ticks() -> int:
    """CPU ticks the whole machine spent busy (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq + steal


def _process_ticks(pids: Iterable[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def _postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "postgres":
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(
    url: str,
    script: str,
    args: Sequence[str],
    conns: int,
    seconds: int,
    server: Server | None = None,
    timeout: int = 2,
) -> Run:
    time.sleep(0.2)  # let the server finish the previous run's requests before connecting
    pids = server.tree() if server else []
    db_pids = _postgres_pids()
    busy, serving, children = _busy_ticks(), _process_ticks(pids), _children_cpu()
    database = _process_ticks(db_pids)
    started = time.monotonic()
    argv = [
        "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", f"--timeout={timeout}s", "--latency",
        "-s", script, url, "--", *args,
    ]  # fmt: skip
    if server is not None and server.pinned:
        argv = ["taskset", "-c", str(WRK_CPU), *argv]
    env = {**os.environ, "BENCH_CONNECTIONS": str(conns)}  # see delay() in lua/common.lua
    done = subprocess.run(argv, cwd=LUA, env=env, capture_output=True, text=True, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[:500]}")
    elapsed = time.monotonic() - started
    server_cpu = (_process_ticks(pids) - serving) / _TICK
    wrk_cpu = _children_cpu() - children
    db_cpu = (_process_ticks(db_pids) - database) / _TICK
    machine_cpu = (_busy_ticks() - busy) / _TICK
    s = json.loads(line.removeprefix("BENCH_JSON "))
    return Run(
        rps=s["requests"] / (s["duration_us"] / 1e6),
        p50_ms=s["p50_us"] / 1000,
        p99_ms=s["p99_us"] / 1000,
        socket_errors=s["connect"] + s["read"] + s["write"] + s["timeout"],
        non_2xx=s["status"],
        requests=s["requests"],
        server_cpu_s=server_cpu,
        wrk_cpu_s=wrk_cpu,
        db_cpu_s=db_cpu,
        other_cpu_s=max(0.0, machine_cpu - server_cpu - wrk_cpu - db_cpu),
        seconds=elapsed,
    )


_TICK = os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1])
            mem = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        pass
    versions = {
        name: _version(name)
        for name in (
            "cuecard", "fastapi", "starlette", "pydantic", "pydantic_core", "uvicorn", "uvloop",
            "httptools", "asyncpg",
        )
    }  # fmt: skip
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return {
        "cpu": f"{os.cpu_count()} x {cpu}",
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": (wrk_version.stdout.splitlines() or ["?"])[0].split(" Copyright")[0],
        **versions,
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"
