from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from cuecard.core.schemas import Timestamp
from cuecard.core.validation import Input
from cuecard.runtime.schemas import VersionSelector


class ConversationTurn(Input):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=10_000)


class ReplyExpectation(Input):
    """Checked only when an LLM is configured; skipped (not failed) otherwise."""

    mentions: list[str] = Field(default_factory=list, max_length=20)
    not_mentions: list[str] = Field(default_factory=list, max_length=20)
    criterion: str | None = Field(None, max_length=2_000)


class Expectations(Input):
    # Training ids or node_ids that must (not) reach the model on the last turn.
    reach: list[str] = Field(default_factory=list, max_length=50)
    not_reach: list[str] = Field(default_factory=list, max_length=50)
    reply: ReplyExpectation | None = None


class AgentTestUpsert(Input):
    """A test as the API stores it under its name (PUT .../tests/{name})."""

    node_id: str | None = Field(None, max_length=255)
    conversation: list[ConversationTurn] = Field(min_length=1, max_length=50)
    expect: Expectations = Field(default_factory=Expectations)

    @field_validator("conversation")
    @classmethod
    def _ends_with_the_caller(cls, value: list[ConversationTurn]) -> list[ConversationTurn]:
        if value[-1].role != "user":
            raise ValueError("The conversation must end with a user turn.")
        return value


class AgentTestDefinition(AgentTestUpsert):
    """What a test file holds and what a run takes: the test with its name."""

    name: str = Field(max_length=255)


class AgentTest(BaseModel):
    id: str
    name: str
    node_id: str | None
    conversation: list[ConversationTurn]
    expect: Expectations
    created_at: Timestamp
    updated_at: Timestamp


class RunRequest(Input):
    version: VersionSelector = "draft"
    # Tests sent with the run (e.g. from files by `cuecard agents test DIR`); else the stored ones.
    tests: list[AgentTestDefinition] | None = Field(None, max_length=500)


class Via(StrEnum):
    SYSTEM = "system"
    NODE = "node"
    RETRIEVED = "retrieved"


class TrainingRef(BaseModel):
    training_id: str
    node_id: str | None
    subject: str


class ReachedTraining(TrainingRef):
    via: Via
    score: float | None = None


class RankedTraining(TrainingRef):
    rank: int
    score: float


class FailureKind(StrEnum):
    MISSING = "missing"
    UNEXPECTED = "unexpected"
    UNKNOWN_TRAINING = "unknown_training"
    REPLY_MISSING_TEXT = "reply_missing_text"
    REPLY_FORBIDDEN_TEXT = "reply_forbidden_text"
    REPLY_CRITERION = "reply_criterion"


class Failure(BaseModel):
    kind: FailureKind
    expected: str
    message: str
    training: TrainingRef | None = None
    # For a missing retrieved training: where it ranked, and what ranked above it.
    rank: int | None = None
    score: float | None = None
    ranked_above: list[RankedTraining] = Field(default_factory=list)


class ReplyChecks(StrEnum):
    NONE = "none"  # the test has no reply expectations
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # no LLM configured


class CaseResult(BaseModel):
    name: str
    passed: bool
    reached: list[ReachedTraining]
    failures: list[Failure]
    reply: str | None = None
    reply_checks: ReplyChecks = ReplyChecks.NONE


class Coverage(BaseModel):
    active: int
    reached: int
    unreached: list[TrainingRef]


class RunResult(BaseModel):
    id: str | None = None
    version: int | str
    config_hash: str
    draft_revision: int | None = None
    passed: bool
    total: int
    failed: int
    llm: bool
    tests: list[CaseResult]
    coverage: Coverage
    created_at: Timestamp | None = None
