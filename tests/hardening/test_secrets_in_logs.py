"""No secret reaches a log, not even one sent in a query string with the access log on."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import httpx

from cuecard.core.config import Settings
from cuecard.core.logs import configure_logging
from tests.conftest import bearer
from tests.hardening.servers import make_token_in, serve


class TestAccessLog:
    async def test_tokens_in_query_strings_never_reach_the_access_log(
        self, database_url: str, backend: str, tmp_path: Path, app: object
    ) -> None:
        token = await make_token_in(database_url)
        with serve(database_url, tmp_path, args=("--access-log",)) as server:
            httpx.get(f"{server.url}/api/v1/agents?token={token}", timeout=10)
            httpx.get(f"{server.url}/api/v1/agents?api_key=hunter2-secret&page=1", timeout=10)
            httpx.get(f"{server.url}/api/v1/agents?search={token}", headers=bearer(token))
            httpx.get(f"{server.url}/api/v1/agents", headers=bearer(token), timeout=10)
        log = server.output()  # once it has stopped: every line is written

        lines = [json.loads(line) for line in log.splitlines() if '"cuecard.access"' in line]
        access = [line for line in lines if line["route"] != "/livez"]  # the start-up probe
        assert [(line["route"], line["status"]) for line in access] == [
            ("/api/v1/agents", 401), ("/api/v1/agents", 401),
            ("/api/v1/agents", 200), ("/api/v1/agents", 200),
        ]  # fmt: skip
        assert token not in log
        assert token[len("talq_") :] not in log
        assert "hunter2-secret" not in log


class TestEveryLogLine:
    def test_a_token_anywhere_in_a_line_is_redacted_whoever_logs_it(self) -> None:
        stream = io.StringIO()
        root = logging.getLogger()
        saved = (list(root.handlers), root.level)
        try:
            configure_logging(Settings(log_format="json"), stream)
            token = "talq_" + "A1b2" * 10
            logging.getLogger("some.library").warning("connecting with %s", token)
            try:
                raise RuntimeError(f"bad token {token}")
            except RuntimeError:
                logging.getLogger("cuecard.errors").exception("failed")
        finally:
            root.handlers[:], root.level = saved

        written = stream.getvalue()
        assert token not in written
        assert written.count("talq_[redacted]") == 2
