"""The dashboard in a real browser against a real server: the scenarios of issue 13."""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import expect

from tests.conftest import TokenFactory
from tests.dashboard.conftest import Dashboard, sign_in
from tests.runtime.fake_llm import FakeLlm
from tests.test_server import serve

XSS = "<img src=x onerror=alert(1)>"


async def prompt_text(board: Dashboard, agent: dict[str, Any]) -> str:
    await board.open("agents", agent["id"], "prompt")
    prompt = board.page.locator("#system-prompt")
    await prompt.wait_for()
    text: str = await prompt.inner_text()
    return text


class TestSignIn:
    async def test_token_lives_in_session_storage_never_in_the_url(
        self, dashboard: Dashboard
    ) -> None:
        page = dashboard.page
        stored = await page.evaluate("sessionStorage.getItem('cuecard.token')")
        assert stored == dashboard.token
        assert dashboard.token not in page.url
        assert await page.evaluate("document.cookie") == ""

    async def test_sign_out_forgets_the_token(self, dashboard: Dashboard) -> None:
        page = dashboard.page
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_label("Token")).to_be_visible()
        assert await page.evaluate("sessionStorage.getItem('cuecard.token')") is None
        await page.reload()
        await expect(page.get_by_label("Token")).to_be_visible()

    async def test_a_wrong_token_is_refused_at_the_field(
        self, browser: Any, server: str, backend: str
    ) -> None:
        page = await browser.new_page()
        await page.goto(server)
        await page.get_by_label("Token").fill("talq_not-a-real-token")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("[data-error-for=token]")).to_have_text(
            "That token is not valid (or was revoked)."
        )
        assert await page.evaluate("sessionStorage.getItem('cuecard.token')") is None


class TestAgentsAndTrainings:
    async def test_create_agent_add_training_see_it_in_the_prompt_then_deactivate_it(
        self, dashboard: Dashboard
    ) -> None:
        page = dashboard.page
        await page.get_by_text("New agent", exact=True).first.click()
        await page.get_by_label("Name").fill("Refunds desk")
        await page.get_by_label("Description").fill("You answer refund questions for Acme.")
        await page.get_by_role("button", name="Create agent").click()
        await expect(page.get_by_role("heading", name="Refunds desk")).to_be_visible()
        agent_id = page.url.rsplit("/", 1)[-1]

        await page.get_by_role("button", name="New training").click()
        await page.get_by_label("Subject").fill("Refund window")
        await page.get_by_label("Instructions").fill("Refunds are possible within 30 days.")
        await page.get_by_label("node_id").fill("refunds")
        await page.get_by_role("button", name="Save training").click()
        await expect(page.locator("#trainings-table")).to_contain_text("Refund window")
        await dashboard.screenshot("trainings")

        agent = {"id": agent_id}
        assert "Refunds are possible within 30 days." in await prompt_text(dashboard, agent)
        await expect(page.locator(".budget-bar")).to_be_visible()
        await dashboard.screenshot("prompt")

        await dashboard.open("agents", agent_id, "trainings")
        await page.get_by_role("button", name="Deactivate Refund window").click()
        row = page.locator("#trainings-table tbody tr", has_text="Refund window")
        await expect(row).to_contain_text("inactive")
        assert "Refunds are possible" not in await prompt_text(dashboard, agent)
        await dashboard.open("")
        await expect(page.get_by_role("link", name="Refunds desk")).to_be_visible()
        await dashboard.screenshot("agents")
        assert dashboard.console_errors == []  # no CSP violation, no script error

    async def test_the_api_validation_messages_show_at_the_field(
        self, dashboard: Dashboard
    ) -> None:
        agent = dashboard.create_agent()
        page = dashboard.page
        await dashboard.open("agents", agent["id"], "trainings")
        await page.get_by_role("button", name="New training").click()
        await page.get_by_role("button", name="Save training").click()
        await expect(page.locator("[data-error-for=subject]")).to_have_text(
            "The subject field is required."
        )
        await expect(page.locator("[data-error-for=instructions]")).to_have_text(
            "The instructions field is required."
        )

    async def test_editing_by_node_id_keeps_the_id(self, dashboard: Dashboard) -> None:
        agent = dashboard.create_agent()
        training = dashboard.add_training(agent, node_id="hours", subject="Hours",
                                          instructions="Open 9 to 5.")  # fmt: skip
        page = dashboard.page
        await dashboard.open("agents", agent["id"], "trainings")
        await page.get_by_role("button", name="Edit Hours").click()
        await page.get_by_label("Instructions").fill("Open 8 to 6.")
        await page.get_by_role("button", name="Save training").click()
        await expect(page.get_by_role("status").first).to_contain_text(
            f"Agent training updated successfully (same id {training['id']})"
        )
        listed = dashboard.api("GET", f"/agents/{agent['id']}/trainings")["data"]
        assert [(t["id"], t["instructions"]) for t in listed] == [(training["id"], "Open 8 to 6.")]

    async def test_delete_asks_first_and_cancel_keeps_the_training(
        self, dashboard: Dashboard
    ) -> None:
        agent = dashboard.create_agent()
        dashboard.add_training(agent, subject="Keep me", instructions="Still here.")
        page = dashboard.page
        await dashboard.open("agents", agent["id"], "trainings")
        await page.get_by_role("button", name="Delete Keep me").click()
        await page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
        assert len(dashboard.api("GET", f"/agents/{agent['id']}/trainings")["data"]) == 1
        await page.get_by_role("button", name="Delete Keep me").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        await expect(page.get_by_text("No trainings yet.")).to_be_visible()
        assert dashboard.api("GET", f"/agents/{agent['id']}/trainings")["data"] == []

    async def test_search_and_pages_over_many_trainings(self, dashboard: Dashboard) -> None:
        agent = dashboard.create_agent()
        for i in range(120):
            dashboard.add_training(agent, node_id=f"n{i:03}", subject=f"Topic {i:03}",
                                   instructions=f"Say {i}.")  # fmt: skip
        page = dashboard.page
        await dashboard.open("agents", agent["id"], "trainings")
        await expect(page.locator("#trainings-table caption")).to_have_text("120 trainings")
        await expect(page.get_by_text("Page 1 of 3")).to_be_visible()
        await page.get_by_role("button", name="Next page").click()
        await expect(page.locator("#trainings-table tbody tr").first).to_contain_text("Topic 050")
        await page.get_by_label("Search trainings").fill("topic 11")
        await expect(page.locator("#trainings-table caption")).to_have_text("10 trainings match")
        await expect(page.locator("#trainings-table tbody tr")).to_have_count(10)


