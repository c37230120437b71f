"""Request validation with Laravel's wording, which Talkover clients already see.

Pydantic models declare the rules; `validate()` runs them and turns pydantic's errors into
`{"field": ["The field field is required."]}`. Strings are trimmed and blank ones count as missing
(Laravel's TrimStrings + ConvertEmptyStringsToNull), unknown fields are ignored, and every invalid
field is reported at once.

Hardening: a body nested deeper than `max_depth`, text with NUL characters or lone surrogates
(which PostgreSQL cannot store and SQLite's driver cannot encode), and integers outside the
32-bit range the columns hold are 422s here, identically on both databases, before any SQL runs.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from cuecard.core.errors import ValidationFailed
from cuecard.core.messages import attribute, laravel_errors

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
DEFAULT_MAX_DEPTH = 32
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class Input(BaseModel):
    """Base of every request body and query model."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Query(Input):
    """Base of every query-string model: read, never changed, so a request without a query
    string can share one instance (`cuecard.core.routing.query_params`)."""

    model_config = ConfigDict(frozen=True)


def parse_json(raw: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    if not raw.strip():
        raise ValidationFailed({"body": ["The request body must be a JSON object."]})
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:  # deeper than Python's own limit: certainly deeper than ours
        raise _too_deep(max_depth) from None
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed({"body": ["The request body must be valid JSON."]}) from None
    check_json(data, max_depth)
    return data


def _too_deep(max_depth: int) -> ValidationFailed:
    return ValidationFailed(
        {"body": [f"The request body must not nest arrays and objects more than {max_depth} deep."]}
    )


def check_json(data: Any, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    """Walk the parsed body once (iteratively: depth costs no recursion) for what no database
    can store: too deep a structure, NUL characters and lone surrogates in any key or string."""
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            if _BAD_TEXT.search(node):
                raise _bad_text(path or "body")
        elif isinstance(node, dict | list):
            if depth >= max_depth:
                raise _too_deep(max_depth)
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in items:
                if isinstance(key, str) and _BAD_TEXT.search(key):
                    raise _bad_text(path or "body")
                stack.append((value, depth + 1, f"{path}.{key}" if path else str(key)))


def _bad_text(field: str) -> ValidationFailed:
    attr = attribute(field)
    return ValidationFailed(
        {field: [f"The {attr} field must not contain NUL characters or invalid Unicode."]}
    )


def check_text(field: str, value: str) -> None:
    """The same rule for a query-string value or path segment."""
    if _BAD_TEXT.search(value):
        raise _bad_text(field)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python accepts NaN and Infinity; JSON does not


def validate(model: type[M], data: Any, context: dict[str, Any] | None = None) -> M:
    if not isinstance(data, dict):
        raise ValidationFailed({"body": ["The request body must be a JSON object."]})
    cleaned = {k: v for k, v in ((k, _blank_to_none(v)) for k, v in data.items()) if v is not None}
    try:
        result = model.model_validate(cleaned, context=context)
    except PydanticValidationError as exc:
        raise ValidationFailed(laravel_errors(exc.errors(), model)) from None
    out_of_range = _int_range_errors(result)
    if out_of_range:
        raise ValidationFailed(out_of_range)
    return result


def _int_range_errors(model: BaseModel, prefix: str = "") -> dict[str, list[str]]:
    """Integers the 32-bit columns cannot hold, in every field of every Input model: the same
    422 on both databases (SQLite would store them, PostgreSQL would fail)."""
    errors: dict[str, list[str]] = {}
    for name in type(model).model_fields:
        _check_int(getattr(model, name), prefix + name, errors)
    return errors


def _check_int(value: Any, field: str, errors: dict[str, list[str]]) -> None:
    attr = attribute(field)
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if value > INT_MAX:
            errors[field] = [f"The {attr} field must not be greater than {INT_MAX}."]
        elif value < INT_MIN:
            errors[field] = [f"The {attr} field must be at least {INT_MIN}."]
    elif isinstance(value, BaseModel):
        errors.update(_int_range_errors(value, field + "."))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_int(item, f"{field}.{i}", errors)


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
