"""Private servers for tests that stop, freeze or fill them: a PostgreSQL cluster and a Redis of
their own on free ports (never the shared test cluster), and `cuecard serve` processes."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import SECRET, free_port, wait_until_serving


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL binaries are not installed (/usr/lib/postgresql/*/bin)")
    return Path(found[-1]).parent


def _as_postgres(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: drop to the postgres user then.
    return (
        ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *args]
        if (os.geteuid() == 0)
        else args
    )


@dataclass
class PrivatePostgres:
    data: Path
    port: int
    bin: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), *args]),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data}"
            " -c fsync=off -c max_connections=50"
        )
        self._ctl("-l", str(self.data / "server.log"), "-w", "-o", options, "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def _postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def _children(self) -> list[int]:
        found = subprocess.run(
            ["pgrep", "-P", str(self._postmaster_pid())], capture_output=True, text=True
        ).stdout.split()
        return [int(pid) for pid in found]

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: connections stay open, nothing answers.
        The postmaster first, so no backend is forked after the list of them is taken."""
        os.kill(self._postmaster_pid(), signal.SIGSTOP)
        for pid in self._children():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._children():
            os.kill(pid, signal.SIGCONT)
        os.kill(self._postmaster_pid(), signal.SIGCONT)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    bin = _pg_bin()
    # Not under pytest's tmp_path: the postgres user cannot enter root's 0700 folders.
    data = Path(tempfile.mkdtemp(prefix="cuecard-test-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    subprocess.run(
        _as_postgres([str(bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--no-sync"]),
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip
    server = PrivatePostgres(data, free_port(), bin)
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.thaw()
        with contextlib.suppress(Exception):
            server.stop()
        shutil.rmtree(data, ignore_errors=True)


@contextlib.contextmanager
def private_redis(tmp: Path) -> Iterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with contextlib.closing(__import__("socket").create_connection(
                    ("127.0.0.1", port), timeout=0.2
                )):  # fmt: skip
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serve(
    database_url: str, tmp: Path, *, workers: int = 1, env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[Served]:  # fmt: skip
    """`cuecard serve` on a free port; its stdout and stderr go to a file the test can read."""
    port = free_port()
    log = tmp / f"serve-{port}.log"
    environ = {
        **os.environ,
        "CUECARD_DATABASE_URL": database_url,
        "CUECARD_SECRET_KEY": SECRET,
        "CUECARD_ENV": "test",
        **(env or {}),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cuecard.cli", "serve", "--port", str(port),
             "--workers", str(workers), *args],
            env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, f"{base}/livez", lambda: log.read_text()[-2000:])
        yield Served(base, process, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def make_token_in(database_url: str, environment: str = "default", **kwargs: object) -> str:
    """A real token in `environment` (created if needed) through the service functions."""
    from cuecard.auth import service as auth
    from cuecard.core.db import Database

    db = await Database.connect(database_url)
    try:
        async with db.transaction() as uow:
            await auth.ensure_environment(uow, environment)
            if "rate_limit" in kwargs:
                await auth.update_environment(uow, environment, kwargs["rate_limit"])  # type: ignore[arg-type]
            _, secret = await auth.create_token(uow, SECRET.encode(), "talq_", environment)
    finally:
        await db.close()
    return secret


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]
