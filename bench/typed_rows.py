"""What a typed row costs: building one from the dict a `core/db.py` query returns, as a frozen
slotted dataclass, a frozen msgspec Struct (unchecked and `msgspec.convert`-checked), the
repositories' own rows (`agents.repository.AgentRow`, `trainings.repository.TrainingRow`) and
a pydantic model, against keeping the dict. Run: `.venv/bin/python bench/typed_rows.py`.

Rows are an agent (44 columns) and a training (10), as SQLite returns them (booleans as 0/1).
"""

from __future__ import annotations

import dataclasses
import sys
import timeit
import typing
from datetime import UTC, datetime
from typing import Any

import msgspec
from pydantic import BaseModel

from cuecard.agents.repository import COLUMNS, AgentRow
from cuecard.agents.settings import AGENT_NAME, REQUIRED, SETTINGS
from cuecard.trainings.repository import TrainingRow

NOW = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
# As SQLite hands an agent back: every setting's default, booleans as 0/1.
AGENT: dict[str, Any] = {name: None for name in COLUMNS.split(", ")}
AGENT.update({s.name: s.default for s in SETTINGS if s.default not in (REQUIRED, AGENT_NAME)})
AGENT.update(id="a" * 36, environment_id="e" * 36, name="Bot", label="Bot", language="en-US",
             current_status="draft", is_sandbox=False, conversation_speed=1.0, draft_revision=3,
             created_at=NOW, updated_at=NOW)  # fmt: skip
AGENT.update({k: int(v) for k, v in AGENT.items() if isinstance(v, bool)})
TRAINING: dict[str, Any] = {
    "id": "t" * 36, "agent_id": "a" * 36, "node_id": "billing/refunds", "subject": "Refunds",
    "instructions": "Refunds take five working days.", "current_status": "active",
    "position": None, "pinned": 0, "created_at": NOW, "updated_at": NOW,
}  # fmt: skip


def _fresh(row: dict[str, Any]) -> dict[str, Any]:
    """The row with keys built at run time, like the column names a cursor reports."""
    return {"".join(list(k)): v for k, v in row.items()}


def _types(row: dict[str, Any]) -> dict[str, type[Any]]:
    return {name: Any for name in row}  # type: ignore[misc]


def contenders(row: dict[str, Any], name: str, real: type[Any]) -> dict[str, Any]:
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
    as_struct = msgspec.defstruct(name, [(f, Any) for f in fields], frozen=True)
    found["msgspec Struct(**row)"] = lambda: as_struct(**row)
    found["msgspec.convert(row)"] = lambda: msgspec.convert(row, as_struct)
    # The repositories' own rows (typed fields, not strict for SQLite's 0/1 booleans, frozen,
    # gc=False), and the same without frozen and gc=False, to see what each costs.
    hints = list(typing.get_type_hints(real).items())
    variants = {"frozen, GC-tracked": {"frozen": True}, "not frozen, GC-tracked": {}}
    for label, options in variants.items():
        other = msgspec.defstruct(name, hints, **options)  # type: ignore[arg-type]
        found[f"msgspec.convert, typed, {label}"] = lambda t=other: msgspec.convert(
            row, t, strict=False
        )
    found["msgspec.convert, typed: the repository's (gc=False)"] = lambda: msgspec.convert(
        row, real, strict=False
    )
    return found


def main() -> None:
    rows = (
        ("agent row (44 columns)", AGENT, AgentRow),
        ("training row (10)", TRAINING, TrainingRow),
    )
    for label, literal, real in rows:
        row = _fresh(literal)
        print(f"\n{label}: ns per row, best of 9 rounds, contenders interleaved (ratio to dict)")
        built = contenders(row, "Row", real)
        runs: dict[str, list[float]] = {key: [] for key in built}
        number = 20_000
        for _ in range(9):  # interleaved: a burst of machine noise hits every contender alike
            for key, build in built.items():
                runs[key].append(timeit.timeit(build, number=number) / number * 1e9)
        base = min(runs["dict (today)"])
        for key, times in runs.items():
            print(f"  {key:52} {min(times):8.0f} ns  {min(times) / base:6.2f}x")


if __name__ == "__main__":
    main()
