"""examples/pipecat_flows_loader.py, run against the real app (pipecat itself is not installed
here: its validation is mirrored in test_runtime_config.py)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.runtime.helpers import add_training, linear_flow, load_example, publish, set_flow

Headers = dict[str, str]


@pytest.fixture
def loader(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_example(repo_root, "pipecat_flows_loader", monkeypatch)


@pytest.fixture
async def bot_client(app: Any, headers: Headers) -> Any:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x", headers=headers) as c:
        yield c


class TestPipecatFlowsLoader:
    async def test_it_loads_then_revalidates_from_its_cache(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        agent: dict[str, Any],
        loader: ModuleType,
        bot_client: httpx.AsyncClient,
        tmp_path: Path,
    ) -> None:
        await add_training(client, headers, agent["id"], node_id="billing", subject="Cards")
        await set_flow(client, headers, agent["id"], linear_flow("greeting", "billing"))
        await publish(client, headers, agent["id"])

        first = await loader.load_flow_config(bot_client, agent["id"], cache_dir=tmp_path)
        again = await loader.load_flow_config(bot_client, agent["id"], cache_dir=tmp_path)
        assert (first.from_cache, again.from_cache) == (False, True)
        assert again.document == first.document and again.version == "1"
        assert "node billing:" in loader.describe(again)

        await add_training(client, headers, agent["id"], node_id="billing", subject="Visa")
        await publish(client, headers, agent["id"])
        newer = await loader.load_flow_config(bot_client, agent["id"], cache_dir=tmp_path)
        assert newer.from_cache is False and newer.version == "2"
        assert "### Visa" in newer.document["nodes"]["billing"]["role_message"]
        assert "### Visa" not in newer.document["nodes"]["greeting"]["role_message"]

    async def test_in_retrieve_mode_it_adds_the_trainings_for_the_turn(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        create_agent: Any,
        loader: ModuleType,
        bot_client: httpx.AsyncClient,
    ) -> None:
        agent = await create_agent(training_budget_tokens=20)
        await add_training(client, headers, agent["id"], subject="Refunds", instructions="30 days.")
        await add_training(
            client, headers, agent["id"], subject="Hours", instructions="9 to 5. " * 9
        )
        loaded = await loader.load_flow_config(bot_client, agent["id"], "draft")
        assert loaded.budget_mode == "retrieve"
        extra = await loader.trainings_for_turn(
            bot_client, agent["id"], loaded.version, [{"role": "user", "content": "A refund?"}]
        )
        assert extra == "Trainings for this turn:\n\n### Refunds\n30 days."
