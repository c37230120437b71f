from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cuecard.models.base import Base, Id, UtcDateTime


class AgentFlow(Base):
    """One saved flow of an agent. Every save is a new row; the highest number is the current one.

    Rows are never updated, so a flow version is immutable and a published snapshot can name it.
    """

    __tablename__ = "agent_flows"
    __table_args__ = (UniqueConstraint("agent_id", "number"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    agent_id: Mapped[str] = mapped_column(Id, ForeignKey("agents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per agent
    version: Mapped[str] = mapped_column(String(255))  # flow_config.meta.version, or the number
    conversation_mode: Mapped[str] = mapped_column(String(16))
    flow_config: Mapped[str | None] = mapped_column(Text)  # JSON; NULL when llm_driven
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
