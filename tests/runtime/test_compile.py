"""The compiler on its own: a snapshot in, the same bytes out."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest

from cuecard.runtime import compile as compile_module
from cuecard.runtime.compile import Format, canonical_json, compile_snapshot, escape_placeholders
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


class TestCanonicalJson:
    """Stored versions and config hashes are this text: encoding a big agent a piece at a time
    must give exactly what one `json.dumps` gives, or every hash would change."""

    @staticmethod
    def one_call(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def test_a_big_agent_is_the_text_of_one_call(self) -> None:
        rows = [training(n, subject=f"Süßes ✓ {n}", position=n % 7 or None) for n in range(1000)]
        value = {**snapshot(rows), "flow": FLOW_N, "schema_version": 2, "actions": []}
        assert canonical_json(value) == self.one_call(value)

    def test_any_nesting_is_the_text_of_one_call(self) -> None:
        rng = random.Random(11)

        def value(depth: int) -> Any:
            kind = rng.random()
            if depth > 3 or kind < 0.3:
                return rng.choice([0, -1.5, 1e300, 'é"\n✓', None, True, "", [], {}])
            if kind < 0.65:
                return [value(depth + 1) for _ in range(rng.choice([0, 1, 64, 65, 200]))]
            keys = ["b", "a", "é", "Z", "aa", "10", "9"]
            return {rng.choice(keys) + str(i): value(depth + 1) for i in range(rng.randint(0, 6))}

        for _ in range(200):
            sample = value(0)
            assert canonical_json(sample) == self.one_call(sample)


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


def flow_snapshot(nodes: list[dict[str, Any]], trainings: list[dict[str, Any]] | None = None,
                  **config: Any) -> dict[str, Any]:  # fmt: skip
    flow_config = {"initial_node_id": nodes[0]["id"], "nodes": nodes, **config}
    return {
        **snapshot(trainings or []),
        "flow": {"id": "f", "conversation_mode": "flow_driven", "flow_config": flow_config},
    }


def action(action_id: str, name: str, description: str) -> dict[str, Any]:
    """An active action as a snapshot holds it (no secrets: never any)."""
    return {
        "id": action_id, "node_id": f"node-{action_id}", "name": name, "type": "webhook",
        "description": description, "current_status": "active", "url": "https://example.com/x",
        "input_schema": [
            {"name": "day", "type": "string", "description": "The day", "required": True}
        ],
    }  # fmt: skip


def pipecat_doc(snap: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        compile_snapshot(snap, **kwargs).render(Format.PIPECAT_FLOWS)
    )
    pipecat.FlowConfig.model_validate(document)
    for node in document["nodes"].values():
        for function in node.get("functions", []):
            assert function.get("transition_to") in (None, *document["nodes"])
    return document


class TestCompiledFlows:
    def test_each_branch_is_a_function_named_for_its_match(self) -> None:
        doc = pipecat_doc(flow_snapshot([
            {"id": "q", "type": "decision",
             "branches": [{"match": "Yes!", "next": "a"}, {"match": "yes", "next": "b"},
                          {"match": "x" * 100, "next": "b"}]},
            {"id": "a", "type": "end"}, {"id": "b", "type": "end"},
        ]))  # fmt: skip
        names = [f["name"] for f in doc["nodes"]["q"]["functions"]]
        assert names[:2] == ["choose_yes", "choose_yes_2"]
        assert all(re.fullmatch(r"[a-z0-9_]{1,64}", name) for name in names)
        targets = [f["transition_to"] for f in doc["nodes"]["q"]["functions"]]
        assert targets == ["a", "b", "b"]
        assert '"Yes!"' in doc["nodes"]["q"]["functions"][0]["description"]

    def test_say_speaks_then_waits_and_end_says_goodbye_and_ends(self) -> None:
        doc = pipecat_doc(flow_snapshot([
            {"id": "hi", "type": "say", "content": "Hi {{ name }}!", "next": "bye"},
            {"id": "bye", "type": "end", "content": "Bye."},
        ]))  # fmt: skip
        hi, bye = doc["nodes"]["hi"], doc["nodes"]["bye"]
        assert hi["pre_actions"] == [{"type": "tts_say", "text": "Hi \\{{ name }}!"}]
        assert hi["respond_immediately"] is False
        assert [f["name"] for f in hi["functions"]] == ["go_to_bye"]
        assert bye["pre_actions"] == [{"type": "end_conversation", "text": "Bye."}]
        assert "functions" not in bye

    def test_end_without_a_line_lets_the_llm_say_goodbye_then_ends(self) -> None:
        doc = pipecat_doc(flow_snapshot([{"id": "bye", "type": "end"}]))
        assert doc["nodes"]["bye"]["respond_immediately"] is True
        assert doc["nodes"]["bye"]["post_actions"] == [{"type": "end_conversation"}]

    def test_global_end_and_transfer_get_a_step_of_their_own(self) -> None:
        doc = pipecat_doc(flow_snapshot(
            [{"id": "end_conversation", "type": "end"}],
            global_functions=[{"name": "end_conversation", "description": "Ends it"},
                              {"name": "transfer_call"}, {"name": "repeat_question"}],
        ))  # fmt: skip
        assert set(doc["nodes"]) == {"end_conversation", "end_conversation_2", "transfer_call"}
        assert doc["global_functions"] == [
            {"name": "end_conversation", "transition_only": True, "description": "Ends it",
             "transition_to": "end_conversation_2"},
            {"name": "transfer_call", "transition_only": True, "description": "transfer_call",
             "transition_to": "transfer_call"},
            {"name": "repeat_question"},  # the bot's own function
        ]  # fmt: skip
        assert doc["nodes"]["transfer_call"]["pre_actions"] == [
            {"type": "transfer_call", "destination": None}
        ]

    def test_an_action_node_without_its_tool_is_its_task_and_transition(self) -> None:
        doc = pipecat_doc(flow_snapshot([
            {"id": "act", "type": "action", "action_id": "book", "next": "bye"},
            {"id": "bye", "type": "end"},
        ]))  # fmt: skip
        node = doc["nodes"]["act"]
        assert "'book'" in node["task_messages"][0]["content"]
        assert [(f["name"], f["transition_to"]) for f in node["functions"]] == [
            ("go_to_bye", "bye")
        ]

    def test_an_action_tool_plugs_into_its_node(self) -> None:
        snap = flow_snapshot([
            {"id": "act", "type": "action", "action_id": "book", "next": "bye"},
            {"id": "bye", "type": "end"},
        ])  # fmt: skip
        snap["actions"] = [action("book", "Book meeting", "Books a meeting."),
                           action("faq", "Look up", "Looks something up.")]  # fmt: skip
        compiled = compile_snapshot(snap)
        doc = json.loads(compiled.render(Format.PIPECAT_FLOWS))
        assert doc["nodes"]["act"]["functions"] == [
            {"name": "book_meeting", "transition_to": "bye"}
        ]
        # The action no node offers is everywhere: a global function of the bot's.
        assert doc["global_functions"] == [{"name": "look_up"}]
        node = json.loads(compiled.render(Format.OPENAI_MESSAGES))["nodes"]["act"]
        assert [t["function"]["name"] for t in node["tools"]] == ["book_meeting", "look_up"]
        assert node["tools"][0]["function"]["parameters"] == {
            "type": "object",
            "properties": {"day": {"type": "string", "description": "The day"}},
            "required": ["day"],
        }
        assert node["transitions"] == {"book_meeting": "bye"}
        # Found by the action's node_id too.
        snap["flow"]["flow_config"]["nodes"][0]["action_id"] = "node-book"
        by_node_id = json.loads(compile_snapshot(snap).render(Format.PIPECAT_FLOWS))
        assert by_node_id["nodes"]["act"]["functions"] == doc["nodes"]["act"]["functions"]
        snap["actions"][0]["description"] = "Books a call."
        assert compile_snapshot(snap).config_hash != compiled.config_hash

    def test_node_trainings_are_in_their_node_role_only(self) -> None:
        snap = flow_snapshot(
            [{"id": "a", "type": "ask", "content": "Q?", "next": "b"}, {"id": "b", "type": "end"}],
            [training(1), training(2, node_id="b"), training(3, node_id="elsewhere")],
        )
        doc = pipecat_doc(snap)
        a, b = doc["nodes"]["a"]["role_message"], doc["nodes"]["b"]["role_message"]
        assert "Subject 1" in a and "Subject 3" in a and "Subject 2" not in a
        assert "Subject 1" in b and "Subject 3" in b and "Subject 2" in b

    def test_a_node_without_any_prompt_still_sets_a_role(self) -> None:
        snap = flow_snapshot([{"id": "a", "type": "end"}])
        snap["agent"]["description"] = ""
        doc = pipecat_doc(snap)
        assert doc["nodes"]["a"]["role_message"]

    def test_an_llm_driven_snapshot_ignores_a_stored_flow_config(self) -> None:
        snap = flow_snapshot([{"id": "a", "type": "end"}], [training(1, node_id="a")])
        snap["flow"]["conversation_mode"] = "llm_driven"
        compiled = compile_snapshot(snap)
        assert compiled.flow_driven is False and "Subject 1" in compiled.system_prompt
