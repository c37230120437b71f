"""`cuecard phone-numbers add/list/remove`, run through the typer app on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cuecard.cli import app as cli_app
from tests.conftest import SECRET


@pytest.fixture
def cuecard(database_url: str) -> Any:
    env = {"CUECARD_DATABASE_URL": database_url, "CUECARD_SECRET_KEY": SECRET}

    def run(*args: str) -> Any:
        # The CLI runs its own event loop: give it a thread while the test's loop runs.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(CliRunner().invoke, cli_app, list(args), env=env).result()

    return run


Headers = dict[str, str]


class TestPhoneNumbersCommands:
    async def test_add_list_remove_through_the_api(
        self, cuecard: Any, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        added = cuecard("phone-numbers", "add", "+1 212 555 0190", "--environment", "default",
                        "--direction", "inbound", "--label", "Front desk")  # fmt: skip
        assert added.exit_code == 0, added.output
        number_id = added.stdout.strip()

        listed = await client.get("/api/v1/phone-numbers", headers=headers)
        assert [n["id"] for n in listed.json()["data"]] == [number_id]
        assign = await client.put(
            f"/api/v1/agents/{agent['id']}/calling",
            json={"direction": "inbound", "phone_number_ids": [number_id]},
            headers=headers,
        )
        assert assign.status_code == 200
        table = cuecard("phone-numbers", "list", "--environment", "default")
        assert (
            f"{number_id}\t+12125550190\tdefault\tinbound\tFront desk\t{agent['id']}"
            in table.stdout
        )

        again = cuecard("phone-numbers", "add", "+12125550190", "--environment", "default")
        removed = cuecard("phone-numbers", "remove", "+12125550190")

        assert again.exit_code == 1 and "already registered" in again.stderr
        assert removed.exit_code == 0, removed.output
        got = await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)
        assert got.json()["data"]["phone_numbers"] == []

    def test_bad_number_and_unknown_environment(self, cuecard: Any) -> None:
        cuecard("init")
        bad = cuecard("phone-numbers", "add", "12", "--environment", "default")
        nowhere = cuecard("phone-numbers", "add", "+12125550191", "--environment", "nope")
        missing = cuecard("phone-numbers", "remove", "+12125550199")

        assert bad.exit_code == 1 and bad.stderr.startswith("error: ")
        assert nowhere.exit_code == 1
        assert missing.exit_code == 1 and "not found" in missing.stderr
