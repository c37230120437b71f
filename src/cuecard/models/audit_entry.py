from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cuecard.models.base import Base, Id, UtcDateTime


class AuditEntry(Base):
    """One config write: who (token id and label, kept even after the token is revoked), what,
    and when. No foreign key to agents: the history of a deleted agent stays readable."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_environment_created", "environment_id", "created_at"),
        Index("ix_audit_log_agent_created", "agent_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    environment_id: Mapped[str] = mapped_column(
        Id, ForeignKey("environments.id", ondelete="CASCADE")
    )
    agent_id: Mapped[str | None] = mapped_column(Id)
    token_id: Mapped[str | None] = mapped_column(Id)
    token_label: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(Id)
    changes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
