from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cuecard.models.base import Base, Id, Timestamps, UtcDateTime


class Call(Timestamps, Base):
    """A call a voice runtime reported: which agent, which version of its config, how it went."""

    __tablename__ = "calls"
    __table_args__ = (
        # A runtime retrying its "open" report finds the call it already opened.
        UniqueConstraint("environment_id", "open_event_id"),
        Index("ix_calls_environment_created", "environment_id", "created_at"),
        Index("ix_calls_agent_created", "agent_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    environment_id: Mapped[str] = mapped_column(
        Id, ForeignKey("environments.id", ondelete="CASCADE")
    )
    agent_id: Mapped[str] = mapped_column(Id, ForeignKey("agents.id", ondelete="CASCADE"))
    open_event_id: Mapped[str] = mapped_column(String(255))
    sid: Mapped[str | None] = mapped_column(String(255))
    direction: Mapped[str] = mapped_column(String(16))
    from_number: Mapped[str | None] = mapped_column(String(64))
    to_number: Mapped[str | None] = mapped_column(String(64))
    is_testing: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    duration: Mapped[int] = mapped_column(Integer)
    # What the runtime loaded: the version number (None for a draft) and the config hash.
    version: Mapped[int | None] = mapped_column(Integer)
    config_hash: Mapped[str | None] = mapped_column(String(64))
    context: Mapped[str | None] = mapped_column(Text)
    reported_by_token_id: Mapped[str | None] = mapped_column(
        Id, ForeignKey("api_tokens.id", ondelete="SET NULL")
    )
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CallEvent(Base):
    """One event a runtime reported during a call (one of the call events of the webhooks)."""

    __tablename__ = "call_events"
    # Idempotency: the runtime's own id of the report, once per call.
    __table_args__ = (UniqueConstraint("call_id", "event_id"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    call_id: Mapped[str] = mapped_column(Id, ForeignKey("calls.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(255))
    # The order the runtime reported events in (several may share a timestamp).
    seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CallTurn(Base):
    """One exchange: what the caller said, what the agent replied, and what shaped the reply."""

    __tablename__ = "call_turns"
    __table_args__ = (UniqueConstraint("call_id", "event_id"), Index(None, "call_id", "seq"))

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    call_id: Mapped[str] = mapped_column(Id, ForeignKey("calls.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(255))
    seq: Mapped[int] = mapped_column(Integer)
    node_id: Mapped[str | None] = mapped_column(String(255))
    user_text: Mapped[str | None] = mapped_column(Text)
    reply_text: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CallTurnTraining(Base):
    """A training that shaped a turn, `inline` (in the prompt) or `retrieved` (for that turn).

    No foreign key to trainings: usage stays countable after a training is deleted.
    """

    __tablename__ = "call_turn_trainings"
    __table_args__ = (Index(None, "agent_id", "training_id", "created_at"),)

    turn_id: Mapped[str] = mapped_column(
        Id, ForeignKey("call_turns.id", ondelete="CASCADE"), primary_key=True
    )
    training_id: Mapped[str] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    call_id: Mapped[str] = mapped_column(Id, ForeignKey("calls.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(Id, ForeignKey("agents.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
