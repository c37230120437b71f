from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cuecard.models.base import Base, Id, Timestamps, UtcDateTime


class Webhook(Timestamps, Base):
    """A subscription of an agent's events. Secrets are stored encrypted (AES-GCM), never echoed."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    agent_id: Mapped[str] = mapped_column(
        Id, ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    webhook_url: Mapped[str] = mapped_column(String(500))
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    events: Mapped[str] = mapped_column(Text)
    timeout: Mapped[int] = mapped_column(Integer)
    max_retries: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean)
    # active | disabled | error (the last delivery ran out of retries)
    status: Mapped[str] = mapped_column(String(16))
    http_method: Mapped[str] = mapped_column(String(8))
    authorization_scheme: Mapped[str] = mapped_column(String(16))
    authorization_encrypted: Mapped[str | None] = mapped_column(Text)
    custom_headers: Mapped[str] = mapped_column(Text)
    payload_templates: Mapped[str] = mapped_column(Text)


class WebhookLog(Base):
    """One delivery attempt, and the queue itself: a `pending` row is an attempt to make at
    `next_attempt_at`. A worker claims it by moving `next_attempt_at` past the attempt's timeout
    (a lease): if the worker dies, the row comes due again and another worker sends it."""

    __tablename__ = "webhook_logs"
    __table_args__ = (
        Index("ix_webhook_logs_webhook_created", "webhook_id", "created_at"),
        Index("ix_webhook_logs_due", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(Id, ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(Id)
    event: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    # pending | success | failed | retrying
    status: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)
    request_payload: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    original_log_id: Mapped[str | None] = mapped_column(Id)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
