from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from cuecard.agents.settings import Direction
from cuecard.calling import numbers
from cuecard.calling.repository import PhoneNumberRow
from cuecard.core.schemas import Timestamp
from cuecard.core.validation import Input, Query


class NumberDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    BOTH = "both"


class NumberType(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    MMS = "mms"
    FAX = "fax"


class AgentPhoneNumber(BaseModel):
    id: str
    number: str
    country_code: str | None
    formatted_number: str
    international_number: str
    current_status: str = "active"
    direction: str

    @classmethod
    def from_row(cls, row: PhoneNumberRow) -> AgentPhoneNumber:
        return cls(
            id=row.id,
            number=row.number,
            country_code=row.country_code,
            formatted_number=numbers.formatted(row.number),
            international_number=numbers.international(row.number),
            direction=row.direction,
        )


class CallingUpdate(Input):
    direction: Direction
    # Left out: the agent keeps its numbers (checked against the new direction).
    phone_number_ids: list[str] | None = Field(None, max_length=100)


class CallingState(BaseModel):
    """PUT .../calling's partial agent, as documented."""

    id: str
    name: str
    direction: Direction
    current_status: str
    phone_numbers: list[AgentPhoneNumber]
    updated_at: Timestamp


class PhoneNumberQuery(Query):
    type: NumberType | None = None
    has_voice: bool | None = None
    has_whatsapp: bool | None = None
    search: str | None = Field(None, max_length=255)
    direction: NumberDirection | None = None  # Cuecard


class PhoneNumber(BaseModel):
    """The documented phone number. Cuecard's numbers are the operator's: voice only, no price
    or renewal (those fields are 0, false or null), plus `direction`, `label`, `agent_ids`."""

    id: str
    number: str
    country_code: str | None
    formatted_number: str
    international_number: str
    type: NumberType = NumberType.VOICE
    has_voice: bool = True
    has_sms: bool = False
    has_mms: bool = False
    has_fax: bool = False
    has_whatsapp: bool = False
    current_status: str = "active"
    is_sandbox: bool = False
    current_price: float = 0.0
    currency: str = "USD"
    renewal_date: str | None = None
    auto_renewal: bool = False
    created_at: Timestamp
    updated_at: Timestamp
    monthly_renewal_cost: float = 0.0
    days_until_monthly_renewal: int | None = None
    is_due_for_monthly_renewal: bool = False
    direction: NumberDirection
    label: str | None
    agent_ids: list[str]
