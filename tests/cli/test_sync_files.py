"""Reading training files, planning a sync and rendering an export (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cuecard.cli.sync import (
    Action,
    InvalidFiles,
    TrainingFile,
    make_plan,
    parse_training,
    read_folder,
    render,
)
from cuecard.client import Training


def parse(text: str, path: str = "billing/refunds.md") -> TrainingFile:
    return parse_training(text.encode(), path)


def problems(text: str | bytes, path: str = "t.md") -> list[str]:
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises(InvalidFiles) as caught:
        parse_training(raw, path)
    return [str(p) for p in caught.value.problems]


def training(**fields: Any) -> Training:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    values: dict[str, Any] = {
        "id": f"id-{fields.get('node_id')}",
        "subject": "S",
        "instructions": "I",
        "current_status": "active",
        "created_at": now,
        "updated_at": now,
        "node_id": None,
        **fields,
    }
    return Training.model_validate(values)


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


class TestParseTraining:
    def test_node_id_is_the_path_without_extension(self) -> None:
        parsed = parse("# Refunds\n\nRefund within 30 days.\n")

        assert parsed.node_id == "billing/refunds"
        assert parsed.subject == "Refunds"
        assert parsed.instructions == "Refund within 30 days."

    def test_front_matter_sets_node_id_and_optional_fields(self) -> None:
        parsed = parse(
            "---\nnode_id: refunds-v2\ncurrent_status: inactive\nposition: 5\npinned: true\n---\n"
            "# Refunds\nText\n"
        )

        assert (parsed.node_id, parsed.current_status, parsed.position, parsed.pinned) == (
            "refunds-v2",
            "inactive",
            5,
            True,
        )

    def test_fields_not_in_front_matter_are_left_unset(self) -> None:
        parsed = parse("# Refunds\nText\n")

        assert (parsed.current_status, parsed.position, parsed.pinned) == (None, None, None)
        assert set(k for k, v in parsed.upsert_fields().items() if v is not None) == {
            "node_id",
            "subject",
            "instructions",
        }

    def test_subject_from_front_matter_keeps_headings_in_the_instructions(self) -> None:
        parsed = parse("---\nsubject: Refund policy\n---\n# Steps\n\n1. Check the order.\n")

        assert parsed.subject == "Refund policy"
        assert parsed.instructions == "# Steps\n\n1. Check the order."

    def test_the_first_heading_is_the_subject_even_after_text(self) -> None:
        parsed = parse("Intro line.\n\n# Refunds\nMore.\n## Details\nX\n")

        assert parsed.subject == "Refunds"
        assert parsed.instructions == "Intro line.\n\nMore.\n## Details\nX"

    def test_a_heading_inside_a_code_fence_is_not_the_subject(self) -> None:
        parsed = parse("```\n# not a heading\n```\n# Real\nText\n")

        assert parsed.subject == "Real"
        assert parsed.instructions == "```\n# not a heading\n```\nText"

    def test_values_are_trimmed_like_the_server_stores_them(self) -> None:
        parsed = parse("\ufeff---\r\nsubject: '  Spaced  '\r\n---\r\n\r\n  Body line\r\n\r\n")

        assert parsed.subject == "Spaced"
        assert parsed.instructions == "Body line"

    def test_no_subject_is_reported_with_file_and_line(self) -> None:
        assert problems("Just text.\n") == [
            "t.md:1: has no subject: set `subject:` in the front matter or add a `# ` heading"
        ]

    def test_a_subject_over_255_characters_is_reported_at_its_line(self) -> None:
        long = "x" * 256
        assert problems(f"---\npinned: true\n---\n\n# {long}\nText\n") == [
            "t.md:5: subject is 256 characters; the limit is 255"
        ]
        assert problems(f"---\nsubject: {long}\n---\nText\n") == [
            "t.md:2: subject is 256 characters; the limit is 255"
        ]

    def test_a_subject_of_exactly_255_characters_is_fine(self) -> None:
        assert parse(f"# {'x' * 255}\nText\n").subject == "x" * 255

    def test_bytes_that_are_not_utf8_are_reported_at_their_line(self) -> None:
        assert problems(b"# Title\nfine\ncaf\xe9\n") == [
            "t.md:3: is not UTF-8 text; save it as UTF-8"
        ]

    def test_invalid_yaml_is_reported_at_its_line(self) -> None:
        [problem] = problems("---\nsubject: ok\nposition: [1, 2\n---\n# T\nx\n")
        assert problem.startswith("t.md:3: front matter is not valid YAML")

    def test_front_matter_problems_name_the_key_line(self) -> None:
        found = problems(
            "---\nsubjet: typo\ncurrent_status: on\nposition: high\npinned: maybe\n"
            "node_id: 12\n---\n# T\nx\n"
        )

        assert found == [
            "t.md:2: unknown front matter key `subjet`; expected one of: "
            "node_id, subject, current_status, position, pinned",
            "t.md:3: current_status must be active or inactive, not 'on'",
            "t.md:4: position must be a whole number, not 'high'",
            "t.md:5: pinned must be true or false, not 'maybe'",
            "t.md:6: node_id must be text; put it in quotes",
        ]

    def test_a_key_set_twice_is_reported(self) -> None:
        assert problems("---\nposition: 1\nposition: 2\n---\n# T\nx\n") == [
            "t.md:3: front matter sets `position` twice (first on line 2)"
        ]

    def test_unclosed_front_matter_is_reported(self) -> None:
        assert problems("---\nsubject: T\n# T\nx\n") == [
            "t.md:1: front matter opened with `---` is never closed with a `---` line"
        ]

    def test_front_matter_that_is_not_a_mapping_is_reported(self) -> None:
        assert problems("---\n- a\n- b\n---\n# T\nx\n") == [
            "t.md:2: front matter must be `key: value` lines"
        ]

    def test_a_subject_without_instructions_is_reported(self) -> None:
        assert problems("# Only a title\n\n") == [
            "t.md:1: has no instructions: write them below the subject"
        ]

    def test_a_path_giving_a_node_id_over_255_characters_is_reported(self) -> None:
        path = "a" * 256 + ".md"
        assert problems("# T\nx\n", path) == [
            f"{path}:1: its path gives a node_id of 256 characters (limit 255); "
            "shorten the path or set `node_id:` in front matter"
        ]


class TestReadFolder:
    def test_reads_every_markdown_file_recursively_in_order(self, tmp_path: Path) -> None:
        write(
            tmp_path,
            {
                "b.md": "# B\nb",
                "a/z.md": "# Z\nz",
                "a/y.md": "# Y\ny",
                "notes.txt": "not a training",
                ".hidden/x.md": "# X\nx",
                "a/.draft.md": "# D\nd",
            },
        )

        assert [f.node_id for f in read_folder(tmp_path)] == ["a/y", "a/z", "b"]

    def test_two_files_with_one_node_id_are_a_collision(self, tmp_path: Path) -> None:
        write(tmp_path, {"faq.md": "# FAQ\nx", "old/faq.md": "---\nnode_id: faq\n---\n# Old\ny"})

        with pytest.raises(InvalidFiles) as caught:
            read_folder(tmp_path)

        assert [str(p) for p in caught.value.problems] == [
            "old/faq.md:2: node_id 'faq' is already the node_id of faq.md (line 1); "
            "each file needs its own"
        ]

    def test_every_problem_of_every_file_is_reported_at_once(self, tmp_path: Path) -> None:
        write(tmp_path, {"a.md": "no subject", "b.md": "# Fine\nx", "c.md": b"# C\n\xff"})

        with pytest.raises(InvalidFiles) as caught:
            read_folder(tmp_path)

        assert [(p.path, p.line) for p in caught.value.problems] == [("a.md", 1), ("c.md", 2)]


class TestMakePlan:
    def file(self, node_id: str, **fields: Any) -> TrainingFile:
        values = {"subject": "S", "instructions": "I", **fields}
        return TrainingFile(path=f"{node_id}.md", node_id=node_id, **values)

    def test_creates_updates_and_unchanged(self) -> None:
        remote = [
            training(node_id="same"),
            training(node_id="edited", instructions="old"),
        ]
        files = [
            self.file("new"),
            self.file("same"),
            self.file("edited", instructions="new", subject="S2"),
        ]

        plan = make_plan(files, remote, prune=False)

        assert [(s.action, s.node_id, s.changed) for s in plan.steps] == [
            (Action.CREATE, "new", ()),
            (Action.UNCHANGED, "same", ()),
            (Action.UPDATE, "edited", ("subject", "instructions")),
        ]
        assert plan.steps[2].training_id == "id-edited"

    def test_optional_fields_are_compared_only_when_a_file_sets_them(self) -> None:
        remote = [training(node_id="a", current_status="inactive", position=4, pinned=True)]

        silent = make_plan([self.file("a")], remote, prune=False)
        explicit = make_plan(
            [self.file("a", current_status="active", position=1, pinned=False)], remote, prune=False
        )

        assert silent.steps[0].action is Action.UNCHANGED
        assert explicit.steps[0].changed == ("current_status", "position", "pinned")

    def test_prune_deletes_node_ids_no_file_has(self) -> None:
        remote = [training(node_id="gone"), training(node_id="kept"), training(id="manual")]

        plan = make_plan([self.file("kept")], remote, prune=True)

        assert [(s.action, s.node_id, s.training_id) for s in plan.writes] == [
            (Action.DELETE, "gone", "id-gone")
        ]
        assert plan.untouched == 1

    def test_without_prune_orphans_are_only_counted(self) -> None:
        remote = [training(node_id="gone"), training(id="manual")]

        plan = make_plan([], remote, prune=False)

        assert plan.writes == []
        assert (plan.kept, plan.untouched) == (1, 1)

    def test_trainings_without_node_id_are_never_touched(self) -> None:
        remote = [training(id="manual", subject="S", instructions="I")]

        plan = make_plan([self.file("s")], remote, prune=True)

        assert [(s.action, s.node_id) for s in plan.steps] == [(Action.CREATE, "s")]


class TestRender:
    @pytest.mark.parametrize(
        "fields",
        [
            {"node_id": "billing/refunds", "subject": "Refunds", "instructions": "Be kind."},
            {
                "node_id": "faq",
                "subject": "FAQ",
                "instructions": "# Section\n\n```\n# code\n```\nText",
                "current_status": "inactive",
                "position": -3,
                "pinned": True,
            },
            {"node_id": "multi", "subject": "Line one\nline two", "instructions": "x"},
            {"node_id": "yaml-ish", "subject": "yes", "instructions": "---\nnot: front matter"},
            {"node_id": "../escape", "subject": "Up", "instructions": "x"},
            {"node_id": "a//b", "subject": "Empty segment", "instructions": "x"},
            {"node_id": ".hidden", "subject": "Hidden", "instructions": "x"},
            {"node_id": "what?", "subject": "Q", "instructions": "x"},
            {"node_id": "café/menü", "subject": "Ünïcödé", "instructions": "Grüße"},
        ],
    )
    def test_a_rendered_file_parses_back_to_the_same_training(self, fields: dict[str, Any]) -> None:
        original = training(**fields)

        path, text = render(original)
        parsed = parse_training(text.encode(), path)

        assert not path.startswith((".", "/")) and ".." not in path.split("/")
        assert parsed.node_id == original.node_id
        assert make_plan([parsed], [original], prune=True).writes == []

    def test_a_safe_node_id_is_the_path_and_not_repeated(self) -> None:
        path, text = render(training(node_id="billing/refunds", subject="Refunds"))

        assert path == "billing/refunds.md"
        assert text == "# Refunds\n\nI\n"
