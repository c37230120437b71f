from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cuecard.models.base import Base, Id, Timestamps


class Action(Timestamps, Base):
    """Something an agent can do on a call (webhook, transfer, hold, external)."""

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("agent_id", "node_id"),  # the upsert key, required (unlike trainings)
        Index("ix_actions_agent_created", "agent_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    agent_id: Mapped[str] = mapped_column(Id, ForeignKey("agents.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16))
    input_schema: Mapped[str] = mapped_column(Text)  # JSON array of inputs
    integration: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    authorization_url: Mapped[str | None] = mapped_column(Text)
    authorization_scheme: Mapped[str] = mapped_column(String(16))
    authorization_header: Mapped[str | None] = mapped_column(String(255))
    # Header names only; their values live encrypted in `header_secrets`.
    custom_header_keys: Mapped[str] = mapped_column(Text)  # JSON array of names
    # AES-GCM with a key derived from CUECARD_SECRET_KEY (actions/secrets.py): the token of the
    # authorization scheme, and the JSON {name: value} of the custom headers.
    authorization_secret: Mapped[str | None] = mapped_column(Text)
    header_secrets: Mapped[str | None] = mapped_column(Text)
    speak_on_send: Mapped[str | None] = mapped_column(Text)
    speak_on_receive: Mapped[str | None] = mapped_column(Text)
    execution_mode: Mapped[str] = mapped_column(String(16))
    hold_duration: Mapped[int | None] = mapped_column(Integer)
    transfer_to: Mapped[str | None] = mapped_column(String(32))
    current_status: Mapped[str] = mapped_column(String(16))
