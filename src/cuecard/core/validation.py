"""Request validation with Laravel's wording, which Talkover clients already see.

Pydantic models declare the rules; `validate()` runs them and turns pydantic's errors into
`{"field": ["The field field is required."]}`. Strings are trimmed and blank ones count as missing
(Laravel's TrimStrings + ConvertEmptyStringsToNull), unknown fields are ignored, and every invalid
field is reported at once.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from cuecard.core.errors import ValidationFailed
from cuecard.core.messages import laravel_errors

M = TypeVar("M", bound=BaseModel)

# A page past this is a 422: its offset must fit the databases' 64-bit integers (a huge `page`
# was a 500), and no list has that many pages of even one item.
MAX_PAGE = 1_000_000


def _page_at_most(value: int) -> int:
    if value > MAX_PAGE:
        message = f"The {{attribute}} field must not be greater than {MAX_PAGE}."
        raise PydanticCustomError("value_error", "page too large", {"message": message})
    return value


# `page` of every paginated list: "The page field must be at least 1." below, Laravel's max
# wording above.
PageNumber = Annotated[int, Field(ge=1), AfterValidator(_page_at_most)]


class Input(BaseModel):
    """Base of every request body and query model."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise ValidationFailed({"body": ["The request body must be a JSON object."]})
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed({"body": ["The request body must be valid JSON."]}) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python accepts NaN and Infinity; JSON does not


def validate(model: type[M], data: Any, context: dict[str, Any] | None = None) -> M:
    if not isinstance(data, dict):
        raise ValidationFailed({"body": ["The request body must be a JSON object."]})
    cleaned = {k: v for k, v in ((k, _blank_to_none(v)) for k, v in data.items()) if v is not None}
    try:
        return model.model_validate(cleaned, context=context)
    except PydanticValidationError as exc:
        raise ValidationFailed(laravel_errors(exc.errors(), model)) from None


def validate_with(model: type[M], data: dict[str, Any], errors: dict[str, list[str]]) -> M | None:
    """Validate like `validate`, but add the field errors to `errors` instead of raising, so a
    service can add the errors of rules that cross fields and report them all at once."""
    try:
        return validate(model, data)
    except ValidationFailed as exc:
        for field, messages in (exc.errors or {}).items():
            errors.setdefault(field, []).extend(messages)
        return None


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value
