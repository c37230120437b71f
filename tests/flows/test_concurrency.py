"""Parallel flow saves on two `cuecard serve` workers: every save is a version, none is lost."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import TokenFactory, bearer
from tests.test_server import serve


class TestParallelFlowSaves:
    async def test_each_save_gets_its_own_number(
        self, database_url: str, make_token: TokenFactory
    ) -> None:
        headers = bearer(await make_token())
        with serve(database_url, workers=2) as base:
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
                agent = (await client.post("/api/v1/agents", json={"name": "Race"})).json()
                url = f"/api/v1/agents/{agent['data']['id']}/flow"
                config = {"initial_node_id": "a", "nodes": [{"id": "a", "type": "end"}]}

                responses = await asyncio.gather(*[
                    client.put(url, json={"conversation_mode": "flow_driven",
                                          "flow_config": {**config, "meta": {"version": f"v{i}"}}})
                    for i in range(20)
                ])  # fmt: skip
                versions = (await client.get(f"{url}/versions")).json()["data"]["versions"]
                current = (await client.get(url)).json()["data"]

        assert [r.status_code for r in responses] == [200] * 20
        assert [v["number"] for v in versions] == list(range(20, 0, -1))
        assert sorted(v["version"] for v in versions) == sorted(f"v{i}" for i in range(20))
        assert [v["is_current"] for v in versions] == [True] + [False] * 19
        assert current["flow_config"]["meta"]["version"] == versions[0]["version"]
