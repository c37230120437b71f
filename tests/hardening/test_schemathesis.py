"""Schemathesis over every operation of Cuecard's own OpenAPI document, against a real
`cuecard serve` on each database: 0 server errors, 0 responses the document does not describe.

Bounded: a fixed seed and a few examples per operation (about 500 requests per database). The
path parameters point at a real published agent, so the fuzzing reaches the handlers instead of
stopping at 404.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import bearer
from tests.hardening.servers import make_token_in, serve

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


class TestSchemathesis:
    async def test_every_operation_conforms_to_the_document_with_no_server_error(
        self, database_url: str, backend: str, tmp_path: Path, app: Any
    ) -> None:
        token = await make_token_in(database_url, "fuzz", rate_limit=1_000_000)
        with serve(database_url, tmp_path) as server:
            agent = httpx.post(f"{server.url}/api/v1/agents", json={"name": "Fuzz"},
                               headers=bearer(token)).json()["data"]  # fmt: skip
            training = httpx.post(
                f"{server.url}/api/v1/agents/{agent['id']}/trainings",
                json={"node_id": "n", "subject": "Refunds", "instructions": "Be kind."},
                headers=bearer(token),
            ).json()["data"]
            httpx.post(f"{server.url}/api/v1/agents/{agent['id']}/publish", headers=bearer(token))
            config = tmp_path / "schemathesis.toml"
            config.write_text(
                "[parameters]\n"
                f'"path.agent_id" = "{agent["id"]}"\n'
                f'"path.training_id" = "{training["id"]}"\n'
                '"path.version" = "1"\n'
            )
            result = subprocess.run(
                [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
                 f"{server.url}/openapi.json", "-H", f"Authorization: Bearer {token}",
                 "--checks", CHECKS, "--max-examples", "10", "--seed", "20261201",
                 "--phases", "examples,coverage,fuzzing", "--no-color",
                 "--report-dir", str(tmp_path / "report"), "--request-timeout", "30"],
                capture_output=True, text=True, timeout=600, cwd=tmp_path,
                env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
            )  # fmt: skip
            log = server.output()
            document = httpx.get(f"{server.url}/openapi.json").json()

        assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
        assert "unhandled error" not in log
        operations = sum(len(methods) for methods in document["paths"].values())
        assert f"Tested: {operations}" in result.stdout
        counts = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
        assert counts is not None and counts[1] == counts[2] and int(counts[1]) > 20 * operations