class TestAgentLifecycle:
    async def test_search_unpublish_and_delete_an_agent(self, dashboard: Dashboard) -> None:
        keep = dashboard.create_agent(name="Billing line")
        agent = dashboard.create_agent(name="Old hotline")
        dashboard.api("POST", f"/agents/{agent['id']}/publish")
        page = dashboard.page
        await dashboard.open("")
        await page.get_by_label("Search agents").fill("hotline")
        await expect(page.locator("table.grid tbody tr")).to_have_count(1)
        await page.get_by_role("link", name="Old hotline").click()

        await page.get_by_role("button", name="Delete agent").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete agent").click()
        await expect(page.get_by_role("status").first).to_contain_text(
            "must be unpublished before deletion"
        )
        await page.get_by_role("button", name="Unpublish").click()
        await expect(page.locator("#agent-status")).to_have_text("draft")
        await page.get_by_role("button", name="Delete agent").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete agent").click()
        await expect(page.get_by_role("heading", name="Agents", exact=True)).to_be_visible()
        listed = dashboard.api("GET", "/agents")["data"]
        assert [a["id"] for a in listed] == [keep["id"]]

    async def test_a_settings_section_shows_the_api_field_errors_then_saves(
        self, dashboard: Dashboard
    ) -> None:
        agent = dashboard.create_agent()
        page = dashboard.page
        await dashboard.open("agents", agent["id"], "settings")
        knowledge = page.locator("form[data-section=knowledge]")
        editor = knowledge.get_by_label("Knowledge settings (JSON)")
        body = json.loads(await editor.input_value())
        await editor.fill(json.dumps({**body, "description": "abc"}))
        await knowledge.get_by_role("button", name="Save knowledge").click()
        await expect(knowledge.locator(".form-error")).to_contain_text(
            "description: The description field must be at least 5 characters."
        )
        await editor.fill(json.dumps({**body, "description": "You book tables for Luigi's."}))
        await knowledge.get_by_role("button", name="Save knowledge").click()
        await expect(knowledge.locator(".form-error")).to_be_hidden()
        got = dashboard.api("GET", f"/agents/{agent['id']}")["data"]
        assert got["description"] == "You book tables for Luigi's."


