"""Run the API on uvicorn, with one listening socket per worker process.

uvicorn's own `--workers` shares one listening socket between processes, and a busy process keeps
accepting: with keep-alive clients one worker can end up holding every connection while the other
idles (bench/README.md measured 2 workers at 1.0x the throughput of one). Here each worker binds
its own socket with SO_REUSEPORT (Linux) and the kernel spreads new connections across them.

Every process logs in the configured format (`cuecard.core.logs`), and when metrics are on the
workers share one folder of Prometheus samples (PROMETHEUS_MULTIPROC_DIR, a fresh temporary one
unless it is set), so a scrape counts every worker. With CUECARD_METRICS=port this process also
answers scrapes on CUECARD_METRICS_PORT.
"""

from __future__ import annotations

import gc
import json
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from pathlib import Path
from types import FrameType

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cuecard.core.config import Settings
from cuecard.core.errors import HeadersTooLarge, error_body
from cuecard.core.logs import configure_logging

log = logging.getLogger("cuecard.serving")
_GRACE_SECONDS = 30.0
_SWITCH_SECONDS = 0.001
# Room for the request line (method, target, version) on top of CUECARD_MAX_HEADER_BYTES.
_REQUEST_LINE_BYTES = 8 * 1024


class HeaderLimitedProtocol(HttpToolsProtocol):
    """httptools buffers a request's headers without limit (a 64 MB header was accepted). This
    counts the bytes received before the headers end and answers 431 past the limit, before
    they are buffered; `RequestGuardMiddleware` applies the exact limit to what gets through."""

    max_bytes = Settings.max_header_bytes + _REQUEST_LINE_BYTES

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._in_headers = True
        self._header_bytes = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._header_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_headers = True

    def data_received(self, data: bytes) -> None:
        if self._in_headers:
            self._header_bytes += len(data)
            if self._header_bytes > self.max_bytes:
                self._refuse()
                return
        super().data_received(data)

    def _refuse(self) -> None:
        err = HeadersTooLarge()
        body = json.dumps(error_body(err.message, err.code)).encode()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
        )
        self.transport.close()


class _Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # What the process holds once it has started (modules, the app, its schemas) stays
        # for its life: moved out of the cyclic collector's reach, a full collection no longer
        # walks it. With a 10,000-training agent in memory, the longest such pause of the event
        # loop went from 150-220 ms to about 25 ms (bench/README.md, "Big agents").
        gc.collect()
        gc.freeze()
        # A worker thread (compiling a big agent, building its index) hands the GIL back to the
        # event loop after at most this long, instead of Python's 5 ms: a request waiting for
        # it waits less, at a few microseconds per switch.
        sys.setswitchinterval(_SWITCH_SECONDS)


def _config(host: str, port: int) -> uvicorn.Config:
    settings = Settings.from_env()
    HeaderLimitedProtocol.max_bytes = settings.max_header_bytes + _REQUEST_LINE_BYTES
    return uvicorn.Config(
        "cuecard.app:create_app",
        factory=True,
        host=host,
        port=port,
        loop="uvloop",
        http=HeaderLimitedProtocol,
        # The access log is Cuecard's own (it knows the route and the token); logging is set
        # up by configure_logging, not by uvicorn.
        access_log=False,
        log_config=None,
        log_level=settings.log_level,
    )


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker(host: str, port: int) -> None:
    configure_logging(Settings.from_env())
    try:
        sock = _listen(host, port)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        sys.exit(3)
    _Server(_config(host, port)).run(sockets=[sock])


def serve(host: str, port: int, workers: int = 1) -> int:
    """Serve until stopped; returns the exit status."""
    settings = Settings.from_env()
    configure_logging(settings)
    cleanup = _metrics_folder(settings)
    try:
        # All of the server, once the metrics folder is chosen: a missing package is reported
        # (by `cuecard serve`) before anything listens.
        import cuecard.app  # noqa: F401
    except ImportError:
        cleanup()
        raise
    try:
        stop_metrics = _metrics_listener(settings, host)
    except OSError as exc:
        print(
            f"error: cannot listen for metrics on {host}:{settings.metrics_port}: {exc.strerror}",
            file=sys.stderr,
        )
        cleanup()
        return 3
    try:
        if workers == 1:
            _Server(_config(host, port)).run()
            return 0
        return _supervise(host, port, workers)
    finally:
        stop_metrics()
        cleanup()


def _metrics_folder(settings: Settings) -> Callable[[], None]:
    """Points PROMETHEUS_MULTIPROC_DIR at an empty folder before prometheus-client is imported
    (it picks its storage at import); returns what removes it again. With metrics off nothing
    reads the samples, so there is no folder: each process keeps its few in memory."""
    if not settings.metrics_on:
        return lambda: None
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before serve() chose its folder")
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        # Samples of a previous run would be added to this one's.
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        return lambda: None
    folder = tempfile.mkdtemp(prefix="cuecard-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return lambda: shutil.rmtree(folder, ignore_errors=True)


def _metrics_listener(settings: Settings, host: str) -> Callable[[], None]:
    if settings.metrics != "port":
        return lambda: None
    from prometheus_client import start_http_server

    from cuecard.core.metrics import registry

    server, thread = start_http_server(settings.metrics_port, addr=host, registry=registry())
    log.info("metrics on http://%s:%d/metrics", host, settings.metrics_port)

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=5)

    return stop


def _supervise(host: str, port: int, workers: int) -> int:
    """Start the workers and wait. SIGTERM is passed on to them (each then shuts down gracefully);
    Ctrl-C reaches them directly through the terminal. If a worker dies on its own, the others
    are stopped too and the exit status says so, for the process manager to restart us."""
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(host, port), name=f"cuecard-worker-{i}")
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
            _forget_worker(process.pid)
            if deadline is None:
                status = process.exitcode or 1
                stop(signal.SIGTERM)
        if deadline is not None and time.monotonic() > deadline:
            for process in running:
                process.kill()
    return status


def _forget_worker(pid: int | None) -> None:
    """A dead worker's in-flight requests no longer count (its counters still do)."""
    from prometheus_client import multiprocess

    if pid is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
