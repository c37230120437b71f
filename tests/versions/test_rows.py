"""`snapshots.repository.VersionSummaryRow` and `VersionRow`, the typed rows the reads of
`agent_versions` (joined to the publishing token's label) return, against the table models, and
as each database really hands them back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from cuecard import models
from cuecard.auth import service as auth
from cuecard.core.config import Settings
from cuecard.snapshots import reader, repository
from cuecard.snapshots.repository import VersionRow, VersionSummaryRow
from tests.conftest import bearer
from tests.row_types import column_types, field_types
from tests.runtime.helpers import add_training, publish

Headers = dict[str, str]


class TestVersionRowDeclarations:
    def test_the_summary_is_agent_versions_columns_and_the_tokens_label(self) -> None:
        versions = column_types(models.AgentVersion.__table__)  # type: ignore[arg-type]
        tokens = column_types(models.ApiToken.__table__)  # type: ignore[arg-type]
        fields = field_types(VersionSummaryRow)

        label = fields.pop("token_label")
        # LEFT JOIN: None also when the version's token is gone.
        assert label == (tokens["label"][0], True)
        assert fields == {name: versions[name] for name in fields}

    def test_the_full_row_adds_the_snapshot_column(self) -> None:
        versions = column_types(models.AgentVersion.__table__)  # type: ignore[arg-type]
        fields = field_types(VersionRow)

        assert list(VersionRow.__struct_fields__) == [*VersionSummaryRow.__struct_fields__,
                                                      "snapshot"]  # fmt: skip
        assert fields["snapshot"] == versions["snapshot"]

    def test_the_select_list_names_the_fields_in_their_order(self) -> None:
        names = [item.split()[-1].removeprefix("v.") for item in repository._SUMMARY.split(", ")]

        assert names == list(VersionSummaryRow.__struct_fields__)


class TestVersionRowsFromTheDatabase:
    async def test_published_versions_are_typed_on_this_backend(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any,
        settings: Settings,
    ) -> None:  # fmt: skip
        agent = await create_agent()
        await add_training(client, headers, agent["id"], node_id="n", instructions="One.")
        async with app.state.db.transaction() as uow:
            info, secret = await auth.create_token(
                uow, settings.resolved_secret_key(), settings.token_prefix, "default",
                label="release bot",
            )  # fmt: skip
        assert await publish(client, bearer(secret), agent["id"]) == 1
        await add_training(client, headers, agent["id"], node_id="n", instructions="Two.")
        assert await publish(client, headers, agent["id"]) == 2
        async with app.state.db.transaction() as uow:
            rows, total = await repository.page(uow, agent["id"], limit=10, offset=0)
            first = await repository.get(uow, agent["id"], 1)
            missing = await repository.get(uow, agent["id"], 3)

        assert total == 2 and [row.version for row in rows] == [2, 1]
        newest, oldest = rows
        assert (oldest.published_by_token_id, oldest.token_label) == (info.id, "release bot")
        assert newest.token_label is None and newest.published_by_token_id is not None
        assert isinstance(oldest.published_at, datetime) and oldest.published_at.tzinfo
        assert first is not None and missing is None
        assert (first.version, first.config_hash, first.token_label) == (
            1, oldest.config_hash, "release bot"
        )  # fmt: skip
        # The snapshot stays its stored text; the reader opens it.
        assert isinstance(first.snapshot, str)
        assert [t["instructions"] for t in reader.read(first.snapshot)["trainings"]] == ["One."]
        listed = await client.get(f"/api/v1/agents/{agent['id']}/versions", headers=headers)
        [second, one] = listed.json()["data"]
        assert one["published_by"] == {"token_id": info.id, "label": "release bot"}
        assert one["config_hash"] == first.config_hash
        assert second["published_by"]["label"] is None
