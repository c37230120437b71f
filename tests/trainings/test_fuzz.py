"""Property: no body, however malformed, makes Create/Update Training fail with anything but a
documented answer, and a rejected body changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from cuecard.app import create_app
from cuecard.auth import service as auth
from cuecard.core.config import Settings

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)
fields = st.sampled_from(["node_id", "subject", "instructions", "current_status", "position",
                          "pinned", "id", "agent_id"])  # fmt: skip
bodies = st.dictionaries(fields | st.text(max_size=8), json_values | st.text(max_size=300))


class TestCreateTrainingFuzz:
    def test_any_body_gets_200_or_a_documented_422(self, settings: Settings) -> None:
        # Hypothesis drives a sync function, so this test runs its own event loop.
        loop = asyncio.new_event_loop()
        app = create_app(settings)
        lifespan = app.router.lifespan_context(app)
        loop.run_until_complete(lifespan.__aenter__())
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://t")
        try:
            headers, url = loop.run_until_complete(_setup(app, client, settings))

            @hyp_settings(max_examples=150, deadline=None)
            @given(body=bodies | json_values)
            def check(body: Any) -> None:
                loop.run_until_complete(_post_and_check(client, headers, url, body))

            check()
        finally:
            loop.run_until_complete(client.aclose())
            loop.run_until_complete(lifespan.__aexit__(None, None, None))
            loop.close()


_TRIMMED = "".join(chr(c) for c in range(0x110000) if chr(c).isspace() and not 0x1C <= c <= 0x1F)


async def _setup(app: Any, client: httpx.AsyncClient, settings: Settings
                 ) -> tuple[dict[str, str], str]:  # fmt: skip
    async with app.state.db.transaction() as uow:
        await auth.ensure_environment(uow, "default")
        _, secret = await auth.create_token(uow, settings.resolved_secret_key(), "talq_", "default")
    headers = {"Authorization": f"Bearer {secret}"}
    agent = (await client.post("/api/v1/agents", json={"name": "Fuzz"}, headers=headers)).json()
    return headers, f"/api/v1/agents/{agent['data']['id']}/trainings"


async def _post_and_check(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, body: Any
) -> None:
    before = len((await client.get(url, headers=headers)).json()["data"])

    response = await client.post(url, json=body, headers=headers)

    after = len((await client.get(url, headers=headers)).json()["data"])
    payload = response.json()
    assert response.status_code in (200, 422), payload
    if response.status_code == 422:
        assert payload["success"] is False and payload["code"] == "VALIDATION_ERROR"
        assert payload["message"] == "The given data was invalid."
        assert all(
            isinstance(m, str) and m.startswith("The ")
            for messages in payload["errors"].values()
            for m in messages
        )
        assert after == before
    else:
        # Trimmed as pydantic trims (Unicode White_Space), which keeps the ASCII separators
        # \x1c-\x1f that Python's str.strip() also removes.
        assert payload["data"]["subject"] == body["subject"].strip(_TRIMMED)
        assert after in (before, before + 1)
