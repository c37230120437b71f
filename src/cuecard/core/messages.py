"""Laravel's validation wording, which Talkover clients already see: pydantic's errors turned
into `{"field": ["The field field is required."]}`.

A leaf module: `core/validation.py` (request bodies) and `core/errors.py` (the framework's own
validation errors) both use it, and it imports neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import annotated_types
from pydantic import BaseModel


def laravel_errors(
    errors: Sequence[Any], model: type[BaseModel] | None = None
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        message = _message(field, error, model)
        messages = out.setdefault(field, [])
        if message not in messages:
            messages.append(message)
    return out


def attribute(field: str) -> str:
    return field.replace("_", " ")


def _message(field: str, error: Any, model: type[BaseModel] | None) -> str:
    attr = attribute(field)
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"The {attr} field is required."
    if kind == "string_type":
        return f"The {attr} field must be a string."
    if kind == "string_too_long":
        return f"The {attr} field must not be greater than {ctx['max_length']} characters."
    if kind == "string_pattern_mismatch":
        return f"The {attr} field format is invalid."
    if kind == "too_long" and "max_length" in ctx:
        return f"The {attr} field must not have more than {ctx['max_length']} items."
    if kind == "string_too_short":
        return f"The {attr} field must be at least {ctx['min_length']} characters."
    if kind in ("literal_error", "enum"):
        return f"The selected {attr} is invalid."
    if kind in ("int_type", "int_parsing", "int_parsing_size", "int_from_float"):
        return f"The {attr} field must be an integer."
    if kind in ("float_type", "float_parsing", "finite_number"):
        return f"The {attr} field must be a number."
    if kind in ("bool_type", "bool_parsing"):
        return f"The {attr} field must be true or false."
    if kind in ("list_type", "tuple_type"):
        return f"The {attr} field must be an array."
    if kind.startswith("uuid"):
        return f"The {attr} field must be a valid UUID."
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return _range_message(attr, field, kind, ctx, model)
    if kind == "value_error" and "message" in ctx:
        return str(ctx["message"]).format(attribute=attr)
    return f"The {attr} field is invalid."


def _range_message(
    attr: str, field: str, kind: str, ctx: dict[str, Any], model: type[BaseModel] | None
) -> str:
    bounds = _bounds(model, field)
    if "ge" in bounds and "le" in bounds:
        return f"The {attr} must be between {bounds['ge']} and {bounds['le']}."
    if "gt" in bounds and "lt" in bounds:
        return f"The {attr} must be greater than {bounds['gt']} and less than {bounds['lt']}."
    if "ge" in bounds and "lt" in bounds:
        return f"The {attr} must be at least {bounds['ge']} and less than {bounds['lt']}."
    limit = next(iter(ctx.values()), "")
    words = {
        "greater_than_equal": "at least",
        "less_than_equal": "at most",
        "greater_than": "greater than",
        "less_than": "less than",
    }
    return f"The {attr} field must be {words[kind]} {limit}."


def _bounds(model: type[BaseModel] | None, field: str) -> dict[str, Any]:
    if model is None or field not in model.model_fields:
        return {}
    found: dict[str, Any] = {}
    for item in model.model_fields[field].metadata:
        for name in ("ge", "le", "gt", "lt"):
            if isinstance(item, getattr(annotated_types, name.capitalize())):
                found[name] = getattr(item, name)
    return found
