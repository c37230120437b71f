from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cuecard.models.base import Base, Id, Timestamps


class PhoneNumber(Timestamps, Base):
    """A number the operator registered (`cuecard phone-numbers add`) for one environment."""

    __tablename__ = "phone_numbers"
    __table_args__ = (Index("ix_phone_numbers_environment_number", "environment_id", "number"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    environment_id: Mapped[str] = mapped_column(
        Id, ForeignKey("environments.id", ondelete="CASCADE")
    )
    # E.164. Unique across environments: a call to it must reach exactly one tenant.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    country_code: Mapped[str | None] = mapped_column(String(8))
    direction: Mapped[str] = mapped_column(String(16))  # inbound | outbound | both
    label: Mapped[str | None] = mapped_column(String(255))


class AgentPhoneNumber(Base):
    """A number assigned to an agent (PUT .../calling)."""

    __tablename__ = "agent_phone_numbers"
    __table_args__ = (
        # One inbound number answers for one agent: `inbound_number_id` holds the number's id
        # while the agent is inbound and NULL otherwise; NULLs never collide, so outbound
        # agents may share a number and the database settles two agents racing for one.
        UniqueConstraint("inbound_number_id"),
        Index("ix_agent_phone_numbers_phone_number_id", "phone_number_id"),
    )

    agent_id: Mapped[str] = mapped_column(
        Id, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    phone_number_id: Mapped[str] = mapped_column(
        Id, ForeignKey("phone_numbers.id", ondelete="CASCADE"), primary_key=True
    )
    inbound_number_id: Mapped[str | None] = mapped_column(Id)
