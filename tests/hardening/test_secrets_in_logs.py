"""No secret reaches a log, not even one sent in a query string with the access log on."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import bearer
from tests.hardening.servers import make_token_in, serve


class TestAccessLog:
    async def test_tokens_in_query_strings_are_redacted_from_the_access_log(
        self, database_url: str, backend: str, tmp_path: Path, app: object
    ) -> None:
        token = await make_token_in(database_url)
        with serve(database_url, tmp_path, args=("--access-log",)) as server:
            httpx.get(f"{server.url}/api/v1/agents?token={token}", timeout=10)
            httpx.get(f"{server.url}/api/v1/agents?api_key=hunter2-secret&page=1", timeout=10)
            httpx.get(f"{server.url}/api/v1/agents?search={token}", headers=bearer(token))
            httpx.get(f"{server.url}/api/v1/agents", headers=bearer(token), timeout=10)
            log = server.output()

        assert "/api/v1/agents?token=[redacted]" in log
        assert "api_key=[redacted]&page=1" in log
        assert token not in log
        assert token[len("talq_") :] not in log
        assert "hunter2-secret" not in log
