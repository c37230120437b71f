"""The reference every ratio is taken against: raw Starlette, no framework layers, no database.

`GET /hello` returns a fixed ~300-byte JSON object built per request (an agent-shaped record);
`POST /echo` parses a training-sized JSON body, checks its three fields by hand and echoes it back.
Served the way `cuecard serve` serves Cuecard (uvicorn, uvloop, httptools, one SO_REUSEPORT
socket per worker process), so the ratio measures what Cuecard adds on top of the ASGI server and
HTTP handling: routing, auth, validation, the database and serialisation.

    python reference_app.py PORT WORKERS
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import socket
import sys
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_HELLO: dict[str, Any] = {
    "id": "5f0e7d2c-9a41-4c3e-8b7a-2d6f1e9c3a10",
    "name": "front-desk",
    "label": "Front desk",
    "language": "en-US",
    "current_status": "published",
    "is_sandbox": False,
    "conversation_speed": 1.0,
    "created_at": "2026-11-28T10:00:00.000000Z",
    "updated_at": "2026-11-28T10:00:00.000000Z",
    "tags": ["billing", "support", "returns"],
}


async def hello(request: Request) -> Response:
    return JSONResponse({"success": True, "data": dict(_HELLO)})


async def echo(request: Request) -> Response:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return JSONResponse({"success": False, "message": "invalid JSON"}, 422)
    if not isinstance(body, dict):
        return JSONResponse({"success": False, "message": "expected an object"}, 422)
    node_id, subject, instructions = (
        body.get("node_id"),
        body.get("subject"),
        body.get("instructions"),
    )
    if (
        not isinstance(subject, str)
        or not 0 < len(subject) <= 255
        or not isinstance(instructions, str)
        or not instructions
        or not (node_id is None or (isinstance(node_id, str) and len(node_id) <= 255))
    ):
        return JSONResponse({"success": False, "message": "invalid training"}, 422)
    data = {"node_id": node_id, "subject": subject, "instructions": instructions}
    return JSONResponse({"success": True, "message": "ok", "data": data})


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/hello", hello),
        Route("/echo", echo, methods=["POST"]),
        Route("/health", health),
    ]
)


def _worker(port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    config = uvicorn.Config(
        "reference_app:app", loop="uvloop", http="httptools", access_log=False, log_level="warning"
    )
    uvicorn.Server(config).run(sockets=[sock])


def main(port: int, workers: int) -> None:
    if workers == 1:
        _worker(port)
        return
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(port,)) for _ in range(workers)]

    def stop(signum: int, frame: object) -> None:
        for process in processes:
            process.terminate()

    signal.signal(signal.SIGTERM, stop)
    for process in processes:
        process.start()
    for process in processes:
        process.join()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
