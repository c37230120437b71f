from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cuecard.agent_api.schemas import Agent, AgentStatus
from cuecard.core.schemas import Timestamp
from cuecard.core.validation import PageNumber, Query
from cuecard.runtime.schemas import VersionSelector


class VersionListQuery(Query):
    page: PageNumber = 1
    per_page: int = Field(20, ge=1, le=100)


class DiffQuery(Query):
    model_config = ConfigDict(populate_by_name=True)

    from_: VersionSelector = Field("published", alias="from")
    to: VersionSelector = "draft"


class PublishedBy(BaseModel):
    token_id: str
    label: str | None


class VersionSummary(BaseModel):
    version: int
    published_at: Timestamp
    published_by: PublishedBy | None = Field(
        description="The token that published it; null once that token is deleted."
    )
    config_hash: str
    is_latest: bool = Field(description="The version `published` names.")


class Version(VersionSummary):
    snapshot: dict[str, Any] = Field(
        description="Settings and every training with its status; only active ones are compiled."
    )


class RestoreResult(BaseModel):
    restored_version: int
    flow_restored: bool = Field(
        description="The version's flow differed from the current one and was saved again."
    )
    agent: Agent
    recreated_training_ids: list[str] = Field(
        description="Trainings deleted since the version, re-created with their original ids."
    )
    updated_training_ids: list[str]
    deactivated_training_ids: list[str] = Field(
        description="Trainings the version does not have: set inactive, never deleted."
    )
    detached_training_ids: list[str] = Field(
        description="Of those, the ones whose node_id the version gives to its own training: "
        "their node_id is cleared so the restored training can have it."
    )
    restored_action_ids: list[str] = Field(
        default_factory=list,
        description="Actions of the version put back (re-created with their original id if "
        "deleted since; a re-created action has no stored credentials).",
    )
    deactivated_action_ids: list[str] = Field(
        default_factory=list, description="Actions the version does not have: set inactive."
    )
    deleted_action_ids: list[str] = Field(
        default_factory=list,
        description="Actions the version lacks whose node_id it gives to its own action.",
    )
    phone_number_ids: list[str] = Field(
        default_factory=list, description="The numbers assigned again."
    )
    skipped_phone_number_ids: list[str] = Field(
        default_factory=list,
        description="Numbers of the version that are gone or now answer for another agent.",
    )


class DiffSide(BaseModel):
    version: int | str
    config_hash: str
    draft_revision: int | None


class SettingChange(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    field: str
    from_: Any = Field(serialization_alias="from")
    to: Any


class TrainingRef(BaseModel):
    id: str
    node_id: str | None
    subject: str


class TrainingChange(TrainingRef):
    fields: list[str]


class TrainingsDiff(BaseModel):
    added: list[TrainingRef]
    removed: list[TrainingRef]
    changed: list[TrainingChange]


class ActionRef(BaseModel):
    id: str
    node_id: str
    name: str


class ActionChange(ActionRef):
    fields: list[str]


class ActionsDiff(BaseModel):
    added: list[ActionRef] = Field(default_factory=list)
    removed: list[ActionRef] = Field(default_factory=list)
    changed: list[ActionChange] = Field(default_factory=list)


class PhoneNumbersDiff(BaseModel):
    added: list[str] = Field(default_factory=list, description="Numbers (E.164).")
    removed: list[str] = Field(default_factory=list)


class TokenDelta(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    from_: int = Field(serialization_alias="from")
    to: int
    delta: int


class FlowDiff(BaseModel):
    changed: bool
    conversation_mode: SettingChange
    nodes_added: list[str]
    nodes_removed: list[str]
    nodes_changed: list[str]
    initial_node_changed: bool
    global_functions_changed: bool


class Diff(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    from_: DiffSide = Field(serialization_alias="from")
    to: DiffSide
    has_changes: bool
    settings: list[SettingChange]
    trainings: TrainingsDiff
    flow: FlowDiff
    actions: ActionsDiff = Field(default_factory=ActionsDiff)
    phone_numbers: PhoneNumbersDiff = Field(default_factory=PhoneNumbersDiff)
    tokens: TokenDelta = Field(description="Compiled prompt tokens (system + nodes), cl100k.")


class PublishState(BaseModel):
    """Publish/unpublish responses (reference §3.8), plus the version number."""

    id: str
    name: str
    current_status: AgentStatus
    is_ready_to_publish: bool
    updated_at: Timestamp
    version: int | None
