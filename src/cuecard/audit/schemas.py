from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from cuecard.core.errors import ValidationFailed
from cuecard.core.schemas import Timestamp
from cuecard.core.validation import Query


class AuditToken(BaseModel):
    id: str | None
    label: str | None


class AuditEntry(BaseModel):
    id: str
    agent_id: str | None
    token: AuditToken
    action: str
    target_type: str
    target_id: str | None
    changes: dict[str, Any]
    created_at: Timestamp


def parse_day(value: Any) -> Any:
    """YYYY-MM-DD, with Laravel's wording when it is not one."""
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
        except ValueError:
            pass
        _bad_date()
    return value


def _bad_date() -> None:
    raise PydanticCustomError(
        "value_error", "", {"message": "The {attribute} must be a valid date."}
    )


class DateRange(Query):
    date_from: date | None = None
    date_to: date | None = None

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _day(cls, value: Any) -> Any:
        return parse_day(value)

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start of date_from, start of the day after date_to), both UTC; either may be open."""
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValidationFailed(
                {"date_to": ["The date to must be a date after or equal to date from."]}
            )
        since = datetime.combine(self.date_from, time.min, tzinfo=UTC) if self.date_from else None
        before = (
            datetime.combine(self.date_to, time.min, tzinfo=UTC) + timedelta(days=1)
            if self.date_to
            else None
        )
        return since, before


class AuditQuery(DateRange):
    agent_id: str | None = Field(None, max_length=36)
    token_id: str | None = Field(None, max_length=36)
    action: str | None = Field(None, max_length=64)
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(20, ge=1, le=100)
