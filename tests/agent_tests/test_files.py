"""Test files (trainings/tests/*.yaml): shorthand turns, names, several tests in one file, and
every problem reported with its file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cuecard.agent_tests.files import InvalidTestFiles, folder_of_tests, read_tests


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


class TestReadTests:
    def test_names_come_from_paths_and_turns_may_be_shorthand(self, tmp_path: Path) -> None:
        folder = write(
            tmp_path,
            {
                "tests/billing/refund.yaml": "conversation:\n  - user: hi\n  - assistant: hello\n"
                "  - {role: user, content: money back}\nexpect:\n  reach: [billing/refunds]\n",
                "tests/many.yml": "tests:\n  - conversation: [{user: a}]\n"
                "  - name: named\n    conversation: [{user: b}]\n",
                "tests/.hidden.yaml": "not: [a test",
                "refunds.md": "# Refunds\n\nNot a test.\n",
            },
        )
        tests = read_tests(folder_of_tests(folder))
        assert [t["name"] for t in tests] == ["billing/refund", "many#1", "named"]
        assert tests[0]["conversation"] == [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "money back"},
        ]
        assert tests[0]["expect"]["reach"] == ["billing/refunds"]
        assert folder_of_tests(folder / "tests") == folder / "tests"  # a folder of tests itself

    def test_every_problem_is_reported_with_its_file(self, tmp_path: Path) -> None:
        folder = write(
            tmp_path,
            {
                "a.yaml": "conversation: [{user: hi}]\nname: same\n",
                "b.yaml": "conversation: [{user: hi}]\nname: same\n",
                "c.yaml": "conversation: [{assistant: hi}]\n",
                "d.yaml": "conversation: [: broken\n",
                "e.yaml": "- just a list\n",
            },
        )
        with pytest.raises(InvalidTestFiles) as caught:
            read_tests(folder)
        problems = caught.value.problems
        assert len(problems) == 4
        assert problems[0].startswith("b.yaml: the name 'same' is already used by a.yaml")
        assert problems[1].startswith("c.yaml: conversation") and "user turn" in problems[1]
        assert problems[2].startswith("d.yaml: cannot be read as YAML")
        assert problems[3].startswith("e.yaml: ")
