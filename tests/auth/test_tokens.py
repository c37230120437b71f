from __future__ import annotations

import hashlib
from typing import Any

import httpx

from cuecard.core.config import Settings
from tests.conftest import TokenFactory, bearer


async def token_rows(app: Any) -> list[dict[str, Any]]:
    async with app.state.db.transaction() as uow:
        return await uow.all("SELECT * FROM api_tokens")


class TestTokenStorage:
    async def test_only_a_keyed_hash_is_stored(
        self, app: Any, make_token: TokenFactory, settings: Settings
    ) -> None:
        secret = await make_token()

        [row] = await token_rows(app)

        assert secret.startswith("talq_")
        assert all(secret not in str(value) for value in row.values())
        assert row["token_hash"] != hashlib.sha256(secret.encode()).hexdigest()
        assert len(row["token_hash"]) == 64

    async def test_tokens_are_unique_and_long(self, make_token: TokenFactory) -> None:
        secrets = {await make_token() for _ in range(20)}

        assert len(secrets) == 20
        assert all(len(s) >= 40 for s in secrets)


class TestAuthentication:
    async def test_a_valid_token_is_accepted_and_records_last_use(
        self, client: httpx.AsyncClient, make_token: TokenFactory, app: Any
    ) -> None:
        secret = await make_token()

        response = await client.get("/api/v1/agents", headers=bearer(secret))

        assert response.status_code == 200
        [row] = await token_rows(app)
        assert row["last_used_at"] is not None

    async def test_token_from_another_secret_key_is_rejected(
        self, client: httpx.AsyncClient, make_token: TokenFactory, app: Any
    ) -> None:
        secret = await make_token()
        app.state.secret_key = b"a-different-key-altogether"
        app.state.token_cache._entries.clear()

        response = await client.get("/api/v1/agents", headers=bearer(secret))

        assert response.status_code == 401

    async def test_revoked_token_stops_working(
        self, client: httpx.AsyncClient, make_token: TokenFactory, app: Any
    ) -> None:
        from cuecard.auth import service as auth

        secret = await make_token()
        assert (await client.get("/api/v1/agents", headers=bearer(secret))).status_code == 200
        [row] = await token_rows(app)
        async with app.state.db.transaction() as uow:
            await auth.revoke_token(uow, row["id"])
        # Let the cached lookup expire; the cross-server delay is tested in test_server.py.
        app.state.token_cache._entries.clear()
        response = await client.get("/api/v1/agents", headers=bearer(secret))

        assert response.status_code == 401

    async def test_scheme_is_case_insensitive(
        self, client: httpx.AsyncClient, make_token: TokenFactory
    ) -> None:
        secret = await make_token()

        response = await client.get("/api/v1/agents", headers={"Authorization": f"bearer {secret}"})

        assert response.status_code == 200

    async def test_overlong_token_is_rejected_without_lookup(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get(
            "/api/v1/agents", headers={"Authorization": "Bearer talq_" + "a" * 5000}
        )

        assert response.status_code == 401
