from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from cuecard.models.base import Base, Id, UtcDateTime


class ApiToken(Base):
    """An environment token. Only a keyed hash (HMAC-SHA256) of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    environment_id: Mapped[str] = mapped_column(
        Id, ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str | None] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so a human can tell tokens apart in `tokens list`.
    hint: Mapped[str] = mapped_column(String(32))
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # A runtime token: reads runtime configs, retrieves, invokes actions, reports calls; no more.
    runtime: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
