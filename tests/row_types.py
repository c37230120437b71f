"""A typed row (a msgspec Struct a repository returns) against the table model it reads."""

from __future__ import annotations

import types
import typing
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa


def field_types(row_type: type[msgspec.Struct]) -> dict[str, tuple[type[Any], bool]]:
    """Each field's Python type and whether it may be None."""
    found = {}
    for name, hint in typing.get_type_hints(row_type).items():
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        kinds = [a for a in args if a is not type(None)]
        assert len(kinds) == 1, f"{name}: {hint}"
        found[name] = (kinds[0], type(None) in args)
    return found


def column_types(
    table: sa.Table, *, stamps: type[Any] = datetime
) -> dict[str, tuple[type[Any], bool]]:
    """Each column's Python type and nullability; `stamps=str` for a row type that keeps its
    timestamps as the text the databases hand over (`cuecard.core.db.Row`)."""
    found = {}
    for column in table.columns:
        kind = column.type.python_type
        found[column.name] = (stamps if issubclass(kind, datetime) else kind, column.nullable)
    return found
