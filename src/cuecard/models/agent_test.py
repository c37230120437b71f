from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cuecard.models.base import Base, Id, Timestamps, UtcDateTime


class AgentTest(Timestamps, Base):
    """One stored agent test: a conversation plus expectations, as JSON (see agent_tests)."""

    __tablename__ = "agent_tests"
    # The name is the upsert key, like a training's node_id: the CLI and the API address a test
    # by the name its YAML file gives it.
    __table_args__ = (UniqueConstraint("agent_id", "name"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    agent_id: Mapped[str] = mapped_column(Id, ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    definition: Mapped[str] = mapped_column(Text)


class AgentTestRun(Base):
    """The outcome of one run of an agent's tests against draft, published or a version."""

    __tablename__ = "agent_test_runs"
    __table_args__ = (Index("ix_agent_test_runs_agent_created", "agent_id", "created_at"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    agent_id: Mapped[str] = mapped_column(Id, ForeignKey("agents.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(16))  # "draft" or the version number
    # The draft revision the run saw (draft runs only): publish's test gate compares it.
    draft_revision: Mapped[int | None] = mapped_column(Integer)
    config_hash: Mapped[str] = mapped_column(String(64))
    passed: Mapped[bool] = mapped_column(Boolean)
    total: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(Text)  # the run as the API returned it, JSON
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