class TestWhatTheRuntimeLoads:
    async def test_diff_then_publish_then_restore(self, dashboard: Dashboard) -> None:
        agent = dashboard.create_agent()
        dashboard.add_training(agent, node_id="refunds", subject="Refunds",
                               instructions="Refunds within 30 days.")  # fmt: skip
        dashboard.api("POST", f"/agents/{agent['id']}/publish")
        dashboard.add_training(agent, node_id="refunds", subject="Refunds",
                               instructions="Refunds within 60 days.")  # fmt: skip
        page = dashboard.page

        await dashboard.open("agents", agent["id"], "publish")
        diff = page.locator("table.diff")
        await expect(
            diff.locator("td.l.mod", has_text="Refunds within 30 days.").first
        ).to_be_visible()
        await expect(
            diff.locator("td.r.mod", has_text="Refunds within 60 days.").first
        ).to_be_visible()
        await expect(page.locator("#diff-summary")).to_contain_text("Training changed: Refunds")
        await dashboard.screenshot("diff")

        await page.get_by_role("button", name="Publish the draft").click()
        await expect(page.get_by_role("status").first).to_contain_text("version 2")
        await expect(page.locator("#diff-summary")).to_contain_text("same as the published")
        await expect(page.locator("#agent-status")).to_have_text("published")

        await page.get_by_role("button", name="Restore version 1").click()
        await page.get_by_role("dialog").get_by_role("button", name="Restore").click()
        await expect(page.locator("#agent-status")).to_have_text("draft")
        assert "Refunds within 30 days." in await prompt_text(dashboard, agent)
        versions = dashboard.api("GET", f"/agents/{agent['id']}/versions")["data"]
        assert [v["version"] for v in versions] == [2, 1]

    async def test_the_flow_is_drawn_with_each_nodes_trainings(self, dashboard: Dashboard) -> None:
        agent = dashboard.create_agent()
        flow = {
            "initial_node_id": "greet",
            "nodes": [
                {"id": "greet", "type": "say", "content": "Hello!", "next": "qualify"},
                {"id": "qualify", "type": "decision", "branches": [
                    {"match": "refund", "next": "refunds"}, {"match": "other", "next": "bye"}]},
                {"id": "refunds", "type": "ask", "content": "Your order number?", "next": "bye"},
                {"id": "bye", "type": "end", "content": "Goodbye."},
            ],
        }  # fmt: skip
        dashboard.api("PUT", f"/agents/{agent['id']}/flow",
                      {"conversation_mode": "flow_driven", "flow_config": flow})  # fmt: skip
        dashboard.add_training(agent, node_id="refunds", subject="Refund rules",
                               instructions="Ask for the receipt.")  # fmt: skip
        page = dashboard.page
        await dashboard.open("agents", agent["id"], "flow")
        graph = page.locator("#flow-graph")
        await expect(graph.locator("g.node")).to_have_count(4)
        await expect(graph.locator("g.edge")).to_have_count(4)
        refunds = graph.locator("g.node[data-node-id=refunds]")
        await expect(refunds).to_contain_text("Refund rules")
        await expect(graph.locator("text.edge-label", has_text="refund")).to_have_count(1)
        await dashboard.screenshot("flow")

    async def test_each_format_of_draft_and_published(self, dashboard: Dashboard) -> None:
        agent = dashboard.create_agent()
        dashboard.add_training(agent, subject="Hours", instructions="Open 9 to 5.")
        page = dashboard.page
        await dashboard.open("agents", agent["id"], "prompt")
        await expect(page.locator("#system-prompt")).to_contain_text("Open 9 to 5.")
        await page.get_by_label("Version").select_option("published")
        await expect(page.get_by_role("alert")).to_contain_text("never been published")
        await page.get_by_label("Version").select_option("draft")
        await page.get_by_label("Format").select_option("openai-messages")
        await expect(page.locator("#runtime-document")).to_contain_text('"messages"')
        await page.get_by_label("Format").select_option("pipecat-flows")
        await expect(page.locator("#runtime-document")).to_contain_text("Open 9 to 5.")


