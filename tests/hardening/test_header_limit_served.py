"""Through the real server: a huge header is refused with 431 before it is buffered."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.hardening.servers import serve


def raw_request(base: str, header_bytes: int) -> bytes:
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(b"GET /api/v1/agents HTTP/1.1\r\nHost: t\r\nX-Big: ")
        sent = 0
        try:
            while sent < header_bytes:
                sock.sendall(b"a" * 65536)
                sent += 65536
            sock.sendall(b"\r\n\r\n")
        except OSError:
            pass  # the server closed the connection: what a refusal looks like mid-send
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


class TestHeaderLimit:
    async def test_a_64_mb_header_is_431_not_accepted(
        self, database_url: str, backend: str, tmp_path: Path, app: object
    ) -> None:
        with serve(database_url, tmp_path) as server:
            answer = raw_request(server.url, 64 * 1024 * 1024)
            still_serving = httpx.get(f"{server.url}/livez")

        assert answer.startswith(b"HTTP/1.1 431 ")
        assert b'"code": "HEADERS_TOO_LARGE"' in answer
        assert still_serving.status_code == 200

    async def test_a_header_just_over_the_limit_is_431_in_the_envelope(
        self, database_url: str, backend: str, tmp_path: Path, app: object
    ) -> None:
        with serve(database_url, tmp_path) as server:
            response = httpx.get(f"{server.url}/api/v1/agents", headers={"X-Big": "a" * 17_000})

        assert response.status_code == 431
        assert response.json()["code"] == "HEADERS_TOO_LARGE"
