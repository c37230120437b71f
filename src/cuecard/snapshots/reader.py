"""The published snapshot: its schema version, and the one reader that opens every version.

A version's snapshot is stored forever (`agent_versions.snapshot`, canonical JSON), so a reader
must open what any earlier Cuecard wrote. Every snapshot publish writes carries
`schema_version`; one without it is version 1. `read()` upgrades an older one step by step to
the current shape, so the code after it (compile, diff, restore, GET .../versions/N) sees one
shape only.

Versions:
1. No `schema_version`. Any of `flow`, `actions`, `phone_numbers` may be missing (versions from
   before flows, actions or numbers), and trainings from before `node_id`, `position` or
   `pinned` lack them. A missing `flow` meant llm_driven; missing actions or numbers meant the
   version froze none (a restore leaves them as they are).
2. Every key present. `actions` / `phone_numbers` are null when the version did not freeze
   them (only ever from an upgraded version 1); `flow` is `{id, conversation_mode,
   flow_config}`. Agent settings a version did not know stay absent from `agent`: a restore
   keeps the current value of those.

Changing the shape: bump SCHEMA_VERSION, write the new shape in `snapshots.service.snapshot`, and
add an `_upgrade_to_N` step below (with a test that reads a stored snapshot of the old shape).
Never change a step once released. The compiled config does not depend on the version number,
so an upgrade must keep every `config_hash` as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

SCHEMA_VERSION = 2

# The flow of an agent that never saved one (as `flows.repository.snapshot_of(None)`).
_NO_FLOW = {"id": None, "conversation_mode": "llm_driven", "flow_config": None}


class Snapshot(TypedDict):
    schema_version: int
    agent: dict[str, Any]
    trainings: list[dict[str, Any]]
    flow: dict[str, Any]
    actions: list[dict[str, Any]] | None  # None: the version froze no actions
    phone_numbers: list[dict[str, Any]] | None  # None: the version froze no numbers


class UnreadableSnapshot(ValueError):
    """A snapshot written by a newer Cuecard than this one."""


def _upgrade_to_2(old: dict[str, Any]) -> dict[str, Any]:
    trainings = [
        {"node_id": None, "position": None, "pinned": False, **training}
        for training in old.get("trainings") or []
    ]
    return {
        **old,
        "schema_version": 2,
        "trainings": trainings,
        "flow": old.get("flow") or dict(_NO_FLOW),
        "actions": old.get("actions"),
        "phone_numbers": old.get("phone_numbers"),
    }


# _UPGRADES[n] turns version n into version n + 1.
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _upgrade_to_2}


def read(stored: str | Mapping[str, Any]) -> Snapshot:
    """A stored snapshot (its JSON text, or the decoded object) in the current shape."""
    data: dict[str, Any] = json.loads(stored) if isinstance(stored, str) else dict(stored)
    version = int(data.get("schema_version", 1))
    if version > SCHEMA_VERSION:
        raise UnreadableSnapshot(
            f"snapshot schema_version {version} is newer than this server's {SCHEMA_VERSION}"
        )
    while version < SCHEMA_VERSION:
        data = _UPGRADES[version](data)
        version += 1
    snapshot: Snapshot = data  # type: ignore[assignment]  # the shape the steps guarantee
    return snapshot
