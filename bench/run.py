"""`make bench`: Cuecard's throughput as ratios to a same-work reference run on the same data.

What runs (see bench/README.md for the why):
1. Cuecard on SQLite, and on PostgreSQL when CUECARD_BENCH_POSTGRES_URL is set, with the base
   dataset (bench/seed.py): (a) training upsert by node_id, (b) list trainings of an agent with
   20, (c) get agent, (d) runtime-config (cached) and retrieve.
2. The same-work reference (bench/reference_app.py: raw Starlette + msgspec + stdlib sqlite3 /
   asyncpg, the same token check, scoping, SQL and JSON) on the same database, right after
   Cuecard at the same worker count; its first answer of each workload must equal Cuecard's.
3. Every workload at 1 and 2 workers and 16 and 64 connections: a warm-up, then N runs of wrk;
   a 1-worker server runs on one CPU and wrk on another (harness.SERVER_CPU, WRK_CPU).
4. Big agent (issue 8): list and get of the base environment at 1 worker, quiet, then while a
   10,000-training agent of another environment is published and compiled in a loop.
5. Scale: 1,000,000 more trainings preloaded, (a)-(c) again, with each worker's RSS sampled.
6. The table, the targets (MET / NOT MET) and the machine go to bench/results/ and bench/README.md.

Any socket error or non-2xx response fails its row (and the targets that use it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import harness
import seed
from harness import BENCH, VENV_BIN, Row, RssSampler, Server

WORKERS = (1, 2)
CONNS = (16, 64)
README = BENCH / "README.md"
RESULTS = BENCH / "results"
MARK_START, MARK_END = "<!-- latest-run:start -->", "<!-- latest-run:end -->"
QUIET = 0.10  # a row is "alone" if other processes used at most this share of the machine
ATTEMPTS = 3
RETRIES = 12  # extra attempts for the whole run, so a busy machine cannot stretch it past ~15 min
BIG_CONNS = 16  # the big-agent rows: few enough connections that a stalled loop shows in p99

CONFIG_ROUTE = "/api/v1/agents/{agent_id}/runtime-config"
RETRIEVE_ROUTE = "/api/v1/agents/{agent_id}/runtime/retrieve"


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str  # "write" compares with the reference POST, "read" with the reference GET
    script: str
    path: str  # %s is the agent id
    ids: str  # which Dataset list the script rotates over
    scale: bool  # repeated on the 1,000,000-training dataset
    check: Callable[[int, Any], str | None]  # the preflight answer -> what is wrong, or None
    route: str | None = None  # the workload's OpenAPI path (retrieve: its ranker is warmed)
    method: str = "GET"
    body: dict[str, Any] | None = None


def _warm_ranker(workload: Workload, url: str, token: str) -> None:
    """Build the retrieve agent's ranker in every server process before wrk starts.

    The first retrieve of a version encodes all its trainings (about 40 s of CPU at 1,000:
    bench/README.md, "Retrieval quality"), far past wrk's 2 s timeout, and each worker builds its
    own. Send rounds of concurrent requests (enough to reach every worker of the port) until one
    round answers quickly throughout.
    """

    def timed(_: int) -> float:
        started = time.perf_counter()
        harness.request(workload.method, url, token, workload.body, timeout=600)
        return time.perf_counter() - started

    for _ in range(10):
        with ThreadPoolExecutor(max_workers=4) as pool:
            if max(pool.map(timed, range(8))) < 1.0:
                return


def _expect(status: int, test: Callable[[Any], bool]) -> Callable[[int, Any], str | None]:
    def check(got: int, body: Any) -> str | None:
        if got != status:
            return f"expected HTTP {status}, got {got}: {str(body)[:200]}"
        try:
            ok = test(body)
        except (KeyError, TypeError, IndexError):
            ok = False
        return None if ok else f"unexpected body: {str(body)[:200]}"

    return check


WORKLOADS = (
    Workload(
        "upsert", "write", "upsert.lua", "/api/v1/agents/%s/trainings", "upsert_agents", True,
        _expect(200, lambda b: b["success"] and b["data"]["node_id"] == "node-0000"),
        method="POST",
        body={"node_id": "node-0000", "subject": "Refund policy", "instructions": "Be clear."},
    ),
    Workload(
        "list", "read", "get.lua", "/api/v1/agents/%s/trainings", "read_agents", True,
        _expect(200, lambda b: len(b["data"]) == seed.READ_TRAININGS),
    ),
    Workload(
        "get", "read", "get.lua", "/api/v1/agents/%s", "read_agents", True,
        _expect(200, lambda b: len(b["data"]["trainings"]) == seed.READ_TRAININGS),
    ),
    Workload(
        "config", "read", "get.lua", "/api/v1/agents/%s/runtime-config", "read_agents", False,
        _expect(200, lambda b: isinstance(b, dict)),
        route=CONFIG_ROUTE,
    ),
    Workload(
        "retrieve", "write", "retrieve.lua", "/api/v1/agents/%s/runtime/retrieve",
        "retrieve_agents", False,
        _expect(200, lambda b: isinstance(b["documents"], list) and len(b["documents"]) > 0),
        route=RETRIEVE_ROUTE,
        method="POST",
        body={"messages": [{"role": "user", "content": "How long does a refund take?"}]},
    ),
)  # fmt: skip


@dataclass
class Options:
    runs: int
    duration: int
    warmup: int
    scale: bool
    scale_conns: tuple[int, ...]
    postgres_url: str | None
    sqlite: bool
    workloads: tuple[str, ...]
    write: bool
    big: bool


class Bench:
    def __init__(self, options: Options, workdir: Path) -> None:
        self.o = options
        self.workdir = workdir
        self.rows: list[Row] = []
        self.memory: list[dict[str, Any]] = []
        self.skipped: list[str] = []
        self.notes: list[str] = []
        self.datasets: dict[str, dict[str, int]] = {}
        self.retries_left = RETRIES
        # Cuecard's preflight answer per (db, dataset, workload): the reference must match it.
        self.answers: dict[tuple[str, str, str], tuple[int, dict[str, str], bytes]] = {}

    # --- measuring ----------------------------------------------------------------------------

    def measure(self, rows: list[tuple[Row, Server]], script: str, args: list[str]) -> None:
        """One workload at one connection count on each server of `rows` (Cuecard, and the
        reference beside it): their runs are taken in turns (Cuecard, reference, Cuecard, ...),
        so a machine that drifts meanwhile moves both sides of a ratio alike.

        While any of them was measured with other processes using the machine, all are measured
        again (up to ATTEMPTS times) and each keeps its quietest attempt; errors of every attempt
        count. A row whose server fails is reported as failed, the others go on."""
        for attempt in range(1, ATTEMPTS + 1):
            for row, server in rows:
                row.attempts = attempt
                row.discard(self._wrk(row, server, script, args, self.o.warmup))
            runs: list[list[harness.Run]] = [[] for _ in rows]
            for _ in range(self.o.runs):
                for taken, (row, server) in zip(runs, rows, strict=True):
                    taken += self._wrk(row, server, script, args, self.o.duration)
            for taken, (row, _) in zip(runs, rows, strict=True):
                if row.note:
                    continue
                if not row.runs or _busiest(taken) < _busiest(row.runs):
                    taken, row.runs = row.runs, taken
                row.discard(taken)
            measured = [row for row, _ in rows if not row.note]
            if all(_busiest(row.runs) <= QUIET for row in measured) or not self.retries_left:
                break
            self.retries_left -= 1
        for row, _ in rows:
            self.rows.append(row)
            self._print(row)

    @staticmethod
    def _wrk(
        row: Row, server: Server, script: str, args: list[str], seconds: int
    ) -> list[harness.Run]:
        """One wrk run of `row` (none once its server has failed: the row says why)."""
        if row.note:
            return []
        try:
            return [harness.wrk(server.base, script, args, row.conns, seconds, server)]
        except RuntimeError as exc:
            row.note = str(exc)
            return []

    @staticmethod
    def _print(row: Row) -> None:
        label = ("ref " if row.server == "reference" else "") + row.workload
        status = "FAILED " + (row.note or f"{row.socket_errors} socket errors, "
                              f"{row.non_2xx} non-2xx") if row.failed else ""  # fmt: skip
        print(
            f"  {row.db:<8} {row.dataset:<6} {label:<12} w={row.workers} c={row.conns:<3}"
            f" {row.rps:>8,.0f} req/s  p50 {row.p50_ms:6.2f} ms  p99 {row.p99_ms:6.2f} ms  "
            f"{row.cpu_us_per_request:5.0f} us CPU/req  other {row.other_share:4.0%}  "
            f"{'(' + str(row.attempts) + ' attempts) ' if row.attempts > 1 else ''}"
            f"runs {', '.join(f'{r.rps:,.0f}' for r in row.runs)} {status}",
            flush=True,
        )

    def cuecard(self, db: str, url: str) -> None:
        print(f"{db}: seeding the base dataset", flush=True)
        started = time.monotonic()
        dataset = seed.seed_base(url)
        self._note_dataset(db, "base", dataset, time.monotonic() - started)
        files = {}
        for name in ("upsert_agents", "read_agents", "retrieve_agents"):
            files[name] = self.workdir / f"{db}-{name}.ids"
            files[name].write_text("\n".join(getattr(dataset, name)) + "\n")
        argv = [
            str(VENV_BIN / "cuecard"), "serve", "--port", "{port}", "--workers", "{workers}",
        ]  # fmt: skip
        env = seed.cli_env(url)
        server = Server(f"cuecard-{db}", argv, env, self.workdir / f"{db}.log")
        ref_argv = [sys.executable, "reference_app.py", "{port}", "{workers}", url]
        reference = Server(f"reference-{db}", ref_argv, env, self.workdir / f"{db}-ref.log")

        workloads = [w for w in WORKLOADS if w.name in self.o.workloads]
        self._run_dataset(db, "base", server, reference, dataset, files, workloads, CONNS)
        if self.o.big:
            self.big_agent(db, server, dataset, files)
        if not self.o.scale:
            return
        print(f"{db}: seeding the scale dataset (+1,000,000 trainings)", flush=True)
        started = time.monotonic()
        seed.seed_scale(dataset)
        self._note_dataset(db, "scale", dataset, time.monotonic() - started)
        scale = [w for w in workloads if w.scale]
        self._run_dataset(db, "scale", server, None, dataset, files, scale, self.o.scale_conns)

    def _run_dataset(
        self,
        db: str,
        name: str,
        server: Server,
        reference: Server | None,
        dataset: seed.Dataset,
        files: dict[str, Path],
        workloads: list[Workload],
        conns_list: Iterable[int],
    ) -> None:
        """Cuecard and the reference side by side at each worker count, on the same data, each
        workload's runs taken in turns (`measure`)."""
        for workers in WORKERS:
            servers = [(server, "cuecard")] + ([(reference, "reference")] if reference else [])
            try:
                for current, _ in servers:
                    current.start(workers)
                with RssSampler(server) as sampler:
                    # Cuecard's answers first: the reference's must be the same.
                    available = {
                        kind: {w.name for w in self._available(db, name, current, kind, dataset,
                                                               workloads)}
                        for current, kind in servers
                    }  # fmt: skip
                    for workload in workloads:
                        args = self._args(workload, dataset.token, files)
                        for conns in conns_list:
                            rows = [
                                (Row(db, name, workload.name, workers, conns, server=kind), current)
                                for current, kind in servers
                                if workload.name in available[kind]
                            ]
                            if rows:
                                self.measure(rows, workload.script, args)
                self.memory.append(
                    {
                        "db": db,
                        "dataset": name,
                        "workers": workers,
                        "peak_mib_per_worker": {
                            str(pid): round(kib / 1024, 1) for pid, kib in sampler.peak.items()
                        },
                        "peak_mib": round(sampler.peak_mib(), 1),
                    }
                )
            finally:
                for current, _ in servers:
                    current.stop()

    @staticmethod
    def _args(workload: Workload, token: str, files: dict[str, Path]) -> list[str]:
        args = [token, str(files[workload.ids]), workload.path]
        if workload.script == "upsert.lua":
            args.append(str(seed.UPSERT_NODES))
        return args

    def _available(
        self,
        db: str,
        name: str,
        server: Server,
        kind: str,
        dataset: seed.Dataset,
        workloads: list[Workload],
    ) -> Iterable[Workload]:
        """Workloads whose first request answers as expected; the reference's must also be
        Cuecard's answer (same status, JSON, ETag), or its rows would not be the same work."""
        for workload in workloads:
            agent = getattr(dataset, workload.ids)[0]
            url = server.base + workload.path % agent
            if workload.route == RETRIEVE_ROUTE:
                _warm_ranker(workload, url, dataset.token)
            status, headers, raw = harness.exchange(workload.method, url, dataset.token,
                                                    workload.body)  # fmt: skip
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                body = raw[:200]
            problem = workload.check(status, body)
            key = (db, name, workload.name)
            if problem is None and kind == "cuecard":
                self.answers[key] = (status, headers, raw)
            elif problem is None and key in self.answers:
                problem = _differs(workload, self.answers[key], (status, headers, raw))
            if problem:
                self.rows.append(Row(db, name, workload.name, 0, 0, note=f"preflight: {problem}",
                                     server=kind))  # fmt: skip
                print(f"  {kind} {workload.name}: FAILED preflight: {problem}", flush=True)
                continue
            yield workload

    def big_agent(
        self, db: str, server: Server, dataset: seed.Dataset, files: dict[str, Path]
    ) -> None:
        """Issue 8: another environment's reads while a 10,000-training agent is published
        (and its new version's runtime-config compiled) in a loop, through the API; 1 worker."""
        print(f"{db}: seeding the big agent ({seed.BIG_TRAININGS:,} trainings)", flush=True)
        started = time.monotonic()
        big = seed.seed_big(dataset)
        self._note_dataset(db, "big", dataset, time.monotonic() - started)
        reads = [w for w in WORKLOADS if w.name in ("list", "get")]
        server.start(1)
        try:
            loop = _PublishLoop(server.base, big)
            loop.once()  # the first publish and compile, outside the measurements
            for phase in ("quiet", "loaded"):
                if phase == "loaded":
                    loop.start()
                for workload in reads:
                    args = self._args(workload, dataset.token, files)
                    row = Row(db, phase, workload.name, 1, BIG_CONNS)
                    self.measure([(row, server)], workload.script, args)
            loop.stop()
        finally:
            server.stop()
        self.notes.append(
            f"{db} big agent: {loop.rounds} rounds of upsert + publish + GET runtime-config "
            f"of the new version during the loaded rows, {loop.mean_seconds():.2f} s each"
            + (f"; {len(loop.errors)} failed: {loop.errors[0]}" if loop.errors else "")
        )
        if loop.errors:
            for row in self.rows:
                if row.db == db and row.dataset == "loaded":
                    row.note = row.note or f"publish loop failed: {loop.errors[0][:80]}"

    def _note_dataset(self, db: str, name: str, dataset: seed.Dataset, seconds: float) -> None:
        self.datasets[f"{db}/{name}"] = {
            "agents": dataset.agents,
            "trainings": dataset.trainings,
            "seed_seconds": round(seconds, 1),
        }
        print(
            f"  {dataset.agents:,} agents, {dataset.trainings:,} trainings "
            f"(seeded in {seconds:.1f} s)",
            flush=True,
        )

    # --- reporting ----------------------------------------------------------------------------

    def find(
        self, db: str, dataset: str, workload: str, workers: int, conns: int,
        server: str = "cuecard",
    ) -> Row | None:  # fmt: skip
        for row in self.rows:
            if (row.db, row.dataset, row.workload, row.workers, row.conns, row.server) == (
                db, dataset, workload, workers, conns, server,
            ):  # fmt: skip
                return row
        return None

    def _reference_of(self, row: Row) -> Row | None:
        if row.server != "cuecard" or row.dataset != "base":
            return None
        return self.find(row.db, row.dataset, row.workload, row.workers, row.conns, "reference")

    def ref_ratio(self, row: Row) -> float | None:
        ref = self._reference_of(row)
        return row.rps / ref.rps if ref and ref.rps and row.runs else None

    def ref_cpu_ratio(self, row: Row) -> float | None:
        """Reference server CPU per request / this row's: the efficiency ratio, which other load
        on the machine disturbs much less than req/s."""
        ref = self._reference_of(row)
        if not ref or not row.cpu_us_per_request:
            return None
        return ref.cpu_us_per_request / row.cpu_us_per_request

    def base_ratio(self, row: Row) -> float | None:
        if row.dataset == "scale":
            base = self.find(row.db, "base", row.workload, row.workers, row.conns)
        elif row.dataset == "loaded":
            base = self.find(row.db, "quiet", row.workload, row.workers, row.conns)
        else:
            return None
        return row.rps / base.rps if base and base.rps and row.runs else None

    def table(self) -> str:
        head = ("db", "data", "server", "workload", "w", "conns", "req/s", "runs (req/s)",
                "p50 ms", "p99 ms", "sock err", "non-2xx", "CPU us/req", "db us/req",
                "other CPU", "x ref", "x ref CPU", "x base", "row")  # fmt: skip
        lines = [head]
        for row in self.rows:
            ref, base, cpu = self.ref_ratio(row), self.base_ratio(row), self.ref_cpu_ratio(row)
            lines.append(
                (
                    row.db, row.dataset, "ref" if row.server == "reference" else "cuecard",
                    row.workload, str(row.workers), str(row.conns),
                    f"{row.rps:,.0f}", " ".join(f"{r.rps:,.0f}" for r in row.runs) or "-",
                    f"{row.p50_ms:.2f}", f"{row.p99_ms:.2f}",
                    str(row.socket_errors), str(row.non_2xx),
                    f"{row.cpu_us_per_request:.0f}",
                    f"{row.db_us_per_request:.0f}" if row.db == "postgresql" else "",
                    f"{row.other_share:.0%}",
                    f"{ref:.2f}" if ref is not None else "",
                    f"{cpu:.2f}" if cpu is not None else "",
                    f"{base:.2f}" if base else "",
                    ("FAILED " + row.note[:60]) if row.failed else "ok",
                )
            )  # fmt: skip
        return _grid(lines)

    def scaling(self) -> list[tuple[str, str, float | None]]:
        """(label, workload, 2 workers / 1 worker) for every base row, the reference's too."""
        out = []
        for row in self.rows:
            if row.workers != 1 or row.dataset != "base":
                continue
            two = self.find(row.db, row.dataset, row.workload, 2, row.conns, row.server)
            ratio = two.rps / row.rps if two and row.rps and two.runs and row.runs else None
            who = "ref " if row.server == "reference" else ""
            out.append((f"{row.db}/{who}{row.workload}/c{row.conns}", row.server, ratio))
        return out

    def targets(self) -> list[tuple[str, str, str]]:
        """(target, MET | NOT MET | NOT RUN, evidence), as the issues state them."""
        results = []

        def judge(name: str, rows: list[Row | None], test: Callable[[Row], bool],
                  show: Callable[[Row], str]) -> None:  # fmt: skip
            present = [r for r in rows if r is not None]
            if not present or len(present) < len(rows):
                results.append((name, "NOT RUN", "rows missing"))
                return
            ok = all(not r.failed and test(r) for r in present)
            evidence = "; ".join(
                f"{r.db} {r.workload} w{r.workers} c{r.conns}: {show(r)}"
                + (" [row FAILED]" if r.failed else "")
                for r in present
            )
            results.append((name, "MET" if ok else "NOT MET", evidence))

        def ratio(r: Row) -> float:
            return self.ref_ratio(r) or 0.0

        dbs = (["sqlite"] if self.o.sqlite else []) + (
            ["postgresql"] if self.o.postgres_url else []
        )
        names = [w.name for w in WORKLOADS if w.name in self.o.workloads]
        for db in dbs:
            for workload in names:
                rows = [self.find(db, "base", workload, 1, c) for c in CONNS]
                judge(f"{db} {workload} >= 0.6 x the same-work reference (1 worker)", rows,
                      lambda r: ratio(r) >= 0.6, lambda r: f"{ratio(r):.2f}")  # fmt: skip
        if not self.o.postgres_url:
            results.append(("postgresql rows >= 0.6 x the same-work reference", "NOT RUN",
                            "set CUECARD_BENCH_POSTGRES_URL"))  # fmt: skip

        c64 = [r for r in self.rows
               if r.server == "cuecard" and r.dataset == "base" and r.conns == 64]  # fmt: skip
        bad = [
            f"{r.db}/{r.workload}/w{r.workers}: p99 {r.p99_ms:.1f} ms = "
            f"{r.p99_ms / r.p50_ms if r.p50_ms else 0:.1f}x p50, "
            f"{r.socket_errors} socket errors/timeouts"
            for r in c64
            if r.failed or r.p99_ms > 3 * r.p50_ms or r.socket_errors
        ]
        worst = max((r.p99_ms / r.p50_ms for r in c64 if r.p50_ms), default=0.0)
        results.append(
            (
                "p99 <= 3 x p50 and 0 socket errors/timeouts at c=64, every Cuecard row",
                "NOT RUN" if not c64 else ("NOT MET" if bad else "MET"),
                ("failing: " + "; ".join(bad)) if bad else
                f"{len(c64)} rows, worst p99 {worst:.1f}x p50",
            )
        )  # fmt: skip

        for kind, floor in (("reads", 1.8), ("upserts", 1.3)):
            pairs = [
                (label, r)
                for label, server, r in self.scaling()
                if server == "cuecard" and (label.split("/")[1] == "upsert") == (kind == "upserts")
            ]
            low = [f"{n} {r:.2f}x" if r else f"{n} n/a" for n, r in pairs if not r or r < floor]
            results.append(
                (
                    f"2 workers >= {floor} x 1 worker, {kind}",
                    "NOT RUN" if not pairs else ("NOT MET" if low else "MET"),
                    ("below: " + ", ".join(low)) if low else
                    "lowest " + f"{min((r for _, r in pairs if r), default=0):.2f}x",
                )
            )  # fmt: skip

        for db in dbs if self.o.big else []:
            rows = [self.find(db, "loaded", w, 1, BIG_CONNS) for w in ("list", "get")]

            def quiet(r: Row) -> Row | None:
                return self.find(r.db, "quiet", r.workload, 1, BIG_CONNS)

            judge(f"{db}: reads keep p99 <= 2 x quiet while a 10,000-training agent is "
                  "published and compiled in a loop", rows,
                  lambda r: (q := quiet(r)) is not None and not q.failed
                  and r.p99_ms <= 2 * q.p99_ms,
                  lambda r: f"p99 {(q.p99_ms if (q := quiet(r)) else 0):.1f} -> "
                  f"{r.p99_ms:.1f} ms ({r.p99_ms / q.p99_ms if q and q.p99_ms else 0:.2f}x)",
                  )  # fmt: skip

        scale_rows = [r for r in self.rows if r.dataset == "scale"]
        low = [
            f"{r.db}/{r.workload}/w{r.workers}/c{r.conns} {self.base_ratio(r) or 0:.2f}x"
            for r in scale_rows
            if r.failed or (self.base_ratio(r) or 0) < 0.8
        ]
        results.append(
            (
                "(issue 4) 1,000,000 trainings: every workload >= 0.8 x its base throughput",
                "NOT RUN" if not scale_rows else ("NOT MET" if low else "MET"),
                ("below: " + ", ".join(low)) if low else
                f"lowest {min((self.base_ratio(r) or 0 for r in scale_rows), default=0):.2f}x",
            )
        )  # fmt: skip

        peaks = [m for m in self.memory if m["dataset"] == "scale"]
        worst_mib = max((m["peak_mib"] for m in peaks), default=0.0)
        results.append(
            (
                "(issue 4) RSS < 150 MB per worker through the scale run",
                "NOT RUN" if not peaks else ("MET" if worst_mib * 1.048576 < 150 else "NOT MET"),
                f"peak {worst_mib:.0f} MiB ({worst_mib * 1.048576:.0f} MB)",
            )
        )
        return results

    def report(self, elapsed: float, info: dict[str, str]) -> str:
        o = self.o
        out = [
            f"Cuecard benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} min",
            "machine: " + ", ".join(f"{k} {v}" for k, v in info.items() if k in (
                "cpu", "memory", "kernel", "python", "sqlite", "wrk", "nice")),
            "versions: " + ", ".join(f"{k} {v}" for k, v in info.items() if k not in (
                "cpu", "memory", "kernel", "python", "sqlite", "wrk", "nice")),
            "method: wrk -t1 on the same machine as the server"
            + (f"; a 1-worker server on CPU {harness.SERVER_CPU} and its wrk on CPU "
               f"{harness.WRK_CPU} (taskset), 2 workers unpinned" if harness.pinnable() else
               "; not pinned (taskset or a second CPU missing)")
            + f"; per row {o.warmup:g} s warm-up "
            f"then {o.runs} x {o.duration:g} s runs; req/s, p50, p99 are medians of the runs; "
            "errors and non-2xx are summed (warm-up included). x ref = req/s / the same-work "
            "reference's (bench/reference_app.py) for the same workload, database, workers and "
            "connections, served beside Cuecard on the same data, the two rows' runs taken in "
            "turns; x base = scale row / "
            "base row, or big-agent loaded row / quiet row.",
            "datasets: " + "; ".join(
                f"{k}: {v['agents']:,} agents, {v['trainings']:,} trainings "
                f"(seeded in {v['seed_seconds']} s)" for k, v in self.datasets.items()),
            "",
            self.table(),
            "",
            "2 workers / 1 worker (base dataset; the reference's show what the machine allows):",
        ]  # fmt: skip
        out += [
            f"  {name:<28} {r:.2f}x" if r else f"  {name:<28} n/a" for name, _, r in self.scaling()
        ]
        out += ["", *self.notes] if self.notes else []
        busy = [r for r in self.rows if r.other_share > QUIET]
        if busy:
            out += [
                "",
                f"WARNING: {len(busy)} rows ran, even after {ATTEMPTS} attempts, while other "
                "processes used more than 10% of the machine (column `other CPU`); their req/s "
                "ratios are unreliable, the CPU/request ratio (x ref CPU) much less so.",
            ]
        out += ["", "Peak RSS per Cuecard worker process (MiB, VmRSS of each serving process):"]
        for m in self.memory:
            per = ", ".join(f"{v:.0f}" for v in m["peak_mib_per_worker"].values())
            out.append(f"  {m['db']:<10} {m['dataset']:<5} workers={m['workers']}: {per}")
        out += [f"skipped: {s}" for s in self.skipped]
        out += ["", "Targets (issue 8, and issue 4's that do not depend on the reference):"]
        for name, status, evidence in self.targets():
            out.append(f"  [{status:^7}] {name}: {evidence}")
        return "\n".join(out) + "\n"


