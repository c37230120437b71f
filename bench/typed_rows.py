"""What a typed row costs: building one from the dict a `core/db.py` query returns, as a frozen
slotted dataclass, a frozen msgspec Struct (unchecked and `msgspec.convert`-checked) and a
pydantic model, against keeping the dict. Run: `.venv/bin/python bench/typed_rows.py`
(msgspec is optional: without it those rows are skipped).

Rows are an agent (44 columns) and a training (10), as the repositories return them.
"""

from __future__ import annotations

import dataclasses
import sys
import timeit
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from cuecard.agents.repository import COLUMNS

NOW = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
AGENT: dict[str, Any] = {name: None for name in COLUMNS.split(", ")}
AGENT.update(id="a" * 36, environment_id="e" * 36, name="Bot", label="Bot", language="en-US",
             conversation_speed=1.0, draft_revision=3, created_at=NOW, updated_at=NOW)  # fmt: skip
TRAINING: dict[str, Any] = {
    "id": "t" * 36, "agent_id": "a" * 36, "node_id": "billing/refunds", "subject": "Refunds",
    "instructions": "Refunds take five working days.", "current_status": "active",
    "position": None, "pinned": False, "created_at": NOW, "updated_at": NOW,
}  # fmt: skip


def _fresh(row: dict[str, Any]) -> dict[str, Any]:
    """The row with keys built at run time, like the column names a cursor reports."""
    return {"".join(list(k)): v for k, v in row.items()}


def _types(row: dict[str, Any]) -> dict[str, type[Any]]:
    return {name: Any for name in row}  # type: ignore[misc]


def contenders(row: dict[str, Any], name: str) -> dict[str, Any]:
    fields = list(row)
    # Column names from a cursor are fresh strings: CPython then matches each keyword by string
    # comparison against every parameter. Interned, the match is a pointer comparison.
    interned = {sys.intern(k): v for k, v in row.items()}
    as_dataclass = dataclasses.make_dataclass(
        name, [(f, Any) for f in fields], frozen=True, slots=True
    )
    as_plain_dataclass = dataclasses.make_dataclass(name, [(f, Any) for f in fields], slots=True)
    as_model = type(name, (BaseModel,), {"__annotations__": _types(row)})
    found: dict[str, Any] = {
        "dict (today)": lambda: dict(row),
        "dataclass(frozen, slots)": lambda: as_dataclass(**row),
        "dataclass(slots)": lambda: as_plain_dataclass(**row),
        "dataclass(slots), interned keys": lambda: as_plain_dataclass(**interned),
        "pydantic model_validate": lambda: as_model.model_validate(row),
    }
    try:
        import msgspec
    except ImportError:
        return found
    as_struct = msgspec.defstruct(name, [(f, Any) for f in fields], frozen=True)
    found["msgspec Struct(**row)"] = lambda: as_struct(**row)
    found["msgspec.convert(row)"] = lambda: msgspec.convert(row, as_struct)
    return found


def main() -> None:
    for label, literal in (("agent row (44 columns)", AGENT), ("training row (10)", TRAINING)):
        row = _fresh(literal)
        print(f"\n{label}: ns per row, best of 5 (ratio to the dict)")
        results = {}
        for name, build in contenders(row, "Row").items():
            number = 20_000
            best = min(timeit.repeat(build, number=number, repeat=5)) / number * 1e9
            results[name] = best
        base = results["dict (today)"]
        for name, ns in results.items():
            print(f"  {name:32} {ns:8.0f} ns  {ns / base:5.2f}x")


if __name__ == "__main__":
    main()
