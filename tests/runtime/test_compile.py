"""The compiler on its own: a snapshot in, the same bytes out."""

from __future__ import annotations

import random
from typing import Any

import pytest

from cuecard.runtime import compile as compile_module
from cuecard.runtime.compile import Format, compile_snapshot, escape_placeholders
from tests.runtime import pipecat_flow_config as pipecat


def training(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-0000-0000-{n:012d}",
        "agent_id": "agent",
        "node_id": None,
        "subject": f"Subject {n}",
        "instructions": f"Instructions {n}.",
        "current_status": "active",
        "position": None,
        "pinned": False,
        "created_at": f"2024-01-01T00:00:{n % 60:02d}.000000Z",
        "updated_at": "2024-06-01T00:00:00.000000Z",
        **fields,
    }


def snapshot(trainings: list[dict[str, Any]], **agent: Any) -> dict[str, Any]:
    return {
        "agent": {"id": "agent", "description": "Base.", "language": "en-US", **agent},
        "trainings": trainings,
    }


FLOW_N = {
    "id": "flow-1",
    "conversation_mode": "flow_driven",
    "flow_config": {"initial_node_id": "n", "nodes": [{"id": "n", "type": "end"}]},
}


class TestCompileSnapshot:
    def test_the_order_rows_arrive_in_does_not_matter(self) -> None:
        rows = [training(n, position=n % 4 or None, node_id=f"n{n % 3}" if n % 2 else None)
                for n in range(40)]  # fmt: skip
        shuffled = rows[:]
        random.Random(7).shuffle(shuffled)
        first, second = compile_snapshot(snapshot(rows)), compile_snapshot(snapshot(shuffled))
        assert first.config_hash == second.config_hash
        for fmt in Format:
            assert first.render(fmt) == second.render(fmt)

    def test_timestamps_other_than_the_order_do_not_enter_the_config(self) -> None:
        rows = [training(1), training(2)]
        touched = [{**row, "updated_at": "2030-01-01T00:00:00.000000Z"} for row in rows]
        first, second = compile_snapshot(snapshot(rows)), compile_snapshot(snapshot(touched))
        assert first.render(Format.NATIVE) == second.render(Format.NATIVE)
        assert b"2024" not in first.render(Format.NATIVE)

    def test_ties_in_position_and_created_at_fall_back_to_id(self) -> None:
        a = training(2, created_at="2024-01-01T00:00:00.000000Z", subject="second by id")
        b = training(1, created_at="2024-01-01T00:00:00.000000Z", subject="first by id")
        compiled = compile_snapshot(snapshot([a, b]))
        assert compiled.system_prompt.index("first by id") < compiled.system_prompt.index(
            "second by id"
        )

    def test_any_content_change_changes_the_hash(self) -> None:
        base = compile_snapshot(snapshot([training(1)])).config_hash
        variants = [
            snapshot([training(1, instructions="Other.")]),
            snapshot([training(1, current_status="inactive")]),
            {**snapshot([training(1, node_id="n")]), "flow": FLOW_N},
            snapshot([training(1)], description="Other base."),
            snapshot([training(1)], llm_temperature=0.1),
            snapshot([training(1)], training_budget_tokens=1),
        ]
        hashes = {compile_snapshot(variant).config_hash for variant in variants}
        assert base not in hashes and len(hashes) == len(variants)

    def test_a_node_id_alone_changes_nothing_the_model_receives(self) -> None:
        plain = compile_snapshot(snapshot([training(1)]))
        with_id = compile_snapshot(snapshot([training(1, node_id="training-node-123")]))
        assert with_id.render(Format.OPENAI_MESSAGES) == plain.render(Format.OPENAI_MESSAGES)
        assert with_id.config_hash == plain.config_hash

    def test_the_compiler_version_is_part_of_the_hash(self, monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:  # fmt: skip
        before = compile_snapshot(snapshot([training(1)])).config_hash
        monkeypatch.setattr(compile_module, "COMPILER_VERSION", compile_module.COMPILER_VERSION + 1)
        assert compile_snapshot(snapshot([training(1)])).config_hash != before


class TestEscapePlaceholders:
    @pytest.mark.parametrize(
        "text",
        [
            "Hello {{ name }}!",
            "{{order.id}} and {{ order.items.0 }}",
            r"Already escaped \{{ name }}",
            "Not placeholders: {{ not valid }}, { {x} }, {{}}, {{ 1abc }}",
            "Plain prose.",
        ],
    )
    def test_pipecat_renders_the_text_back_unchanged(self, text: str) -> None:
        assert pipecat.render(escape_placeholders(text), {}) == text