class _PublishLoop:
    """Upsert one training of the big agent (so it has something to publish), publish it, GET
    the new version's runtime-config (a compile: no process has it cached), again and again."""

    def __init__(self, base: str, big: seed.BigAgent) -> None:
        self.base, self.big = base, big
        self.rounds = 0
        self.seconds = 0.0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def once(self) -> None:
        agent = f"{self.base}/api/v1/agents/{self.big.agent_id}"
        body = {
            "node_id": "big-00000",
            "subject": "Big agent",
            "instructions": f"Round {time.time()}.",
        }
        status, answer = harness.request("POST", agent + "/trainings", self.big.token, body, 60)
        if status != 200:
            raise RuntimeError(f"big agent upsert: HTTP {status}: {str(answer)[:200]}")
        status, answer = harness.request("POST", agent + "/publish", self.big.token, None, 60)
        if status != 200:
            raise RuntimeError(f"big agent publish: HTTP {status}: {str(answer)[:200]}")
        version = answer["data"]["version"]
        status, _ = harness.request(
            "GET", f"{agent}/runtime-config?version={version}", self.big.token, None, 60
        )
        if status != 200:
            raise RuntimeError(f"big agent runtime-config: HTTP {status}")

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.once()
            except (RuntimeError, OSError) as exc:
                self.errors.append(str(exc))
                return
            self.seconds += time.monotonic() - started
            self.rounds += 1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def mean_seconds(self) -> float:
        return self.seconds / self.rounds if self.rounds else 0.0


