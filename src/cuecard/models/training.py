from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cuecard.models.base import Base, Id, Timestamps


class Training(Timestamps, Base):
    __tablename__ = "trainings"
    __table_args__ = (
        # The upsert key. NULLs are distinct on both databases, so trainings without a node_id
        # never collide.
        UniqueConstraint("agent_id", "node_id"),
        Index("ix_trainings_agent_created_id", "agent_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    agent_id: Mapped[str] = mapped_column(Id, ForeignKey("agents.id", ondelete="CASCADE"))
    node_id: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    instructions: Mapped[str] = mapped_column(Text)
    current_status: Mapped[str] = mapped_column(String(16))
    position: Mapped[int | None] = mapped_column(Integer)
    pinned: Mapped[bool] = mapped_column(Boolean)
