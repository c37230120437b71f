"""A big agent's compile: first, then again after one of its trainings changed (as at a publish).

`runtime.tokens.training_tokens` remembers each training block's token count by its text, so the
second compile counts only the changed training (bench/README.md, item 18). Each round makes an
agent of fresh texts (none of them counted before), compiles it, changes one training and
compiles it again; the least CPU of the rounds is kept for each.

    .venv/bin/python bench/compile_bench.py [--trainings N] [--rounds N]
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from cuecard.runtime.compile import compile_snapshot
from cuecard.snapshots.reader import SCHEMA_VERSION

WORDS = [
    "the",
    "caller",
    "asks",
    "about",
    "billing",
    "hours",
    "refunds",
    "account",
    "order",
    "delivery",
    "plan",
    "address",
]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) + str(rng.randrange(10_000)) for _ in range(words))


def _snapshot(rng: random.Random, trainings: int) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "agent": {"id": "agent", "name": "Big", "description": "A big agent.", "language": "en-US"},
        "trainings": [
            {
                "id": f"training-{n:06d}",
                "agent_id": "agent",
                "node_id": f"node-{n:06d}",
                "subject": _text(rng, 5),
                "instructions": _text(rng, 70),  # about 500 characters, as the bench's agents
                "current_status": "active",
                "position": None,
                "pinned": False,
                "created_at": "2026-01-01T00:00:00.000000Z",
                "updated_at": "2026-01-01T00:00:00.000000Z",
            }
            for n in range(trainings)
        ],
        "flow": None,
        "actions": [],
        "phone_numbers": [],
    }


def _cpu(snapshot: dict[str, Any]) -> float:
    started = time.process_time()
    compile_snapshot(snapshot)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trainings", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    rng = random.Random(8)
    first: list[float] = []
    again: list[float] = []
    for _ in range(options.rounds):
        snapshot = _snapshot(rng, options.trainings)
        first.append(_cpu(snapshot))
        changed = snapshot["trainings"][options.trainings // 2]
        changed["instructions"] += " Changed."
        again.append(_cpu(snapshot))
    print(f"compile of {options.trainings:,} trainings, least CPU of {options.rounds} rounds:")
    print(f"  first                       {min(first) * 1000:8.1f} ms")
    print(
        f"  again after one change      {min(again) * 1000:8.1f} ms "
        f"({min(again) / min(first):.2f}x)"
    )


if __name__ == "__main__":
    main()
