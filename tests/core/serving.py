"""`cuecard serve` as a subprocess whose log goes to a file, for the tests of what operators see."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import SECRET, free_port

CUECARD = str(Path(sys.executable).parent / "cuecard")  # the installed command, as users run it


@contextmanager
def cuecard_serve(
    database_url: str,
    log_file: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[str]:
    port = free_port()
    environ = {
        **os.environ,
        "CUECARD_DATABASE_URL": database_url,
        "CUECARD_SECRET_KEY": SECRET,
        **(env or {}),
    }
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [CUECARD, "serve", "--port", str(port), "--workers", str(workers), *args],
            env=environ, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log_file.read_text()}")
            time.sleep(0.05)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def json_lines(log_file: Path) -> list[dict[str, Any]]:
    """Every line of the log parsed as JSON (fails the test on a line that is not)."""
    return [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
