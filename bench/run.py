"""`make bench`: Cuecard's throughput as ratios to a raw-Starlette reference run alongside it.

What runs (see bench/README.md for the why):
1. The reference (bench/reference_app.py on uvicorn): GET of a fixed ~300-byte JSON and POST
   echoing a training-sized body.
2. Cuecard on SQLite, and on PostgreSQL when CUECARD_BENCH_POSTGRES_URL is set, with the base
   dataset (bench/seed.py): (a) training upsert by node_id, (b) list trainings of an agent with
   20, (c) get agent, (d) runtime-config and retrieve when the server has those routes.
3. Every workload at 1 and 2 workers and 16 and 64 connections: a warm-up, then N runs of wrk.
4. Scale: 1,000,000 more trainings preloaded, (a)-(c) again, with each worker's RSS sampled.
5. The table, the targets (MET / NOT MET) and the machine go to bench/results/ and bench/README.md.

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
    route: str | None = None  # an OpenAPI path the server must have, else the rows are skipped
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


class Bench:
    def __init__(self, options: Options, workdir: Path) -> None:
        self.o = options
        self.workdir = workdir
        self.rows: list[Row] = []
        self.memory: list[dict[str, Any]] = []
        self.skipped: list[str] = []
        self.datasets: dict[str, dict[str, int]] = {}
        self.retries_left = RETRIES

    # --- measuring ----------------------------------------------------------------------------

    def measure(self, row: Row, server: Server, script: str, args: list[str]) -> Row:
        url = server.base
        print(
            f"  {row.db:<8} {row.dataset:<5} {row.workload:<9} w={row.workers} c={row.conns:<3}",
            end="",
            flush=True,
        )
        try:
            # A row measured while other processes used the machine is measured again (up to
            # ATTEMPTS times) and the quietest attempt kept; errors of every attempt count.
            for attempt in range(1, ATTEMPTS + 1):
                row.attempts = attempt
                row.discard([harness.wrk(url, script, args, row.conns, self.o.warmup, server)])
                runs = [
                    harness.wrk(url, script, args, row.conns, self.o.duration, server)
                    for _ in range(self.o.runs)
                ]
                if not row.runs or _busiest(runs) < _busiest(row.runs):
                    runs, row.runs = row.runs, runs
                row.discard(runs)
                if _busiest(row.runs) <= QUIET or not self.retries_left:
                    break
                self.retries_left -= 1
        except RuntimeError as exc:
            row.note = str(exc)
        self.rows.append(row)
        status = "FAILED " + (row.note or f"{row.socket_errors} socket errors, "
                              f"{row.non_2xx} non-2xx") if row.failed else ""  # fmt: skip
        print(
            f" {row.rps:>8,.0f} req/s  p50 {row.p50_ms:6.2f} ms  p99 {row.p99_ms:6.2f} ms  "
            f"{row.cpu_us_per_request:5.0f} us CPU/req  other {row.other_share:4.0%}  "
            f"{'(' + str(row.attempts) + ' attempts) ' if row.attempts > 1 else ''}"
            f"runs {', '.join(f'{r.rps:,.0f}' for r in row.runs)} {status}",
            flush=True,
        )
        return row

    def reference(self, again: bool = False) -> None:
        """The reference matrix; `again` re-measures 1 worker at 64 connections at the end, to
        show how much the machine drifted during the run."""
        print("reference: raw Starlette (bench/reference_app.py) on uvicorn", flush=True)
        ids = self.workdir / "reference.ids"
        ids.write_text("ref\n")
        argv = [sys.executable, "reference_app.py", "{port}", "{workers}"]
        server = Server("reference", argv, dict(os.environ), self.workdir / "reference.log")
        label, workers_list, conns_list = ("end", (1,), (64,)) if again else ("-", WORKERS, CONNS)
        for workers in workers_list:
            server.start(workers)
            try:
                for conns in conns_list:
                    row = Row("-", label, "ref GET", workers, conns)
                    self.measure(row, server, "get.lua", ["-", str(ids), "/hello"])
                for conns in conns_list:
                    row = Row("-", label, "ref POST", workers, conns)
                    args = ["-", str(ids), "/echo", str(seed.UPSERT_NODES)]
                    self.measure(row, server, "upsert.lua", args)
            finally:
                server.stop()

    def cuecard(self, db: str, url: str) -> None:
        print(f"cuecard on {db}: seeding the base dataset", flush=True)
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
        server = Server(f"cuecard-{db}", argv, seed.cli_env(url), self.workdir / f"{db}.log")

        workloads = [w for w in WORKLOADS if w.name in self.o.workloads]
        self._run_dataset(db, "base", server, dataset, files, workloads, CONNS)
        if not self.o.scale:
            return
        print(f"cuecard on {db}: seeding the scale dataset (+1,000,000 trainings)", flush=True)
        started = time.monotonic()
        seed.seed_scale(dataset)
        self._note_dataset(db, "scale", dataset, time.monotonic() - started)
        scale = [w for w in workloads if w.scale]
        self._run_dataset(db, "scale", server, dataset, files, scale, self.o.scale_conns)

    def _run_dataset(
        self,
        db: str,
        name: str,
        server: Server,
        dataset: seed.Dataset,
        files: dict[str, Path],
        workloads: list[Workload],
        conns_list: Iterable[int],
    ) -> None:
        for workers in WORKERS:
            server.start(workers)
            try:
                with RssSampler(server) as sampler:
                    for workload in self._available(db, name, server, dataset, workloads):
                        args = [dataset.token, str(files[workload.ids]), workload.path]
                        if workload.script == "upsert.lua":
                            args.append(str(seed.UPSERT_NODES))
                        for conns in conns_list:
                            row = Row(db, name, workload.name, workers, conns)
                            self.measure(row, server, workload.script, args)
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
                server.stop()

    def _available(
        self, db: str, name: str, server: Server, dataset: seed.Dataset, workloads: list[Workload]
    ) -> Iterable[Workload]:
        """Workloads whose routes exist and whose first request answers as expected."""
        status, spec = harness.request("GET", server.base + "/openapi.json", dataset.token)
        paths = set(spec.get("paths", {})) if status == 200 and isinstance(spec, dict) else set()
        for workload in workloads:
            if workload.route and workload.route not in paths:
                note = f"{workload.name}: skipped, the server has no {workload.route} route"
                if note not in self.skipped:
                    self.skipped.append(note)
                    print(f"  {note}", flush=True)
                continue
            agent = getattr(dataset, workload.ids)[0]
            url = server.base + workload.path % agent
            if workload.route == RETRIEVE_ROUTE:
                _warm_ranker(workload, url, dataset.token)
            problem = workload.check(*harness.request(workload.method, url, dataset.token,
                                                      workload.body))  # fmt: skip
            if problem:
                self.rows.append(Row(db, name, workload.name, 0, 0, note=f"preflight: {problem}"))
                print(f"  {workload.name}: FAILED preflight: {problem}", flush=True)
                continue
            yield workload

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

    def find(self, db: str, dataset: str, workload: str, workers: int, conns: int) -> Row | None:
        for row in self.rows:
            if (row.db, row.dataset, row.workload, row.workers, row.conns) == (
                db, dataset, workload, workers, conns,
            ):  # fmt: skip
                return row
        return None

    def ref_ratio(self, row: Row) -> float | None:
        kind = next((w.kind for w in WORKLOADS if w.name == row.workload), None)
        if kind is None:
            return None
        ref = self.find("-", "-", "ref POST" if kind == "write" else "ref GET",
                        row.workers, row.conns)  # fmt: skip
        return row.rps / ref.rps if ref and ref.rps and row.runs else None

    def ref_cpu_ratio(self, row: Row) -> float | None:
        """Reference server CPU per request / this row's: the efficiency ratio, which other load
        on the machine disturbs much less than req/s."""
        kind = next((w.kind for w in WORKLOADS if w.name == row.workload), None)
        if kind is None:
            return None
        ref = self.find("-", "-", "ref POST" if kind == "write" else "ref GET",
                        row.workers, row.conns)  # fmt: skip
        if not ref or not row.cpu_us_per_request:
            return None
        return ref.cpu_us_per_request / row.cpu_us_per_request

    def base_ratio(self, row: Row) -> float | None:
        if row.dataset != "scale":
            return None
        base = self.find(row.db, "base", row.workload, row.workers, row.conns)
        return row.rps / base.rps if base and base.rps and row.runs else None

    def table(self) -> str:
        head = ("db", "data", "workload", "w", "conns", "req/s", "runs (req/s)", "p50 ms",
                "p99 ms", "sock err", "non-2xx", "CPU us/req", "db us/req", "other CPU", "x ref",
                "x ref CPU", "x base", "row")  # fmt: skip
        lines = [head]
        for row in self.rows:
            ref, base, cpu = self.ref_ratio(row), self.base_ratio(row), self.ref_cpu_ratio(row)
            lines.append(
                (
                    row.db, row.dataset, row.workload, str(row.workers), str(row.conns),
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

    def scaling(self) -> list[tuple[str, float | None]]:
        """2 workers / 1 worker for every base workload (the reference included, for context)."""
        out = []
        for row in self.rows:
            if row.workers != 1 or row.dataset not in ("base", "-"):
                continue
            two = self.find(row.db, row.dataset, row.workload, 2, row.conns)
            ratio = two.rps / row.rps if two and row.rps and two.runs and row.runs else None
            out.append((f"{row.db}/{row.workload}/c{row.conns}", ratio))
        return out

    def targets(self) -> list[tuple[str, str, str]]:
        """(target, MET | NOT MET | NOT RUN, evidence), as the issue states them."""
        results = []

        def judge(name: str, rows: list[Row | None], test: Callable[[Row], bool],
                  show: Callable[[Row], str]) -> None:  # fmt: skip
            present = [r for r in rows if r is not None]
            if not present or len(present) < len(rows):
                results.append((name, "NOT RUN", "rows missing"))
                return
            ok = all(not r.failed and test(r) for r in present)
            evidence = "; ".join(
                f"w{r.workers} c{r.conns}: {show(r)}" + (" [row FAILED]" if r.failed else "")
                for r in present
            )
            results.append((name, "MET" if ok else "NOT MET", evidence))

        def ratio(r: Row) -> float:
            return self.ref_ratio(r) or 0.0

        upsert = [self.find("sqlite", "base", "upsert", 1, c) for c in CONNS]
        judge("SQLite upsert >= 0.30 x ref POST, 0 errors (1 worker)", upsert,
              lambda r: ratio(r) >= 0.30, lambda r: f"{ratio(r):.2f}")  # fmt: skip
        c16 = self.find("sqlite", "base", "upsert", 1, 16)
        judge("SQLite upsert p99 <= 20 ms at 16 connections", [c16],
              lambda r: r.p99_ms <= 20, lambda r: f"p99 {r.p99_ms:.1f} ms")  # fmt: skip
        c64 = self.find("sqlite", "base", "upsert", 1, 64)
        judge("SQLite upsert p99 <= 3 x p50 at 64 connections", [c64],
              lambda r: r.p99_ms <= 3 * r.p50_ms,
              lambda r: f"p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms "
              f"({r.p99_ms / r.p50_ms if r.p50_ms else 0:.1f}x)")  # fmt: skip
        for workload in ("list", "get"):
            rows = [self.find("sqlite", "base", workload, 1, c) for c in CONNS]
            judge(f"SQLite {workload} >= 0.40 x ref GET (1 worker)", rows,
                  lambda r: ratio(r) >= 0.40, lambda r: f"{ratio(r):.2f}")  # fmt: skip
        if self.o.postgres_url:
            rows = [self.find("postgresql", "base", "upsert", 1, c) for c in CONNS]
            judge("PostgreSQL upsert >= 0.20 x ref POST (1 worker)", rows,
                  lambda r: ratio(r) >= 0.20, lambda r: f"{ratio(r):.2f}")  # fmt: skip
        else:
            results.append(("PostgreSQL upsert >= 0.20 x ref POST (1 worker)", "NOT RUN",
                            "set CUECARD_BENCH_POSTGRES_URL"))  # fmt: skip

        pairs = [p for p in self.scaling() if not p[0].startswith("-/")]
        bad = [f"{name} {r:.2f}x" if r else f"{name} n/a" for name, r in pairs if not r or r < 1.6]
        results.append(
            (
                "2 workers >= 1.6 x 1 worker, every workload",
                "NOT RUN" if not pairs else ("NOT MET" if bad else "MET"),
                ("below: " + ", ".join(bad)) if bad else
                f"lowest {min((r for _, r in pairs if r), default=0):.2f}x",
            )
        )  # fmt: skip

        scale_rows = [r for r in self.rows if r.dataset == "scale"]
        low = [
            f"{r.db}/{r.workload}/w{r.workers}/c{r.conns} {self.base_ratio(r) or 0:.2f}x"
            for r in scale_rows
            if r.failed or (self.base_ratio(r) or 0) < 0.8
        ]
        results.append(
            (
                "1,000,000 trainings: every workload >= 0.8 x its base throughput",
                "NOT RUN" if not scale_rows else ("NOT MET" if low else "MET"),
                ("below: " + ", ".join(low)) if low else
                f"lowest {min((self.base_ratio(r) or 0 for r in scale_rows), default=0):.2f}x",
            )
        )  # fmt: skip

        peaks = [m for m in self.memory if m["dataset"] == "scale"]
        worst = max((m["peak_mib"] for m in peaks), default=0.0)
        results.append(
            (
                "RSS < 150 MB per worker through the scale run",
                "NOT RUN" if not peaks else ("MET" if worst * 1.048576 < 150 else "NOT MET"),
                f"peak {worst:.0f} MiB ({worst * 1.048576:.0f} MB)",
            )
        )
        return results

    def report(self, elapsed: float, info: dict[str, str]) -> str:
        o = self.o
        out = [
            f"Cuecard benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} min",
            "machine: " + ", ".join(f"{k} {v}" for k, v in info.items() if k in (
                "cpu", "memory", "kernel", "python", "sqlite", "wrk")),
            "versions: " + ", ".join(f"{k} {v}" for k, v in info.items() if k not in (
                "cpu", "memory", "kernel", "python", "sqlite", "wrk")),
            f"method: wrk -t1 on the same machine as the server; per row {o.warmup:g} s warm-up "
            f"then {o.runs} x {o.duration:g} s runs; req/s, p50, p99 are medians of the runs; "
            "errors and non-2xx are summed (warm-up included). x ref = req/s / reference req/s "
            "at the same workers and connections (writes vs ref POST, reads vs ref GET).",
            "datasets: " + "; ".join(
                f"{k}: {v['agents']:,} agents, {v['trainings']:,} trainings "
                f"(seeded in {v['seed_seconds']} s)" for k, v in self.datasets.items()),
            "",
            self.table(),
            "",
            "2 workers / 1 worker (base dataset; the reference shows what the machine allows):",
        ]  # fmt: skip
        out += [
            f"  {name:<28} {r:.2f}x" if r else f"  {name:<28} n/a" for name, r in self.scaling()
        ]
        drift = [
            f"{r.workload} {r.rps / start.rps:.2f}x"
            for r in self.rows
            if r.dataset == "end"
            and (start := self.find("-", "-", r.workload, 1, 64))
            and start.rps
        ]
        if drift:
            out += ["", "Reference at the end / at the start (w=1 c=64): " + ", ".join(drift)]
        busy = [r for r in self.rows if r.other_share > QUIET]
        if busy:
            out += [
                "",
                f"WARNING: {len(busy)} rows ran, even after {ATTEMPTS} attempts, while other "
                "processes used more than 10% of the machine (column `other CPU`); their req/s "
                "ratios are unreliable, the CPU/request ratio (x ref CPU) much less so.",
            ]
        out += ["", "Peak RSS per worker process (MiB, VmRSS of each serving process):"]
        for m in self.memory:
            per = ", ".join(f"{v:.0f}" for v in m["peak_mib_per_worker"].values())
            out.append(f"  {m['db']:<10} {m['dataset']:<5} workers={m['workers']}: {per}")
        out += [f"skipped: {s}" for s in self.skipped]
        out += ["", "Targets (issue 4):"]
        for name, status, evidence in self.targets():
            out.append(f"  [{status:^7}] {name}: {evidence}")
        return "\n".join(out) + "\n"


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
    )


def main(argv: list[str]) -> int:
    options = parse(argv)
    harness.ensure_wrk()
    info = harness.machine()
    per_row = options.warmup + options.runs * options.duration + 0.5
    dbs = int(options.sqlite) + int(bool(options.postgres_url))
    rows = 10 + dbs * (
        4 * len(options.workloads) + 2 * len(options.scale_conns) * 3 * options.scale
    )
    print(
        f"{info['cpu']}; about {rows} rows x {per_row:.0f} s plus seeding "
        f"(~{(rows * per_row + dbs * 60) / 60:.0f} min)",
        flush=True,
    )
    if not options.postgres_url:
        print("PostgreSQL: not run (set CUECARD_BENCH_POSTGRES_URL to include it)", flush=True)

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="cuecard-bench-"))
    bench = Bench(options, workdir)
    try:
        bench.reference()
        if options.sqlite:
            bench.cuecard("sqlite", f"sqlite:///{workdir / 'cuecard.db'}")
            (workdir / "cuecard.db").unlink(missing_ok=True)
        if options.postgres_url:
            seed.reset_postgres(options.postgres_url)
            try:
                bench.cuecard("postgresql", options.postgres_url)
            finally:
                seed.reset_postgres(options.postgres_url)
        bench.reference(again=True)
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