def _differs(
    workload: Workload,
    cuecard: tuple[int, dict[str, str], bytes],
    reference: tuple[int, dict[str, str], bytes],
) -> str | None:
    """Why the reference's answer is not Cuecard's, or None. Compared: the status, the JSON
    (an upsert's updated_at aside: it is the moment of each write) and the ETag."""
    (c_status, c_headers, c_raw), (r_status, r_headers, r_raw) = cuecard, reference
    if c_status != r_status:
        return f"reference answered HTTP {r_status}, Cuecard {c_status}"
    if c_headers.get("etag") != r_headers.get("etag"):
        return f"ETag {r_headers.get('etag')} differs from Cuecard's {c_headers.get('etag')}"
    c_body, r_body = json.loads(c_raw), json.loads(r_raw)
    if workload.name == "upsert":
        for body in (c_body, r_body):
            body["data"].pop("updated_at", None)
    if c_body != r_body:
        return f"the reference's JSON differs from Cuecard's: {_first_difference(c_body, r_body)}"
    return None


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{path or '.'} keys {list(a)} != {list(b)}"
        for key in a:
            if a[key] != b[key]:
                return _first_difference(a[key], b[key], f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path}: {str(a)[:80]} != {str(b)[:80]}"


def _busiest(runs: list[harness.Run]) -> float:
    return max(r.other_share for r in runs)


