from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from cuecard.models.base import Base, Id, UtcDateTime


class Environment(Base):
    """A tenant: its tokens see its agents and nothing else."""

    __tablename__ = "environments"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
