"""GET /api/v1/token: what the calling token may do (a Cuecard extension)."""

from __future__ import annotations

import httpx

from tests.conftest import TokenFactory, bearer


class TestGetTokenAbilities:
    async def test_a_writer_token_can_write(
        self, client: httpx.AsyncClient, make_token: TokenFactory
    ) -> None:
        response = await client.get("/api/v1/token", headers=bearer(await make_token()))
        assert response.status_code == 200
        data = response.json()["data"]
        assert (data["read_only"], data["runtime"], data["can_write"]) == (False, False, True)
        assert response.json()["success"] is True

    async def test_a_read_only_token_cannot_write(
        self, client: httpx.AsyncClient, make_token: TokenFactory
    ) -> None:
        token = await make_token(read_only=True)
        data = (await client.get("/api/v1/token", headers=bearer(token))).json()["data"]
        assert (data["read_only"], data["can_write"]) == (True, False)

    async def test_it_never_echoes_the_secret(
        self, client: httpx.AsyncClient, make_token: TokenFactory
    ) -> None:
        token = await make_token()
        response = await client.get("/api/v1/token", headers=bearer(token))
        assert token not in response.text
        assert token.removeprefix("talq_") not in response.text

    async def test_without_a_token_it_is_401_in_the_envelope(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/api/v1/token")
        assert response.status_code == 401
        assert response.json()["success"] is False
