"""Trainings as code: a folder of Markdown files, one training each, kept equal to an agent's
trainings.

A file is optional YAML front matter between `---` lines, then Markdown:

    ---
    current_status: inactive   # optional: active | inactive
    position: 10               # optional ordering
    pinned: true               # optional: always inline
    ---
    # Refunds                  <- the subject, unless front matter sets `subject:`

    Everything else is the instructions.

The node_id is the path without `.md` (`billing/refunds.md` -> `billing/refunds`) unless front
matter sets `node_id:`. Cuecard upserts by node_id, so no map from files to server ids is kept:
the server's node_ids are the map. Fields the front matter leaves out are neither sent nor
compared, so the server keeps its values (an upsert never re-activates a disabled training).

Values are compared the way the server stores them (trimmed, LF line endings), so a file that
says what the server already has plans as unchanged and the sync sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from cuecard.client import (
    AsyncClient,
    AuthenticationError,
    CuecardError,
    NotFoundError,
    PermissionDeniedError,
    Training,
)

MAX_SUBJECT = 255
MAX_NODE_ID = 255
MAX_POSITION = 1_000_000
STATUSES = ("active", "inactive")
KEYS = ("node_id", "subject", "current_status", "position", "pinned")
# Characters that cannot appear in a portable file name (Windows is the strictest).
_UNSAFE = re.compile(r'[\\<>:"|?*\x00-\x1f\x7f]')


@dataclass(frozen=True)
class Problem:
    """Why one file cannot be synced, and where."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class InvalidFiles(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


@dataclass(frozen=True)
class TrainingFile:
    path: str  # relative to the synced folder, with `/`
    node_id: str
    subject: str
    instructions: str
    current_status: str | None = None
    position: int | None = None
    pinned: bool | None = None
    node_id_line: int = 1

    def upsert_fields(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "subject": self.subject,
            "instructions": self.instructions,
            "current_status": self.current_status,
            "position": self.position,
            "pinned": self.pinned,
        }

    def changes_from(self, training: Training) -> tuple[str, ...]:
        """The fields this file would change on the server."""
        changed = []
        if self.subject != training.subject:
            changed.append("subject")
        if self.instructions != training.instructions:
            changed.append("instructions")
        if self.current_status is not None and self.current_status != training.current_status:
            changed.append("current_status")
        if self.position is not None and self.position != training.position:
            changed.append("position")
        if self.pinned is not None and self.pinned != training.pinned:
            changed.append("pinned")
        return tuple(changed)


# Reading files


def node_id_for(relative: PurePosixPath) -> str:
    return str(relative.with_suffix("")).strip()


def parse_training(raw: bytes, path: str) -> TrainingFile:
    """One file to one training; raises InvalidFiles listing every problem in it."""
    problems: list[Problem] = []

    def problem(line: int, message: str) -> None:
        problems.append(Problem(path, line, message))

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidFiles([Problem(path, line, "is not UTF-8 text; save it as UTF-8")]) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InvalidFiles([Problem(path, line, "contains a NUL byte; is it a text file?")])
    lines = text.split("\n")

    meta, keys, body_start = _front_matter(lines, problem)
    if problems:  # without readable front matter nothing below can be judged
        raise InvalidFiles(problems)
    values = _check_meta(meta, keys, problem)
    key_lines = {key: line for key, (line, _) in keys.items()}

    body = lines[body_start:]
    subject = values.get("subject")
    if "subject" not in key_lines:  # else it was given, and reported if invalid
        found = _heading(body)
        if found is None:
            problem(1, "has no subject: set `subject:` in the front matter or add a `# ` heading")
        else:
            index, subject = found
            if len(subject) > MAX_SUBJECT:
                problem(
                    body_start + index + 1,
                    f"subject is {len(subject)} characters; the limit is {MAX_SUBJECT}",
                )
            body = body[:index] + body[index + 1 :]
    instructions = "\n".join(body).strip()
    if not instructions and subject is not None:
        problem(body_start + 1, "has no instructions: write them below the subject")

    node_id = values.get("node_id") or node_id_for(PurePosixPath(path))
    if "node_id" not in key_lines:  # else it was given, and reported if invalid
        if not node_id:
            problem(1, "its file name gives an empty node_id; set `node_id:` in front matter")
        elif len(node_id) > MAX_NODE_ID:
            problem(
                1,
                f"its path gives a node_id of {len(node_id)} characters (limit {MAX_NODE_ID}); "
                "shorten the path or set `node_id:` in front matter",
            )
    if problems:
        raise InvalidFiles(problems)
    assert subject is not None
    return TrainingFile(
        path=path,
        node_id=node_id,
        subject=subject,
        instructions=instructions,
        current_status=values.get("current_status"),
        position=values.get("position"),
        pinned=values.get("pinned"),
        node_id_line=key_lines.get("node_id", 1),
    )


