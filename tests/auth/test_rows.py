"""`auth.service.Environment` and `TokenInfo`, the typed rows the reads of `environments` and
`api_tokens` return, against the table models, and as each database really hands them back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from cuecard import models
from cuecard.auth import service as auth
from cuecard.auth.service import Environment, TokenInfo
from cuecard.core.config import Settings
from tests.conftest import bearer
from tests.row_types import column_types, field_types


class TestRowDeclarations:
    def test_an_environment_is_the_environments_table(self) -> None:
        table = models.Environment.__table__

        assert field_types(Environment) == column_types(table)  # type: ignore[arg-type]
        assert auth._ENVIRONMENT_COLUMNS.split(", ") == list(Environment.__struct_fields__)

    def test_token_info_is_api_tokens_without_its_hash_with_the_environments_name(self) -> None:
        tokens = column_types(models.ApiToken.__table__)  # type: ignore[arg-type]
        environments = column_types(models.Environment.__table__)  # type: ignore[arg-type]
        fields = field_types(TokenInfo)

        assert fields.pop("environment") == environments["name"]
        assert fields == {name: tokens[name] for name in fields}
        # Never the keyed hash, nor the id a listing names by the environment's name.
        assert set(tokens) - set(fields) == {"token_hash", "environment_id"}


class TestRowsFromTheDatabase:
    async def test_environments_and_tokens_are_typed_on_this_backend(
        self, client: httpx.AsyncClient, app: Any, settings: Settings
    ) -> None:
        key, prefix = settings.resolved_secret_key(), settings.token_prefix
        async with app.state.db.transaction() as uow:
            created = await auth.create_environment(uow, "staging", rate_limit=120)
            again = await auth.ensure_environment(uow, "staging")
            writer, secret = await auth.create_token(uow, key, prefix, "staging", label="ci")
            reader, _ = await auth.create_token(uow, key, prefix, "staging", read_only=True)
        response = await client.get("/api/v1/token", headers=bearer(secret))
        assert response.status_code == 200, response.text
        async with app.state.db.transaction() as uow:
            await auth.revoke_token(uow, reader.id)
            listed = await auth.list_environments(uow)
            unlimited = await auth.update_environment(uow, "staging", None)
            tokens = await auth.list_tokens(uow, "staging")

        assert again == created and created in listed
        assert (created.name, created.rate_limit_per_minute) == ("staging", 120)
        assert unlimited == msgspec.structs.replace(created, rate_limit_per_minute=None)
        assert isinstance(created.created_at, datetime) and created.created_at.tzinfo
        by_id = {t.id: t for t in tokens}
        assert set(by_id) == {writer.id, reader.id}
        used, revoked = by_id[writer.id], by_id[reader.id]
        # SQLite hands booleans back as 0/1: the rows say True/False, as PostgreSQL's do.
        assert (used.read_only, used.runtime, revoked.read_only) == (False, False, True)
        assert (used.environment, used.label, used.hint) == ("staging", "ci", writer.hint)
        # The request above stamped last_used_at; the revocation stamped revoked_at.
        assert used.last_used_at is not None and used.last_used_at.tzinfo is not None
        assert used.revoked_at is None and revoked.last_used_at is None
        assert revoked.revoked_at is not None
        assert revoked.revoked_at.astimezone(UTC) >= revoked.created_at.astimezone(UTC)
        with pytest.raises(AttributeError):
            used.label = "changed"  # type: ignore[misc]