def _grid(lines: list[tuple[str, ...]]) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = []
    for n, line in enumerate(lines):
        cells = [c.ljust(w) if i < 3 or i == len(line) - 1 or i == 6 else c.rjust(w)
                 for i, (c, w) in enumerate(zip(line, widths, strict=True))]  # fmt: skip
        text.append("  ".join(cells).rstrip())
        if n == 0:
            text.append("  ".join("-" * w for w in widths))
    return "\n".join(text)


def update_readme(report: str, results_file: Path) -> None:
    if not README.exists():
        return
    text = README.read_text()
    if MARK_START not in text or MARK_END not in text:
        return
    block = (
        f"{MARK_START}\nFrom `{results_file.relative_to(BENCH.parent)}` (written by `make bench`; "
        f"this block is replaced on every run).\n\n```\n{report}```\n{MARK_END}"
    )
    text = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda _: block, text,
                  flags=re.S)  # fmt: skip
    README.write_text(text)


def parse(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--runs", type=int, default=3, help="measured runs per row (default 3)")
    p.add_argument("--duration", type=int, default=3, help="seconds per run (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="warm-up seconds per row (default 1)")
    p.add_argument("--no-scale", action="store_true", help="skip the 1,000,000-training run")
    p.add_argument(
        "--scale-conns", default="64", help="connections for the scale rows (default 64)"
    )
    p.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    p.add_argument("--no-big", action="store_true", help="skip the big-agent rows (publish loop)")
    p.add_argument(
        "--workloads",
        default=",".join(w.name for w in WORKLOADS),
        help="comma-separated subset of: " + ", ".join(w.name for w in WORKLOADS),
    )
    p.add_argument(
        "--no-write", action="store_true", help="print only; leave results/ and README alone"
    )
    a = p.parse_args(argv)
    return Options(
        runs=a.runs,
        duration=a.duration,
        warmup=a.warmup,
        scale=not a.no_scale,
        scale_conns=tuple(int(c) for c in a.scale_conns.split(",")),
        postgres_url=os.environ.get("CUECARD_BENCH_POSTGRES_URL") or None,
        sqlite=not a.no_sqlite,
        workloads=tuple(a.workloads.split(",")),
        write=not a.no_write,
        big=not a.no_big,
    )


def main(argv: list[str]) -> int:
    options = parse(argv)
    harness.ensure_wrk()
    info = harness.machine()
    info["nice"] = str(os.nice(0))
    per_row = options.warmup + options.runs * options.duration + 0.5
    dbs = int(options.sqlite) + int(bool(options.postgres_url))
    rows = dbs * (
        8 * len(options.workloads)
        + 4 * options.big
        + 2 * len(options.scale_conns) * 3 * options.scale
    )
    print(
        f"{info['cpu']}; about {rows} rows x {per_row:.0f} s plus seeding "
        f"(~{(rows * per_row + dbs * 90) / 60:.0f} min)",
        flush=True,
    )
    if not options.postgres_url:
        print("PostgreSQL: not run (set CUECARD_BENCH_POSTGRES_URL to include it)", flush=True)

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="cuecard-bench-"))
    bench = Bench(options, workdir)
    try:
        if options.sqlite:
            bench.cuecard("sqlite", f"sqlite:///{workdir / 'cuecard.db'}")
            (workdir / "cuecard.db").unlink(missing_ok=True)
        if options.postgres_url:
            seed.reset_postgres(options.postgres_url)
            try:
                bench.cuecard("postgresql", options.postgres_url)
            finally:
                seed.reset_postgres(options.postgres_url)
    finally:
        report = bench.report(time.monotonic() - started, info)
        print("\n" + report, flush=True)
        failed = any(r.failed for r in bench.rows)
        if options.write:
            RESULTS.mkdir(exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            dbs_run = "+".join(
                (["sqlite"] if options.sqlite else [])
                + (["postgresql"] if options.postgres_url else [])
            )
            results_file = RESULTS / f"{stamp}-{dbs_run}.txt"
            results_file.write_text(report)
            raw = {
                "options": asdict(options) | {"postgres_url": bool(options.postgres_url)},
                "machine": info,
                "datasets": bench.datasets,
                "rows": [asdict(r) for r in bench.rows],
                "memory": bench.memory,
                "targets": bench.targets(),
            }
            results_file.with_suffix(".json").write_text(json.dumps(raw, indent=1) + "\n")
            update_readme(report, results_file)
            print(f"written: {results_file} (and .json), bench/README.md", flush=True)
        if failed:
            print(f"some rows failed; server logs kept in {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if any(r.failed for r in bench.rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