def _front_matter(
    lines: list[str], problem: Callable[[int, str], None]
) -> tuple[dict[Any, Any], dict[str, tuple[int, str]], int]:
    """The front matter mapping, each key's file line and value as written, and where the body
    starts."""
    if not lines or lines[0].rstrip() != "---":
        return {}, {}, 0
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        problem(1, "front matter opened with `---` is never closed with a `---` line")
        return {}, {}, len(lines)
    source = "\n".join(lines[1:end])
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        meta = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        problem(line, f"front matter is not valid YAML: {reason}")
        return {}, {}, end + 1
    if meta is None:
        return {}, {}, end + 1
    if not isinstance(node, yaml.MappingNode) or not isinstance(meta, dict):
        problem(2, "front matter must be `key: value` lines")
        return {}, {}, end + 1
    keys: dict[str, tuple[int, str]] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        line = key_node.start_mark.line + 2
        if key in keys:
            problem(line, f"front matter sets `{key}` twice (first on line {keys[key][0]})")
        # As written: YAML reads `on` or `yes` as true, and the message should show `on`.
        written = value_node.value if isinstance(value_node, yaml.ScalarNode) else "a list"
        keys.setdefault(key, (line, str(written)))
    return meta, keys, end + 1


def _check_meta(
    meta: dict[Any, Any], keys: dict[str, tuple[int, str]], problem: Callable[[int, str], None]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in meta.items():
        line, written = keys.get(str(key), (1, str(value)))
        if key not in KEYS:
            problem(line, f"unknown front matter key `{key}`; expected one of: {', '.join(KEYS)}")
        elif key in ("node_id", "subject"):
            if not isinstance(value, str):
                problem(line, f"{key} must be text; put it in quotes")
                continue
            value = value.strip()
            if not value:
                problem(line, f"{key} is empty")
            elif len(value) > MAX_SUBJECT:  # the node_id limit is the same
                problem(line, f"{key} is {len(value)} characters; the limit is {MAX_SUBJECT}")
            else:
                values[key] = value
        elif key == "current_status":
            if value not in STATUSES:
                problem(line, f"current_status must be active or inactive, not {written!r}")
            else:
                values[key] = value
        elif key == "position":
            if isinstance(value, bool) or not isinstance(value, int):
                problem(line, f"position must be a whole number, not {written!r}")
            elif abs(value) > MAX_POSITION:
                problem(line, f"position must be between -{MAX_POSITION} and {MAX_POSITION}")
            else:
                values[key] = value
        elif key == "pinned":
            if not isinstance(value, bool):
                problem(line, f"pinned must be true or false, not {written!r}")
            else:
                values[key] = value
    return values


def _heading(body: list[str]) -> tuple[int, str] | None:
    """The first `# ` heading outside code fences: its index in `body` and its text."""
    fence: str | None = None
    for index, line in enumerate(body):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            fence = None if fence == marker else (fence or marker)
            continue
        if fence is None and line.startswith("# ") and line[2:].strip():
            return index, line[2:].strip()
    return None


def markdown_files(root: Path) -> list[Path]:
    """Every `*.md` under root, sorted; hidden files and folders (`.git`...) are skipped."""
    return sorted(
        path
        for path in root.rglob("*.md")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def read_folder(root: Path) -> list[TrainingFile]:
    """Every training in the folder; raises InvalidFiles with every problem of every file."""
    problems: list[Problem] = []
    files: list[TrainingFile] = []
    owners: dict[str, TrainingFile] = {}
    for path in markdown_files(root):
        relative = path.relative_to(root).as_posix()
        try:
            parsed = parse_training(path.read_bytes(), relative)
        except OSError as exc:
            problems.append(Problem(relative, 1, f"cannot be read: {exc.strerror or exc}"))
            continue
        except InvalidFiles as exc:
            problems.extend(exc.problems)
            continue
        owner = owners.get(parsed.node_id)
        if owner is not None:
            problems.append(
                Problem(
                    relative,
                    parsed.node_id_line,
                    f"node_id {parsed.node_id!r} is already the node_id of {owner.path} "
                    f"(line {owner.node_id_line}); each file needs its own",
                )
            )
            continue
        owners[parsed.node_id] = parsed
        files.append(parsed)
    if problems:
        raise InvalidFiles(problems)
    return files


# The plan


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    DELETE = "delete"


@dataclass(frozen=True)
class Step:
    action: Action
    node_id: str
    file: TrainingFile | None = None  # None for a delete
    training_id: str | None = None  # None for a create
    changed: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.file.path if self.file is not None else self.node_id


@dataclass(frozen=True)
class Plan:
    steps: list[Step]
    kept: int = 0  # server trainings with a node_id no file has, kept without --prune
    untouched: int = 0  # server trainings without node_id: never synced

    def of(self, action: Action) -> list[Step]:
        return [step for step in self.steps if step.action is action]

    @property
    def writes(self) -> list[Step]:
        return [step for step in self.steps if step.action is not Action.UNCHANGED]


def make_plan(files: Iterable[TrainingFile], remote: Iterable[Training], *, prune: bool) -> Plan:
    files = list(files)
    remote = list(remote)
    by_node = {t.node_id: t for t in remote if t.node_id is not None}
    steps: list[Step] = []
    for file in files:
        existing = by_node.get(file.node_id)
        if existing is None:
            steps.append(Step(Action.CREATE, file.node_id, file))
            continue
        changed = file.changes_from(existing)
        action = Action.UPDATE if changed else Action.UNCHANGED
        steps.append(Step(action, file.node_id, file, existing.id, changed))
    local = {file.node_id for file in files}
    orphans = sorted(
        (t for t in remote if t.node_id is not None and t.node_id not in local),
        key=lambda t: t.node_id or "",
    )
    if prune:
        steps.extend(Step(Action.DELETE, t.node_id or "", training_id=t.id) for t in orphans)
    return Plan(
        steps,
        kept=0 if prune else len(orphans),
        untouched=sum(1 for t in remote if t.node_id is None),
    )


# Applying it


@dataclass
class Outcome:
    done: list[Step] = field(default_factory=list)
    failed: list[tuple[Step, str]] = field(default_factory=list)
    skipped: list[Step] = field(default_factory=list)
    stopped_by: str | None = None


async def apply(
    client: AsyncClient,
    agent_id: str,
    steps: list[Step],
    *,
    concurrency: int = 8,
    on_step: Callable[[Step], None] = lambda step: None,
) -> Outcome:
    """Send every write, at most `concurrency` at a time.

    One failure does not stop the others, except a refused token (401/403): every later request
    would be refused too, so the steps not yet started are skipped instead.
    """
    outcome = Outcome()
    gate = asyncio.Semaphore(concurrency)

    async def run(step: Step) -> None:
        async with gate:
            if outcome.stopped_by is not None:
                outcome.skipped.append(step)
                on_step(step)
                return
            try:
                await _write(client, agent_id, step)
            except (AuthenticationError, PermissionDeniedError) as exc:
                outcome.stopped_by = outcome.stopped_by or str(exc)
                outcome.failed.append((step, str(exc)))
            except CuecardError as exc:
                outcome.failed.append((step, str(exc)))
            else:
                outcome.done.append(step)
            on_step(step)

    await asyncio.gather(*(run(step) for step in steps))
    return outcome


async def _write(client: AsyncClient, agent_id: str, step: Step) -> None:
    if step.action is Action.DELETE:
        assert step.training_id is not None
        # Already gone is what we wanted.
        with contextlib.suppress(NotFoundError):
            await client.trainings.delete(agent_id, step.training_id)
        return
    assert step.file is not None
    await client.trainings.upsert(agent_id, **step.file.upsert_fields())


# Export: the reverse


def path_for(node_id: str) -> str | None:
    """The file a node_id maps to by the path rule, or None when it cannot be a portable path."""
    parts = node_id.split("/")
    for part in parts:
        if (
            not part
            or part.startswith(".")
            or part != part.strip()
            or part.endswith(".")
            or _UNSAFE.search(part)
        ):
            return None
    path = node_id + ".md"
    return path if node_id_for(PurePosixPath(path)) == node_id else None


def render(training: Training) -> tuple[str, str]:
    """The relative path and text of the file that syncs back to exactly this training."""
    assert training.node_id is not None
    meta: dict[str, Any] = {}
    path = path_for(training.node_id)
    if path is None:
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", training.node_id).strip("-")[:60] or "training"
        digest = hashlib.sha256(training.node_id.encode()).hexdigest()[:8]
        path = f"_{slug}-{digest}.md"
        meta["node_id"] = training.node_id
    subject = training.subject
    as_heading = subject == subject.strip() and bool(subject) and "\n" not in subject
    if not as_heading:
        meta["subject"] = subject
    if training.current_status != "active":
        meta["current_status"] = training.current_status
    if training.position is not None:
        meta["position"] = training.position
    if training.pinned:
        meta["pinned"] = True
    text = ""
    if meta:
        dumped = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
        text = f"---\n{dumped}---\n\n"
    if as_heading:
        text += f"# {subject}\n\n"
    return path, text + training.instructions + "\n"