class TestTestIt:
    async def test_a_test_conversation_against_the_fake_llm(
        self, dashboard: Dashboard, fake_llm: FakeLlm
    ) -> None:
        agent = dashboard.create_agent()
        dashboard.add_training(agent, subject="Refunds", instructions="Refunds within 30 days.")
        page = dashboard.page
        await dashboard.open("agents", agent["id"], "test")
        await page.get_by_label("Message").fill("Can I get a refund?")
        await page.get_by_role("button", name="Send").click()
        reply = page.locator(".msg.assistant .reply")
        await expect(reply).to_have_text("You said: Can I get a refund?")
        await page.get_by_text("What was sent").click()
        await expect(page.locator(".msg.assistant")).to_contain_text("system prompt: Refunds")
        await expect(page.locator(".msg.assistant ol.sent")).to_contain_text(
            "Refunds within 30 days."
        )
        assert "Refunds within 30 days." in fake_llm.last.text
        await dashboard.screenshot("test-conversation")

    async def test_without_an_llm_it_shows_what_would_be_sent_and_how_to_configure_one(
        self, browser: Any, database_url: str, make_token: TokenFactory, backend: str
    ) -> None:
        with serve(database_url) as base:
            board = await sign_in(browser, base, await make_token(), backend)
            agent = board.create_agent()
            board.add_training(board_agent := agent, subject="Hours", instructions="Open 9-5.")
            await board.open("agents", board_agent["id"], "test")
            await board.page.get_by_label("Message").fill("When are you open?")
            await board.page.get_by_role("button", name="Send").click()
            box = board.page.locator("#llm-not-configured")
            await expect(box).to_contain_text("CUECARD_LLM_BASE_URL")
            await expect(box.locator("ol.sent")).to_contain_text("Open 9-5.")
            await expect(box.locator("ol.sent")).to_contain_text("When are you open?")

    async def test_the_retrieval_probe_shows_scores(self, dashboard: Dashboard) -> None:
        # A budget too small for every training: the rest are retrieved turn by turn.
        agent = dashboard.create_agent(training_budget_tokens=30)
        dashboard.add_training(agent, subject="Refunds",
                               instructions="Refunds for an order need the receipt and the order "
                                            "number, within thirty days of delivery.")  # fmt: skip
        dashboard.add_training(agent, subject="Opening hours",
                               instructions="The shop opens at nine and closes at five on every "
                                            "weekday, and at noon on Saturdays.")  # fmt: skip
        page = dashboard.page
        await dashboard.open("agents", agent["id"], "test")
        await page.get_by_label("Caller says").fill("I want a refund for my order")
        await page.get_by_role("button", name="Probe").click()
        rows = page.locator("#probe-results tbody tr")
        # The server's first retrieve loads (and re-quantizes) the dense model: seconds, not ms.
        await expect(rows.first).to_contain_text("Refunds", timeout=60_000)
        score = float(await rows.first.locator("td").first.inner_text())
        assert score > 0


class TestSafety:
    async def test_a_script_in_a_subject_shows_as_text(self, dashboard: Dashboard) -> None:
        agent = dashboard.create_agent(name=XSS)
        dashboard.add_training(agent, node_id="x", subject=XSS, instructions=XSS)
        page = dashboard.page
        await page.reload()
        await expect(page.get_by_role("link", name=XSS)).to_be_visible()
        await dashboard.open("agents", agent["id"], "trainings")
        cell = page.locator("#trainings-table td.subject")
        await expect(cell).to_have_text(XSS)
        assert await page.locator("main img").count() == 0
        assert XSS in await prompt_text(dashboard, agent)
        await dashboard.open("agents", agent["id"], "publish")
        await expect(page.locator("table.diff")).to_contain_text(XSS)
        assert dashboard.dialogs == []  # no alert() ran

    async def test_the_shell_sends_a_strict_content_security_policy(
        self, dashboard: Dashboard
    ) -> None:
        response = await dashboard.page.request.get(dashboard.base + "/")
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self';" in csp
        assert "unsafe-inline" not in csp
        # An injected inline script is refused by the browser.
        ran = await dashboard.page.evaluate(
            """() => { const s = document.createElement('script');
                       s.textContent = 'window.__ran = true'; document.body.append(s);
                       return window.__ran === true; }"""
        )
        assert ran is False

    async def test_a_read_only_token_gets_no_write_controls_and_a_403_if_forced(
        self, browser: Any, server: str, make_token: TokenFactory, backend: str
    ) -> None:
        writer = await sign_in(browser, server, await make_token(), backend)
        agent = writer.create_agent()
        writer.add_training(agent, subject="Hours", instructions="Open 9 to 5.")
        board = await sign_in(browser, server, await make_token(read_only=True), backend)
        page = board.page
        await expect(page.locator("#nav")).to_contain_text("read-only")
        await expect(page.get_by_role("link", name="SupportBot")).to_be_visible()
        assert await page.get_by_text("New agent").count() == 0
        for tab in ("test", "publish", "settings", "trainings"):
            await board.open("agents", agent["id"], tab)
            await expect(page.locator(".panel h2").first).to_be_visible()
            await page.wait_for_load_state("networkidle")
            for name in ("New training", "Edit Hours", "Delete agent", "Publish", "Restore",
                         "Send", "Save knowledge", "Rename"):  # fmt: skip
                assert await page.get_by_role("button", name=name, exact=True).count() == 0, name
        forced = await page.evaluate(
            """async (id) => {
                 const r = await fetch(`/api/v1/agents/${id}/trainings`, {method: 'POST',
                   headers: {Authorization: `Bearer ${sessionStorage.getItem('cuecard.token')}`,
                             'Content-Type': 'application/json'},
                   body: JSON.stringify({subject: 'x', instructions: 'y'})});
                 return [r.status, (await r.json()).code]; }""",
            agent["id"],
        )
        assert forced == [403, "UNAUTHORIZED"]
        await board.screenshot("read-only")

    async def test_another_environments_agent_is_not_reachable(
        self, dashboard: Dashboard, make_token: TokenFactory
    ) -> None:
        other_token = await make_token("other")
        other = dashboard.api("POST", "/agents", {"name": "Their agent"}, token=other_token)
        page = dashboard.page
        await dashboard.open("agents", other["data"]["id"], "trainings")
        await expect(page.get_by_role("alert")).to_have_text("Agent not found.")
        await dashboard.open("")
        await expect(page.get_by_text("No agents yet.")).to_be_visible()


