from __future__ import annotations

from pydantic import BaseModel, Field


class TokenAbilities(BaseModel):
    """What the calling token may do (a Cuecard extension): a client such as the dashboard asks
    once instead of probing writes for a 403."""

    token_id: str
    label: str | None
    environment_id: str
    read_only: bool
    runtime: bool = Field(description="A runtime token reads runtime configs and reports calls.")
    can_write: bool = Field(description="Writes are allowed (not read-only, not a runtime token).")
