"""`cuecard serve` as a subprocess whose log goes to a file, for the tests of what operators see."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import SECRET, free_port, wait_until_serving

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
        wait_until_serving(process, f"{base}/health", log_file.read_text, seconds=30)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def json_lines(log_file: Path) -> list[dict[str, Any]]:
    """Every line of the log parsed as JSON (fails the test on a line that is not)."""
    return [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