class TestCalls:
    async def test_a_calls_turns_show_the_trainings_that_shaped_them(
        self, dashboard: Dashboard, make_runtime_token: Any
    ) -> None:
        agent = dashboard.create_agent()
        training = dashboard.add_training(agent, subject="Refunds", instructions="30 days.")
        dashboard.api("POST", f"/agents/{agent['id']}/publish")
        runtime = await make_runtime_token()
        base = f"/agents/{agent['id']}/runtime/calls"
        opened = {"event_id": "open-1", "from": "+15550001111", "to": "+15550002222"}
        call = dashboard.api("POST", base, opened, token=runtime)["data"]
        dashboard.api("POST", f"{base}/{call['id']}/turns", {"turns": [
            {"event_id": "t1", "user_text": "Refund please", "reply_text": "Within 30 days.",
             "inline_training_ids": [training["id"]]}]}, token=runtime)  # fmt: skip
        page = dashboard.page
        await dashboard.open("calls")
        await page.locator("#calls-table tbody a").first.click()
        turns = page.locator("#turns-table")
        await expect(turns).to_contain_text("Refund please")
        await expect(turns).to_contain_text("Refunds (inline)")
        await dashboard.screenshot("call")


class TestAccessibility:
    async def test_no_serious_or_critical_axe_violations_on_the_main_pages(
        self, dashboard: Dashboard, browser: Any, server: str
    ) -> None:
        from axe_playwright_python.async_playwright import Axe

        agent = dashboard.create_agent()
        dashboard.add_training(agent, node_id="refunds", subject="Refunds",
                               instructions="Within 30 days.")  # fmt: skip
        dashboard.api("POST", f"/agents/{agent['id']}/publish")
        dashboard.add_training(agent, node_id="hours", subject="Hours", instructions="9 to 5.")
        axe = Axe()
        sign_in_page = await browser.new_page()
        await sign_in_page.goto(server)
        await sign_in_page.get_by_label("Token").wait_for()
        pages: list[tuple[str, Any]] = [("sign-in", sign_in_page)]
        found: dict[str, list[str]] = {}
        for name, page in pages:
            found[name] = await serious(axe, page)
        for tab in ("", "trainings", "prompt", "flow", "publish", "test", "settings", "calls"):
            if tab:
                await dashboard.open("agents", agent["id"], tab)
                await dashboard.page.locator(".panel h2").first.wait_for()
            else:
                await dashboard.open("")
                await dashboard.page.get_by_role("link", name="SupportBot").wait_for()
            await dashboard.page.wait_for_load_state("networkidle")
            found[tab or "agents"] = await serious(axe, dashboard.page)
        assert {page: rules for page, rules in found.items() if rules} == {}


async def serious(axe: Any, page: Any) -> list[str]:
    results = await axe.run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
