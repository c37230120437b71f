"""`cuecard trainings lint DIR` offline and `cuecard agents test AGENT [DIR]` against a real
server (both databases): output and exit codes, as a CI step sees them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cuecard.cli import app as cli_app
from cuecard.client import Client
from tests.cli.conftest import Cuecard
from tests.cli.test_remote import write
from tests.client.live import LiveServer

CONFLICTING = {
    "returns.md": "# Returns\n\nItems can be returned within 30 days of delivery for a full "
    "refund.\n",
    "return-window.md": "# Return window\n\nItems can be sent back within 60 days of delivery "
    "for a full refund.\n",
    "greeting.md": "# Greeting\n\nGreet {{ caller_name }} by name and ask how you can help.\n",
    "hours.md": "# Hours\n\nOpen nine to six.\n",
}
CLEAN = {
    "returns.md": "# Returns\n\nItems can be returned within 30 days of delivery for a full "
    "refund.\n",
    "hours.md": "# Store hours\n\nStores open at 9 am and close at 6 pm, Monday to Saturday.\n",
}


def lint(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, ["trainings", "lint", *args])
    return result.exit_code, result.output


class TestLintFiles:
    def test_errors_exit_1_and_name_the_files(self, tmp_path: Path) -> None:
        code, output = lint(str(write(tmp_path, CONFLICTING)))
        assert code == 1, output
        assert "CONFLICTING_VALUES  return-window.md, returns.md" in output
        assert "60 days" in output and "30 days" in output
        assert "UNFILLED_PLACEHOLDER  greeting.md" in output
        assert "ONE_LINE_INSTRUCTIONS  hours.md" in output
        assert "2 errors, 1 warning in 4 files." in output

    def test_a_clean_folder_exits_0_and_json_lists_findings(self, tmp_path: Path) -> None:
        code, output = lint(str(write(tmp_path, CLEAN)))
        assert (code, output.strip()) == (0, "0 errors, 0 warnings in 2 files.")
        code, output = lint(str(write(tmp_path / "bad", CONFLICTING)), "--json")
        assert code == 1
        assert {f["code"] for f in json.loads(output)} == {
            "CONFLICTING_VALUES",
            "UNFILLED_PLACEHOLDER",
            "ONE_LINE_INSTRUCTIONS",
        }

    def test_the_budget_option_and_invalid_tests(self, tmp_path: Path) -> None:
        folder = write(tmp_path, CLEAN)
        code, output = lint(str(folder), "--budget", "10")
        assert code == 1 and "TRAINING_OVER_BUDGET" in output
        write(folder, {"tests/broken.yaml": "conversation: []\n"})
        code, output = lint(str(folder))
        assert code == 2 and "broken.yaml" in output


@pytest.fixture
def api(server: LiveServer, token: str) -> Iterator[Client]:
    with Client(server.url, token) as client:
        yield client


class TestAgentsTest:
    def _agent(self, api: Client) -> tuple[str, dict[str, str]]:
        agent = api.agents.create("SupportBot", training_budget_tokens=40)
        ids = {}
        for subject, text in [
            ("Refunds", "Refunds go back to the original card within 5 business days."),
            ("Store hours", "Stores open at 9 am and close at 6 pm from Monday to Saturday."),
            ("Delivery tracking", "Every order gets a tracking link by text once dispatched."),
        ]:
            ids[subject] = api.trainings.upsert(agent.id, subject=subject, instructions=text).id
        return agent.id, ids

    def test_a_failing_test_exits_1_and_shows_what_ranked_above(
        self, remote: Cuecard, api: Client, tmp_path: Path
    ) -> None:
        agent_id, ids = self._agent(api)
        folder = write(
            tmp_path / "trainings",
            {
                "tests/refund.yaml": f"conversation:\n  - user: I want my money back\n"
                f"expect:\n  reach: [{ids['Refunds']}]\n",
                "tests/wrong.yaml": f"conversation:\n  - user: I want my money back\n"
                f"expect:\n  reach: [{ids['Store hours']}]\n",
            },
        )
        result = remote("agents", "test", agent_id, str(folder))
        assert result.exit_code == 1, result.output
        assert "PASS  refund" in result.output and "FAIL  wrong" in result.output
        assert "ranked above it: 1. Refunds" in result.output
        assert "1 of 2 tests passed on version draft." in result.output
        assert "not reached: Delivery tracking" in result.output

    def test_passing_tests_exit_0_and_stored_tests_run_without_dir(
        self, remote: Cuecard, api: Client, tmp_path: Path, server: LiveServer, token: str
    ) -> None:
        agent_id, ids = self._agent(api)
        folder = write(
            tmp_path / "trainings",
            {
                "tests/cases.yaml": "tests:\n"
                f"  - name: refund\n    conversation: [{{user: can I get a refund}}]\n"
                f"    expect: {{reach: [{ids['Refunds']}]}}\n"
                f"  - name: hours\n    conversation: [{{user: when do you open on saturday}}]\n"
                f"    expect: {{reach: [{ids['Store hours']}], not_reach: [{ids['Refunds']}]}}\n",
            },
        )
        result = remote("agents", "test", agent_id, str(folder), "--json")
        assert result.exit_code == 0, result.output
        assert [t["name"] for t in json.loads(result.output)["tests"]] == ["refund", "hours"]
        assert remote("agents", "test", agent_id).exit_code == 1  # nothing stored: 422
        import httpx

        httpx.put(
            f"{server.url}/api/v1/agents/{agent_id}/tests/stored",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "conversation": [{"role": "user", "content": "refund please"}],
                "expect": {"reach": [ids["Refunds"]]},
            },
        ).raise_for_status()
        stored = remote("agents", "test", agent_id)
        assert stored.exit_code == 0 and "PASS  stored" in stored.output
