"""Agent tests as YAML files beside the trainings (`trainings/tests/*.yaml`).

One file holds one test, or several under `tests:`. A test is a conversation and expectations:

    name: refund paraphrase          # default: the file's path below tests/, without .yaml
    node_id: null                    # the flow node the call is in, if any
    conversation:
      - user: I want my money back   # or {role: user, content: ...}
    expect:
      reach: [billing/refunds]       # training ids or node_ids that must reach the model
      not_reach: [hours]
      reply:                         # checked only when the server has an LLM
        mentions: ["5 business days"]
        not_mentions: ["voucher"]
        criterion: Explains when the money arrives

The same dicts go to `POST .../test-runs` as `tests`, and to `PUT .../tests/{name}`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cuecard.agent_tests.schemas import AgentTestDefinition

TESTS_FOLDER = "tests"


class InvalidTestFiles(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def folder_of_tests(root: Path) -> Path:
    """`DIR/tests` when it exists (a trainings folder), else DIR itself (a folder of tests)."""
    nested = root / TESTS_FOLDER
    return nested if nested.is_dir() else root


def _turn(raw: Any) -> Any:
    if isinstance(raw, dict) and len(raw) == 1:
        ((role, content),) = raw.items()
        if role in ("user", "assistant"):
            return {"role": role, "content": content}
    return raw


def _definition(raw: Any, default_name: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("a test must be a mapping with conversation and expect")
    test = {"name": default_name, **raw}
    test["conversation"] = [_turn(t) for t in raw.get("conversation") or []]
    return test


def read_tests(folder: Path) -> list[dict[str, Any]]:
    """Every test under `folder` as the API's dicts, checked; raises with every problem."""
    problems: list[str] = []
    tests: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    paths = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix in (".yaml", ".yml")
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    for path in paths:
        relative = path.relative_to(folder).as_posix()
        stem = relative.rsplit(".", 1)[0]
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append(f"{relative}: cannot be read as YAML: {exc}")
            continue
        many = isinstance(document, dict) and isinstance(document.get("tests"), list)
        raws = document["tests"] if many else [document]
        for index, raw in enumerate(raws, start=1):
            where = f"{relative} (test {index})" if many else relative
            try:
                test = _definition(raw, f"{stem}#{index}" if many else stem)
                checked = AgentTestDefinition.model_validate(test)
            except (ValueError, ValidationError) as exc:
                problems.append(f"{where}: {_message(exc)}")
                continue
            if checked.name in names:
                problems.append(
                    f"{where}: the name {checked.name!r} is already used by {names[checked.name]}"
                )
                continue
            names[checked.name] = where
            tests.append(checked.model_dump(mode="json"))
    if problems:
        raise InvalidTestFiles(problems)
    return tests


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'test'}: {e['msg']}" for e in exc.errors()
        )
    return str(exc)
