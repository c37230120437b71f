"""Agent tests through the API: storing them, runs with pass/fail, why a training was missing,
coverage, reply checks against the loopback fake LLM, and the publish gates. Both databases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from cuecard.core.config import Settings
from tests.conftest import SECRET, TokenFactory, bearer
from tests.runtime.fake_llm import FakeLlm, running_fake_llm
from tests.runtime.helpers import add_training

CreateAgent = Callable[..., Awaitable[dict[str, Any]]]
Headers = dict[str, str]

SUPPORT = [
    (
        "refunds",
        "Refunds",
        "Refunds go back to the original card within 5 business days of the "
        "warehouse receiving the item.",
    ),
    ("hours", "Store hours", "Stores open at 9 am and close at 6 pm from Monday to Saturday."),
    (
        "password",
        "Password reset",
        "Send a password reset link to the email on the account and never read a password aloud.",
    ),
    (
        "tracking",
        "Delivery tracking",
        "Every order gets a tracking link by text message once it leaves the warehouse.",
    ),
]


@pytest.fixture
async def support(
    client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
) -> dict[str, Any]:
    """Over its budget (retrieval mode), with one training pinned inline."""
    agent = await create_agent(training_budget_tokens=60)
    ids = {}
    for node_id, subject, instructions in SUPPORT:
        # No node_id: a node_id scopes a training to that flow node, out of retrieval.
        training = await add_training(
            client, headers, agent["id"], subject=subject, instructions=instructions
        )
        ids[node_id] = training["id"]
    pinned = await add_training(
        client,
        headers,
        agent["id"],
        subject="Tone",
        instructions="Be brief and friendly on every call.",
        pinned=True,
    )
    ids["tone"] = pinned["id"]
    return {**agent, "ids": ids}


def case(name: str, text: str, **expect: Any) -> dict[str, Any]:
    return {"name": name, "conversation": [{"role": "user", "content": text}], "expect": expect}


async def run(
    client: httpx.AsyncClient, headers: Headers, agent_id: str, **body: Any
) -> httpx.Response:
    return await client.post(f"/api/v1/agents/{agent_id}/test-runs", json=body, headers=headers)


class TestStoredTests:
    async def test_a_test_is_upserted_by_name_listed_and_deleted(
        self, client: httpx.AsyncClient, headers: Headers, support: dict[str, Any]
    ) -> None:
        path = f"/api/v1/agents/{support['id']}/tests/billing/refund"
        body: dict[str, Any] = {
            "conversation": [{"role": "user", "content": "money back"}],
            "expect": {"reach": ["refunds"]},
        }
        created = await client.put(path, json=body, headers=headers)
        assert created.status_code == 200, created.text
        assert created.json()["message"] == "Agent test created successfully"
        body["expect"] = {"reach": ["refunds"], "not_reach": ["hours"]}  # names, unchecked here
        updated = await client.put(path, json=body, headers=headers)
        assert updated.json()["message"] == "Agent test updated successfully"
        assert updated.json()["data"]["id"] == created.json()["data"]["id"]
        listed = await client.get(f"/api/v1/agents/{support['id']}/tests", headers=headers)
        [test] = listed.json()["data"]
        assert test["name"] == "billing/refund" and test["expect"]["not_reach"] == ["hours"]
        assert (await client.delete(path, headers=headers)).status_code == 200
        assert (await client.delete(path, headers=headers)).status_code == 404

    async def test_an_invalid_test_is_a_422_in_the_envelope(
        self, client: httpx.AsyncClient, headers: Headers, support: dict[str, Any]
    ) -> None:
        response = await client.put(
            f"/api/v1/agents/{support['id']}/tests/x",
            json={"conversation": [{"role": "robot", "content": "hi"}]},
            headers=headers,
        )
        assert response.status_code == 422
        assert response.json()["success"] is False and "conversation.0.role" in str(
            response.json()["errors"]
        )
        ends_with_agent = await client.put(
            f"/api/v1/agents/{support['id']}/tests/x",
            json={"conversation": [{"role": "assistant", "content": "hi"}]},
            headers=headers,
        )
        assert ends_with_agent.status_code == 422

    async def test_another_environments_agent_is_a_404_and_read_only_cannot_write(
        self, client: httpx.AsyncClient, make_token: TokenFactory, support: dict[str, Any]
    ) -> None:
        other = bearer(await make_token(environment="other"))
        assert (
            await client.get(f"/api/v1/agents/{support['id']}/tests", headers=other)
        ).status_code == 404
        reader = bearer(await make_token(read_only=True))
        response = await run(client, reader, support["id"], tests=[case("t", "hi")])
        assert response.status_code == 403


class TestRuns:
    async def test_pass_fail_what_reached_and_what_ranked_above_a_missing_training(
        self, client: httpx.AsyncClient, headers: Headers, support: dict[str, Any]
    ) -> None:
        ids = support["ids"]
        response = await run(
            client,
            headers,
            support["id"],
            tests=[
                case(
                    "paraphrase",
                    "I want my money back",
                    reach=[ids["refunds"]],
                    not_reach=[ids["hours"]],
                ),
                case("wrong", "I want my money back", reach=[ids["hours"]]),
                case("unwanted", "what time do you close on saturday", not_reach=[ids["hours"]]),
            ],
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert (data["total"], data["failed"], data["passed"]) == (3, 2, False)
        paraphrase, wrong, unwanted = data["tests"]
        assert paraphrase["passed"] and paraphrase["failures"] == []
        vias = {r["training_id"]: r["via"] for r in paraphrase["reached"]}
        assert vias[ids["refunds"]] == "retrieved" and vias[ids["tone"]] == "system"  # pinned
        [missing] = wrong["failures"]
        assert missing["kind"] == "missing" and missing["training"]["training_id"] == ids["hours"]
        assert missing["ranked_above"][0]["training_id"] == ids["refunds"]
        [extra] = unwanted["failures"]
        assert extra["kind"] == "unexpected" and extra["training"]["training_id"] == ids["hours"]

    async def test_coverage_lists_the_active_trainings_no_test_reached(
        self, client: httpx.AsyncClient, headers: Headers, support: dict[str, Any]
    ) -> None:
        ids = support["ids"]
        response = await run(
            client,
            headers,
            support["id"],
            tests=[
                case("refund", "I want my money back", reach=[ids["refunds"]]),
                case("hours", "when do you open", reach=[ids["hours"]]),
            ],
        )
        data = response.json()["data"]
        coverage = data["coverage"]
        reached = {r["training_id"] for t in data["tests"] for r in t["reached"]}
        unreached = {t["training_id"] for t in coverage["unreached"]}
        assert coverage["active"] == 5 and coverage["reached"] == len(reached)
        assert unreached == set(ids.values()) - reached
        assert ids["tracking"] in unreached  # no test is about deliveries
        assert ids["refunds"] not in unreached and ids["hours"] not in unreached

    async def test_stored_tests_run_when_none_are_sent_and_a_run_can_be_read_back(
        self, client: httpx.AsyncClient, headers: Headers, support: dict[str, Any]
    ) -> None:
        assert (await run(client, headers, support["id"])).status_code == 422  # no tests yet
        await client.put(
            f"/api/v1/agents/{support['id']}/tests/refund",
            headers=headers,
            json={
                "conversation": [{"role": "user", "content": "can I get a refund"}],
                "expect": {"reach": [support["ids"]["refunds"]]},  # by id works too
            },
        )
        response = await run(client, headers, support["id"], version="draft")
        data = response.json()["data"]
        assert data["passed"] and data["tests"][0]["name"] == "refund"
        assert data["version"] == "draft" and data["draft_revision"] is not None
        again = await client.get(
            f"/api/v1/agents/{support['id']}/test-runs/{data['id']}", headers=headers
        )
        assert again.json()["data"] == data

    async def test_an_unknown_training_name_fails_the_test(
        self, client: httpx.AsyncClient, headers: Headers, support: dict[str, Any]
    ) -> None:
        response = await run(
            client, headers, support["id"], tests=[case("typo", "hello", reach=["refundz"])]
        )
        [failure] = response.json()["data"]["tests"][0]["failures"]
        assert failure["kind"] == "unknown_training" and failure["expected"] == "refundz"

    async def test_reply_checks_are_skipped_without_an_llm(
        self, client: httpx.AsyncClient, headers: Headers, support: dict[str, Any]
    ) -> None:
        ids = support["ids"]
        response = await run(
            client,
            headers,
            support["id"],
            tests=[
                case("reply", "money back", reach=[ids["refunds"]], reply={"mentions": ["5 days"]}),
            ],
        )
        data = response.json()["data"]
        assert data["llm"] is False and data["passed"] is True
        assert data["tests"][0]["reply_checks"] == "skipped"


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    with running_fake_llm() as fake:
        yield fake


class TestReplyChecksWithAnLlm:
    @pytest.fixture
    def settings(self, database_url: str, fake_llm: FakeLlm) -> Settings:
        return Settings(
            database_url=database_url,
            env="test",
            secret_key=SECRET,
            llm_base_url=fake_llm.url,
            llm_api_key="sk-test",
            llm_model="fake-model",
        )

    async def test_mentions_forbidden_text_and_the_judged_criterion(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        support: dict[str, Any],
        fake_llm: FakeLlm,
    ) -> None:
        def answer(body: dict[str, Any]) -> str:
            if "You check a voice agent's reply" in body["messages"][0]["content"]:
                return "YES" if "5 business days" in body["messages"][-1]["content"] else "NO"
            return "Your refund reaches the card within 5 business days."

        fake_llm.answer = answer
        response = await run(
            client,
            headers,
            support["id"],
            tests=[
                case(
                    "good",
                    "money back",
                    reply={"mentions": ["5 business days"], "criterion": "Gives the refund delay"},
                ),
                case(
                    "bad", "money back", reply={"mentions": ["voucher"], "not_mentions": ["refund"]}
                ),
            ],
        )
        data = response.json()["data"]
        good, bad = data["tests"]
        assert data["llm"] is True
        assert good["passed"] and good["reply_checks"] == "passed"
        assert good["reply"] == "Your refund reaches the card within 5 business days."
        assert {f["kind"] for f in bad["failures"]} == {
            "reply_missing_text",
            "reply_forbidden_text",
        }
        # The reply request carried the retrieved training, like a test conversation does.
        replies = [r for r in fake_llm.received if "You check" not in r.messages[0]["content"]]
        assert "### Refunds" in replies[0].text

        fake_llm.answer = lambda body: (
            "NO"
            if "You check" in body["messages"][0]["content"]
            else ("Refunds take 5 business days.")
        )
        judged = await run(
            client,
            headers,
            support["id"],
            tests=[case("judged", "money back", reply={"criterion": "Apologises first"})],
        )
        [failure] = judged.json()["data"]["tests"][0]["failures"]
        assert failure["kind"] == "reply_criterion"


class TestPublishGates:
    async def test_publish_requires_the_last_draft_run_to_pass(
        self, client: httpx.AsyncClient, headers: Headers, support: dict[str, Any]
    ) -> None:
        ids = support["ids"]
        agent_id = support["id"]
        await client.patch(
            f"/api/v1/agents/{agent_id}",
            headers=headers,
            json={"publish_requires_passing_tests": True},
        )
        publish = f"/api/v1/agents/{agent_id}/publish"
        untested = await client.post(publish, headers=headers)
        assert untested.status_code == 422 and untested.json()["code"] == "TESTS_NOT_PASSED"
        await run(
            client, headers, agent_id, tests=[case("bad", "money back", reach=[ids["hours"]])]
        )
        failed = await client.post(publish, headers=headers)
        assert failed.status_code == 422 and "failed 1 of 1" in str(failed.json()["errors"])
        await run(
            client, headers, agent_id, tests=[case("ok", "money back", reach=[ids["refunds"]])]
        )
        assert (await client.post(publish, headers=headers)).status_code == 200
        # A later change makes a new draft revision: the old run no longer counts.
        await add_training(
            client,
            headers,
            agent_id,
            subject="New",
            instructions="Something new to say to every caller who asks about it.",
        )
        stale = await client.post(publish, headers=headers)
        assert stale.status_code == 422 and "No test run on this draft" in str(
            stale.json()["errors"]
        )

    async def test_publish_refuses_lint_errors_and_names_them(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(publish_requires_clean_lint=True)
        bad = await add_training(
            client,
            headers,
            agent["id"],
            subject="Greeting",
            instructions="Greet {{ caller_name }} and ask how you can help them today.",
        )
        response = await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)
        assert response.status_code == 422 and response.json()["code"] == "LINT_ERRORS"
        [message] = response.json()["errors"]["lint"]
        assert message.startswith(f"UNFILLED_PLACEHOLDER ({bad['id']})")
        await add_training(
            client,
            headers,
            agent["id"],
            subject="Greeting",
            instructions="Greet the caller and ask how you can help them today.",
            node_id=None,
        )
        await client.delete(f"/api/v1/agents/{agent['id']}/trainings/{bad['id']}", headers=headers)
        assert (
            await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)
        ).status_code == 200

    async def test_without_the_settings_publish_ignores_lint_and_tests(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent()
        assert agent["publish_requires_clean_lint"] is False
        assert agent["publish_requires_passing_tests"] is False
        await add_training(
            client,
            headers,
            agent["id"],
            subject="Greeting",
            instructions="Greet {{ caller_name }}.",
        )
        assert (
            await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)
        ).status_code == 200


class TestLintEndpoint:
    async def test_findings_for_draft_and_a_version(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent()
        first = await add_training(
            client,
            headers,
            agent["id"],
            subject="Returns",
            instructions="Items can be returned within 30 days of delivery for a full refund.",
        )
        second = await add_training(
            client,
            headers,
            agent["id"],
            subject="Return window",
            instructions="Items can be sent back within 60 days of delivery for a full refund.",
        )
        response = await client.get(
            f"/api/v1/agents/{agent['id']}/lint", params={"version": "draft"}, headers=headers
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["version"] == "draft" and data["errors"] == 1
        [conflict] = [f for f in data["findings"] if f["code"] == "CONFLICTING_VALUES"]
        assert conflict["severity"] == "error"
        assert set(conflict["training_ids"]) == {first["id"], second["id"]}
        assert conflict["similarity"] > 0.7
        assert (
            await client.get(
                f"/api/v1/agents/{agent['id']}/lint", params={"version": "1"}, headers=headers
            )
        ).status_code == 404
        assert (
            await client.get(
                f"/api/v1/agents/{agent['id']}/lint",
                params={"version": "published"},
                headers=headers,
            )
        ).status_code == 409

    async def test_untested_retrieval_trainings_once_the_agent_has_tests(
        self, client: httpx.AsyncClient, headers: Headers, support: dict[str, Any]
    ) -> None:
        path = f"/api/v1/agents/{support['id']}/lint"
        before = (await client.get(path, headers=headers)).json()["data"]["findings"]
        assert not [f for f in before if f["code"] == "UNTESTED_RETRIEVAL_TRAINING"]
        await client.put(
            f"/api/v1/agents/{support['id']}/tests/refund",
            headers=headers,
            json={
                "conversation": [{"role": "user", "content": "money back"}],
                "expect": {"reach": [support["ids"]["refunds"]]},
            },
        )
        after = (await client.get(path, headers=headers)).json()["data"]["findings"]
        untested = {
            tid
            for f in after
            if f["code"] == "UNTESTED_RETRIEVAL_TRAINING"
            for tid in f["training_ids"]
        }
        ids = support["ids"]
        assert untested == {ids["hours"], ids["password"], ids["tracking"]}
