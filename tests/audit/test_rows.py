"""`audit.repository.AuditRow`, the typed row the audit log is read as, against the table model,
and as each database really hands it back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from cuecard import models
from cuecard.audit import repository
from cuecard.audit.repository import AuditRow
from cuecard.auth import service as auth
from cuecard.core.config import Settings
from cuecard.core.db import format_timestamp
from tests.conftest import bearer
from tests.row_types import column_types, field_types


class TestAuditRowDeclaration:
    def test_fields_are_the_audit_log_table_with_its_types_and_nullability(self) -> None:
        table = models.AuditEntry.__table__

        assert field_types(AuditRow) == column_types(table)  # type: ignore[arg-type]

    def test_the_insert_and_every_read_use_the_fields_in_the_row_types_order(self) -> None:
        assert repository.COLUMNS.split(", ") == list(AuditRow.__struct_fields__)


class TestAuditRowsFromTheDatabase:
    async def test_a_recorded_write_reads_back_typed_on_this_backend(
        self, app: Any, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        async with app.state.db.transaction() as uow:
            environment = await auth.ensure_environment(uow, "default")
            token, secret = await auth.create_token(
                uow, settings.resolved_secret_key(), settings.token_prefix, "default", label="ops"
            )
        headers = bearer(secret)
        created = await client.post("/api/v1/agents", headers=headers, json={"name": "Audited"})
        agent = created.json()["data"]
        updated = await client.patch(
            f"/api/v1/agents/{agent['id']}", headers=headers, json={"language": "pt-BR"}
        )
        assert (created.status_code, updated.status_code) == (201, 200), updated.text

        async with app.state.db.transaction() as uow:
            rows, total = await repository.page(
                uow, environment.id, agent_id=agent["id"], token_id=None, action=None,
                since=None, before=None, limit=10, offset=0,
            )  # fmt: skip
        served = (await client.get("/api/v1/audit-log", headers=headers)).json()["data"]

        assert total == 2 and [row.action for row in rows] == ["agent.updated", "agent.created"]
        row = rows[0]
        assert (row.environment_id, row.agent_id, row.target_id) == (
            environment.id,
            agent["id"],
            agent["id"],
        )
        assert (row.token_id, row.token_label, row.target_type) == (token.id, "ops", "agent")
        assert isinstance(row.created_at, datetime) and row.created_at.tzinfo is not None
        assert row.created_at.astimezone(UTC) >= rows[1].created_at.astimezone(UTC)
        # The JSON column stays the stored text; the service decodes it for the wire.
        assert json.loads(row.changes) == {"language": {"from": "en-US", "to": "pt-BR"}}
        assert served[0]["changes"] == json.loads(row.changes)
        assert served[0]["created_at"] == format_timestamp(row.created_at)
        assert served[0]["token"] == {"id": token.id, "label": "ops"}

        changed = msgspec.structs.replace(row, action="agent.deleted")
        assert (changed.action, row.action) == ("agent.deleted", "agent.updated")
        with pytest.raises(AttributeError):
            row.action = "agent.deleted"  # type: ignore[misc]
