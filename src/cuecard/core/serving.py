"""Run the API on uvicorn, with one listening socket per worker process.

uvicorn's own `--workers` shares one listening socket between processes, and a busy process keeps
accepting: with keep-alive clients one worker can end up holding every connection while the other
idles (bench/README.md measured 2 workers at 1.0x the throughput of one). Here each worker binds
its own socket with SO_REUSEPORT (Linux) and the kernel spreads new connections across them.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import time
from multiprocessing.connection import wait
from types import FrameType

import uvicorn

log = logging.getLogger("cuecard.serving")
_GRACE_SECONDS = 30.0


def _config(host: str, port: int, access_log: bool) -> uvicorn.Config:
    return uvicorn.Config(
        "cuecard.app:create_app",
        factory=True,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=access_log,
        log_level="info",
    )


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker(host: str, port: int, access_log: bool) -> None:
    try:
        sock = _listen(host, port)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        sys.exit(3)
    uvicorn.Server(_config(host, port, access_log)).run(sockets=[sock])


def serve(host: str, port: int, workers: int = 1, access_log: bool = False) -> int:
    """Serve until stopped; returns the exit status."""
    if workers == 1:
        uvicorn.Server(_config(host, port, access_log)).run()
        return 0
    return _supervise(host, port, workers, access_log)


def _supervise(host: str, port: int, workers: int, access_log: bool) -> int:
    """Start the workers and wait. SIGTERM is passed on to them (each then shuts down gracefully);
    Ctrl-C reaches them directly through the terminal. If a worker dies on its own, the others
    are stopped too and the exit status says so, for the process manager to restart us."""
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(host, port, access_log), name=f"cuecard-worker-{i}")
        for i in range(workers)
    ]
    deadline: float | None = None

    def stop(signum: int, frame: FrameType | None = None) -> None:
        nonlocal deadline
        if deadline is None:
            deadline = time.monotonic() + _GRACE_SECONDS
        if signum == signal.SIGTERM:
            for process in processes:
                if process.is_alive():
                    process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.start()
    log.info("serving on %s:%d with %d workers", host, port, workers)

    status = 0
    running = list(processes)
    while running:
        for sentinel in wait([p.sentinel for p in running], timeout=1.0):
            process = next(p for p in running if p.sentinel == sentinel)
            process.join()
            running.remove(process)
            if deadline is None:
                status = process.exitcode or 1
                stop(signal.SIGTERM)
        if deadline is not None and time.monotonic() > deadline:
            for process in running:
                process.kill()
    return status
