"""pipecat's own FlowManager runs Cuecard's compiled config, fetched over HTTP from `cuecard serve`.

The LLM is a scripted fake on 127.0.0.1 (`scripted_llm.py`): it plays the caller's model, calling
the transition functions pipecat offers, and records every request, so the tests assert what the
model *received* at each node. pipecat, the config, the server and HTTP are real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from pipecat.flows import Flow, FlowConfig, FlowManager
from pipecat.frames.frames import LLMMessagesAppendFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.workers.runner import WorkerRunner

from tests.actions.conftest import Receiver
from tests.actions.helpers import SECRET_TOKEN, create_action, webhook
from tests.runtime.helpers import add_training, load_example, publish, set_flow
from tests.runtimes.scripted_llm import Call, Request, Say, ScriptedLlm, running_scripted_llm
from tests.test_server import serve

Headers = dict[str, str]

# Talkover's sales flow: a greeting, a yes/no decision, a booking question, a transfer, an end.
FLOW = {
    "initial_node_id": "node-greet",
    "meta": {"name": "Sales Qualification Flow", "version": "1.2.0"},
    "nodes": [
        {"id": "node-greet", "type": "say", "next": "node-qualify",
         "content": "Hi! Are you the right person to talk about scheduling?"},
        {"id": "node-qualify", "type": "decision", "content": "is the caller the right person?",
         "branches": [{"match": "yes", "next": "node-book"},
                      {"match": "no", "next": "node-transfer"}]},
        {"id": "node-book", "type": "ask", "content": "Which day suits you?", "next": "node-end"},
        {"id": "node-transfer", "type": "transfer", "content": "Let me connect you."},
        {"id": "node-end", "type": "end", "content": "Booked. Goodbye!"},
    ],
    "global_functions": [{"name": "end_conversation", "description": "Ends the call gracefully"}],
}  # fmt: skip

# The spec's Request 1.
REQUEST_1 = {
    "node_id": "training-node-123",
    "subject": "Product Knowledge",
    "instructions": "Our premium plan includes 24/7 support, advanced analytics, and unlimited "
    "API calls. Always mention the 30-day money-back guarantee when discussing pricing.",
    "current_status": "active",
}


@pytest.fixture
def loader(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_example(repo_root, "pipecat_flows_loader", monkeypatch)


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    with serve(database_url) as base:
        yield base


@pytest.fixture
def llm() -> Iterator[ScriptedLlm]:
    with running_scripted_llm() as fake:
        yield fake


class Call_:
    """One call through pipecat: a pipeline with the real OpenAI service and FlowManager."""

    def __init__(self, document: dict[str, Any], llm: ScriptedLlm, before_llm: Any = None,
                 handlers: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.llm_service = OpenAILLMService(
            api_key="not-needed", base_url=llm.url,
            settings=OpenAILLMService.Settings(model="scripted"),
        )  # fmt: skip
        self.aggregators = LLMContextAggregatorPair(LLMContext())
        self.before_llm = before_llm
        processors = [self.aggregators.user(), *([before_llm] if before_llm else []),
                      self.llm_service, self.aggregators.assistant()]  # fmt: skip
        self.task = PipelineWorker(Pipeline(processors))
        # Unchanged: the config as served; handlers only for the agent's actions.
        self.flow = Flow(FlowConfig.model_validate(document), handlers=handlers or {})
        self.manager = FlowManager(
            worker=self.task, llm=self.llm_service, context_aggregator=self.aggregators,
            global_functions=self.flow.global_functions,
        )  # fmt: skip
        self.runner = WorkerRunner(handle_sigint=False)
        self.running: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.runner.add_workers(self.task)
        self.running = asyncio.create_task(self.runner.run())
        await asyncio.sleep(0.2)
        await self.manager.initialize(self.flow.initial_node)

    async def caller_says(self, text: str, llm: ScriptedLlm, answers: int) -> None:
        """A caller turn; returns once the LLM has been asked `answers` more times."""
        expected = len(llm.received) + answers
        message = {"role": "user", "content": text}
        await self.task.queue_frame(LLMMessagesAppendFrame(messages=[message], run_llm=True))
        await _until(lambda: len(llm.received) >= expected)
        await asyncio.sleep(0.2)  # let a transition the last answer asked for happen

    async def ended(self) -> bool:
        assert self.running is not None
        try:
            await asyncio.wait_for(asyncio.shield(self.running), 10)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        if self.running is not None and not self.running.done():
            await self.task.cancel()
            await asyncio.wait_for(self.running, 10)
        # pipecat leaves its OpenAI client's connections open when a pipeline ends.
        await self.llm_service._client.close()


async def _until(condition: Any, seconds: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the LLM was not called in time")
        await asyncio.sleep(0.02)


def _node_of(request: Request) -> str:
    """The flow step a request was made in, from the transition tools pipecat offered."""
    tools = set(request.tools)
    for node, tool in (("node-greet", "go_to_node_qualify"), ("node-qualify", "choose_yes"),
                       ("node-book", "go_to_node_end")):  # fmt: skip
        if tool in tools:
            return node
    return "?"


async def fetch(loader: ModuleType, server: str, token: str, agent_id: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server, headers=headers, timeout=10) as http:
        return await loader.load_flow_config(http, agent_id)


class TestAFlowDrivenAgent:
    async def test_the_call_walks_the_flow_and_each_node_gets_its_trainings(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        token: str,
        create_agent: Any,
        loader: ModuleType,
        server: str,
        llm: ScriptedLlm,
    ) -> None:
        agent = await create_agent(description="You are Ana, Acme's scheduling assistant.")
        await add_training(client, headers, agent["id"], subject="Tone", instructions="Be warm.")
        await add_training(client, headers, agent["id"], **REQUEST_1)
        await add_training(client, headers, agent["id"], node_id="node-qualify",
                           subject="Who qualifies", instructions="Managers qualify.")  # fmt: skip
        await add_training(client, headers, agent["id"], node_id="node-book",
                           subject="Booking rules", instructions="Tuesdays only.")  # fmt: skip
        await add_training(client, headers, agent["id"], node_id="node-end",
                           subject="Old goodbye", instructions="Say ciao.",
                           current_status="inactive")  # fmt: skip
        await set_flow(client, headers, agent["id"], FLOW)
        await publish(client, headers, agent["id"])

        def reply(request: Request) -> Say | Call:
            node, last = _node_of(request), request.messages[-1]
            if node == "node-greet":
                return Call("go_to_node_qualify")
            if node == "node-qualify":
                return Call("choose_yes")
            if node == "node-book" and last["role"] == "user":
                return Call("go_to_node_end")
            return Say("Which day suits you?")

        llm.reply = reply
        loaded = await fetch(loader, server, token, agent["id"])
        call = Call_(loaded.document, llm)
        try:
            await call.start()
            assert llm.received == []  # a `say` step speaks its line and waits for the caller
            await call.caller_says("Yes, that's me.", llm, answers=3)
            await call.caller_says("Tuesday, please.", llm, answers=1)
            assert await call.ended(), "the end step ends the call"
        finally:
            await call.stop()

        assert llm.errors == []
        assert call.manager.current_node == "node-end"
        walked = [_node_of(r) for r in llm.received]
        assert walked == ["node-greet", "node-qualify", "node-book", "node-book"]
        for request, node in zip(llm.received, walked, strict=True):
            # Global trainings (the spec's Request 1 too: its node_id is no flow node) everywhere.
            assert "You are Ana" in request.system and "### Tone\nBe warm." in request.system
            assert "### Product Knowledge\nOur premium plan" in request.system
            assert ("### Who qualifies" in request.system) is (node == "node-qualify"), node
            assert ("### Booking rules" in request.system) is (node == "node-book"), node
            assert "Old goodbye" not in request.text and "ciao" not in request.text
            assert "end_conversation" in request.tools
        qualify = llm.received[1]
        assert set(qualify.tools) == {"choose_yes", "choose_no", "end_conversation"}
        assert "yes" in _description(qualify, "choose_yes")

    async def test_the_other_branch_leads_to_the_transfer_step(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        token: str,
        create_agent: Any,
        loader: ModuleType,
        server: str,
        llm: ScriptedLlm,
    ) -> None:
        agent = await create_agent(description="You are Ana.")
        await set_flow(client, headers, agent["id"], FLOW)
        await publish(client, headers, agent["id"])
        llm.reply = lambda r: Call("go_to_node_qualify") if _node_of(r) == "node-greet" else (
            Call("choose_no"))  # fmt: skip
        transfers: list[dict[str, Any]] = []

        async def transfer_call(action: dict[str, Any], flow_manager: FlowManager) -> None:
            transfers.append(action)

        loaded = await fetch(loader, server, token, agent["id"])
        call = Call_(loaded.document, llm)
        call.manager.register_action("transfer_call", transfer_call)
        try:
            await call.start()
            await call.caller_says("No, wrong person.", llm, answers=2)
            await _until(lambda: bool(transfers))
        finally:
            await call.stop()

        assert call.manager.current_node == "node-transfer"
        assert transfers[0]["type"] == "transfer_call"


def _description(request: Request, tool: str) -> str:
    for entry in request.body["tools"]:
        if entry["function"]["name"] == tool:
            return str(entry["function"]["description"])
    raise AssertionError(tool)


class TestAnAgentWithoutAFlow:
    async def test_every_training_reaches_the_model_in_the_one_node(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        token: str,
        create_agent: Any,
        loader: ModuleType,
        server: str,
        llm: ScriptedLlm,
    ) -> None:
        agent = await create_agent(description="You help Acme's customers.")
        await add_training(client, headers, agent["id"], **REQUEST_1)
        await add_training(client, headers, agent["id"], subject="Hidden", instructions="No.",
                           current_status="inactive")  # fmt: skip
        await publish(client, headers, agent["id"])
        llm.reply = lambda request: Say("Premium has 24/7 support.")

        loaded = await fetch(loader, server, token, agent["id"])
        assert list(loaded.document["nodes"]) == ["start"]
        call = Call_(loaded.document, llm)
        try:
            await call.start()
            await _until(lambda: len(llm.received) >= 1)  # no greeting: the LLM opens
            await call.caller_says("What does premium include?", llm, answers=1)
        finally:
            await call.stop()

        for request in llm.received:
            assert request.system.startswith("You help Acme's customers.\n\n### Product Knowledge")
            assert "30-day money-back guarantee" in request.system
            assert "Hidden" not in request.text
        assert llm.received[-1].messages[-1] == {
            "role": "user", "content": "What does premium include?",
        }  # fmt: skip

    async def test_over_budget_the_retriever_adds_the_turns_trainings_before_the_llm(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        token: str,
        create_agent: Any,
        loader: ModuleType,
        server: str,
        llm: ScriptedLlm,
    ) -> None:
        agent = await create_agent(description="You help.", training_budget_tokens=40)
        await add_training(client, headers, agent["id"], subject="Refunds",
                           instructions="Refunds are paid within 30 days. " * 3)  # fmt: skip
        await add_training(client, headers, agent["id"], subject="Shipping",
                           instructions="Parcels ship on weekdays from Lisbon. " * 3)  # fmt: skip
        await publish(client, headers, agent["id"])
        llm.reply = lambda request: Say("Sure.")

        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=server, headers=auth, timeout=10) as http:
            loaded = await loader.load_flow_config(http, agent["id"])
            assert loaded.budget_mode == "retrieve"
            retriever = loader.trainings_retriever(http, agent["id"], loaded)
            call = Call_(loaded.document, llm, before_llm=retriever)
            try:
                await call.start()
                await _until(lambda: len(llm.received) >= 1)
                await call.caller_says("Can I get a refund?", llm, answers=1)
                await call.caller_says("When do parcels ship?", llm, answers=1)
            finally:
                await call.stop()

        opening, refund, shipping = llm.received
        assert "Trainings for this turn" not in opening.text  # nothing asked yet, nothing scored
        assert refund.messages[-1]["role"] == "system"
        assert "### Refunds" in refund.messages[-1]["content"]
        assert "Shipping" not in refund.text
        # The next turn replaces the retrieved trainings: shipping now, refunds no longer.
        assert "### Shipping" in shipping.messages[-1]["content"]
        assert "### Refunds" not in shipping.text


ACTION_FLOW = {
    "initial_node_id": "node-greet",
    "nodes": [
        {"id": "node-greet", "type": "say", "content": "Hi! Shall we book a meeting?",
         "next": "node-book"},
        {"id": "node-book", "type": "action", "action_id": "schedule", "next": "node-end"},
        {"id": "node-end", "type": "end"},
    ],
}  # fmt: skip


@pytest.fixture
def loopback_server(database_url: str) -> Iterator[str]:
    # The action's receiver is on 127.0.0.1, which Cuecard refuses unless told otherwise.
    with serve(database_url, extra_env={"CUECARD_ALLOW_PRIVATE_TARGETS": "true"}) as base:
        yield base


class TestAnActionNode:
    async def test_the_llm_calls_the_action_and_cuecard_runs_it_through_invoke(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        token: str,
        create_agent: Any,
        loader: ModuleType,
        loopback_server: str,
        llm: ScriptedLlm,
        receiver: Receiver,
    ) -> None:
        agent = await create_agent(description="You book meetings for Acme.")
        await create_action(client, headers, agent["id"], webhook(receiver.url))
        await set_flow(client, headers, agent["id"], ACTION_FLOW)
        await publish(client, headers, agent["id"])

        def reply(request: Request) -> Say | Call:
            if "go_to_node_book" in request.tools:
                return Call("go_to_node_book")
            if "schedule_meeting" in request.tools:
                return Call("schedule_meeting", {"date": "2025-03-01", "time": "10:00"})
            return Say("Goodbye!")

        llm.reply = reply
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=loopback_server, headers=auth, timeout=10) as http:
            loaded = await loader.load_flow_config(http, agent["id"])
            handlers = loader.action_handlers(
                http, await loader.load_actions(http, agent["id"], loaded.version)
            )
            call = Call_(loaded.document, llm, handlers=handlers)
            try:
                await call.start()
                await call.caller_says("Yes, please.", llm, answers=3)
                assert await call.ended(), "the end step ends the call"
            finally:
                await call.stop()

        assert llm.errors == []
        assert call.manager.current_node == "node-end"
        book = next(r for r in llm.received if "schedule_meeting" in r.tools)
        schema = next(t["function"] for t in book.body["tools"]
                      if t["function"]["name"] == "schedule_meeting")  # fmt: skip
        assert schema["description"] == "Schedule a meeting with the customer"
        assert set(schema["parameters"]["properties"]) == {"date", "time", "attendees"}
        # The webhook ran once, from Cuecard, with the stored credential the runtime never saw.
        [sent] = receiver.requests
        assert sent["json"]["date"] == "2025-03-01" and sent["json"]["source"] == "voice-agent"
        assert sent["headers"]["Authorization"] == f"Bearer {SECRET_TOKEN}"
        assert SECRET_TOKEN not in str(loaded.document)
        # What the action answered went back to the LLM as the function's result.
        last = llm.received[-1]
        assert "Booked for 2025-03-01 at 10:00" in last.text
