"""Agent configuration as code, beside the trainings: `knowledge.yaml`, `voice.yaml` and
`actions.yaml` at the root of the synced folder, each optional.

    # knowledge.yaml: the fields of PUT .../knowledge (left out: kept as the server has them)
    description: You answer support calls for Acme.
    initial_message: Hello! How can I help?

    # voice.yaml: the fields of PUT .../voice
    voice_id: 83bd1903-4130-5e71-bf17-a30e459c93b5
    conversation_speed: 1.2

    # actions.yaml: a list of actions, upserted by node_id like trainings
    - node_id: book
      name: Book Meeting
      description: Books a meeting.
      type: webhook
      url: https://hooks.example.com/book

The same rules as trainings: fields a file leaves out are neither sent nor compared; an
unchanged file sends nothing; `--prune` deletes the server's actions whose node_id the actions
file lacks (without an actions file, actions are not managed). Secrets never go in files:
`authorization_token` and `custom_headers` are refused here, set them with
`cuecard actions upsert`; a sync keeps what the server stores.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cuecard.cli.sync import Action, InvalidFiles, Problem
from cuecard.client import Action as RemoteAction
from cuecard.client import Agent, AsyncClient, CuecardError, NotFoundError

KNOWLEDGE_FILE = "knowledge.yaml"
VOICE_FILE = "voice.yaml"
ACTIONS_FILE = "actions.yaml"
KNOWLEDGE_KEYS = (
    "description",
    "initial_message",
    "interrupt_sensitivity",
    "ask_if_human_present_on_idle",
    "llm_temperature",
    "initial_message_delay",
)
VOICE_KEYS = (
    "voice_id",
    "conversation_speed",
    "who_speaks_first",
    "ambient_background",
    "ambient_volume",
    "language",
    "similarity",
    "stability",
)
ACTION_KEYS = (
    "node_id",
    "name",
    "description",
    "type",
    "inputs",
    "integration",
    "url",
    "authorization_url",
    "authorization_scheme",
    "authorization_header",
    "speak_on_send",
    "speak_on_receive",
    "execution_mode",
    "hold_duration",
    "transfer_to",
    "current_status",
)
SECRET_KEYS = ("authorization_token", "custom_headers")


@dataclass(frozen=True)
class ConfigFiles:
    knowledge: dict[str, Any] | None = None
    voice: dict[str, Any] | None = None
    actions: list[dict[str, Any]] | None = None

    @property
    def empty(self) -> bool:
        return self.knowledge is None and self.voice is None and self.actions is None


@dataclass(frozen=True)
class ConfigStep:
    kind: str  # knowledge | voice | action
    action: Action
    node_id: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    action_id: str | None = None
    changed: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{ACTIONS_FILE}: {self.node_id}" if self.kind == "action" else f"{self.kind}.yaml"


def _load(root: Path, name: str, problems: list[Problem]) -> Any:
    path = root / name
    if not path.is_file():
        return None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(name, 1, f"cannot be read: {exc}"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problems.append(Problem(name, line, f"is not valid YAML: {getattr(exc, 'problem', exc)}"))
    return None


def _mapping(value: Any, name: str, keys: tuple[str, ...], problems: list[Problem],
             where: str = "") -> dict[str, Any] | None:  # fmt: skip
    if not isinstance(value, dict):
        problems.append(Problem(name, 1, f"{where}must be `key: value` lines"))
        return None
    for key in value:
        if key in SECRET_KEYS:
            problems.append(
                Problem(
                    name,
                    1,
                    f"{where}`{key}` is a secret and does not belong in "
                    "a file; set it with `cuecard actions upsert`",
                )
            )
        elif key not in keys:
            problems.append(
                Problem(name, 1, f"{where}unknown key `{key}`; expected one of: {', '.join(keys)}")
            )
    return {k: v for k, v in value.items() if k in keys}


def read_config(root: Path) -> ConfigFiles:
    """The configuration files of the folder; raises InvalidFiles listing every problem."""
    problems: list[Problem] = []
    knowledge = _load(root, KNOWLEDGE_FILE, problems)
    voice = _load(root, VOICE_FILE, problems)
    actions = _load(root, ACTIONS_FILE, problems)
    found: dict[str, Any] = {}
    if knowledge is not None:
        found["knowledge"] = _mapping(knowledge, KNOWLEDGE_FILE, KNOWLEDGE_KEYS, problems)
    if voice is not None:
        found["voice"] = _mapping(voice, VOICE_FILE, VOICE_KEYS, problems)
    if actions is not None:
        if not isinstance(actions, list):
            problems.append(
                Problem(ACTIONS_FILE, 1, "must be a list of actions (`- node_id: ...`)")
            )
        else:
            items: list[dict[str, Any]] = []
            seen: set[str] = set()
            for index, item in enumerate(actions):
                where = f"action {index + 1}: "
                parsed = _mapping(item, ACTIONS_FILE, ACTION_KEYS, problems, where)
                if parsed is None:
                    continue
                node_id = parsed.get("node_id")
                if not isinstance(node_id, str) or not node_id.strip():
                    problems.append(Problem(ACTIONS_FILE, 1, f"{where}needs a `node_id`"))
                    continue
                if node_id in seen:
                    problems.append(
                        Problem(ACTIONS_FILE, 1, f"{where}node_id {node_id!r} is repeated")
                    )
                seen.add(node_id)
                for required in ("name", "description", "type"):
                    if not parsed.get(required):
                        problems.append(Problem(ACTIONS_FILE, 1, f"{where}needs `{required}`"))
                items.append(parsed)
            found["actions"] = items
    if problems:
        raise InvalidFiles(problems)
    return ConfigFiles(**found)


# The plan


def _input(item: Any) -> Any:
    """An input as the server returns it (defaults filled in), to compare with a file's."""
    if not isinstance(item, dict):
        return item
    full = {"type": "string", "required": False, **item}
    return {k: v for k, v in full.items() if v is not None}


def _voice_now(agent: Agent) -> dict[str, Any]:
    voice = agent.voice or {}
    return {
        "voice_id": (voice.get("template") or {}).get("id"),
        "conversation_speed": agent.conversation_speed,
        "who_speaks_first": agent.who_speaks_first,
        "ambient_background": voice.get("ambient_background"),
        "ambient_volume": voice.get("ambient_volume"),
        "language": agent.language,
        "similarity": voice.get("similarity_boost"),
        "stability": voice.get("stability"),
    }


def _action_now(action: RemoteAction) -> dict[str, Any]:
    now = action.model_dump()
    now["inputs"] = [_input(i) for i in action.input_schema]
    return now


def plan_config(files: ConfigFiles, agent: Agent, remote: list[RemoteAction], *, prune: bool
                ) -> list[ConfigStep]:  # fmt: skip
    steps: list[ConfigStep] = []
    if files.knowledge is not None:
        current = agent.model_dump()
        changed = tuple(k for k, v in files.knowledge.items() if current.get(k) != v)
        # PUT wants every required field: the file's values over what the server has.
        body = {k: current.get(k) for k in KNOWLEDGE_KEYS} | files.knowledge
        steps.append(
            ConfigStep(
                "knowledge",
                Action.UPDATE if changed else Action.UNCHANGED,
                body=body,
                changed=changed,
            )
        )
    if files.voice is not None:
        current = _voice_now(agent)
        changed = tuple(k for k, v in files.voice.items() if current.get(k) != v)
        body = {k: current.get(k) for k in ("conversation_speed", "who_speaks_first")}
        body |= files.voice
        steps.append(
            ConfigStep(
                "voice", Action.UPDATE if changed else Action.UNCHANGED, body=body, changed=changed
            )
        )
    if files.actions is not None:
        by_node = {a.node_id: a for a in remote if a.node_id}
        for item in files.actions:
            node_id = str(item["node_id"])
            existing = by_node.get(node_id)
            if existing is None:
                steps.append(ConfigStep("action", Action.CREATE, node_id, body=item))
                continue
            now = _action_now(existing)
            wanted = (
                {**item, "inputs": [_input(i) for i in item["inputs"]]}
                if "inputs" in item
                else item
            )
            changed = tuple(k for k, v in wanted.items() if now.get(k) != v)
            steps.append(
                ConfigStep(
                    "action",
                    Action.UPDATE if changed else Action.UNCHANGED,
                    node_id,
                    body=item,
                    action_id=existing.id,
                    changed=changed,
                )
            )
        if prune:
            local = {str(i["node_id"]) for i in files.actions}
            for action in sorted(remote, key=lambda a: a.node_id or ""):
                if action.node_id and action.node_id not in local:
                    steps.append(
                        ConfigStep("action", Action.DELETE, action.node_id, action_id=action.id)
                    )
    return steps


async def apply_config(client: AsyncClient, agent_id: str, steps: list[ConfigStep]
                       ) -> tuple[list[ConfigStep], list[tuple[ConfigStep, str]]]:  # fmt: skip
    """Knowledge and voice first, then the actions; one failure does not stop the others."""
    done: list[ConfigStep] = []
    failed: list[tuple[ConfigStep, str]] = []
    for step in steps:
        if step.action is Action.UNCHANGED:
            continue
        try:
            if step.kind == "knowledge":
                await client.agent_config.update_knowledge(agent_id, **step.body)
            elif step.kind == "voice":
                await client.agent_config.update_voice(agent_id, **step.body)
            elif step.action is Action.DELETE:
                assert step.action_id is not None
                with contextlib.suppress(NotFoundError):  # already gone is what we wanted
                    await client.actions.delete(agent_id, step.action_id)
            else:
                await client.actions.upsert(agent_id, **step.body)
        except CuecardError as exc:
            failed.append((step, str(exc)))
        else:
            done.append(step)
    return done, failed


# Export: the reverse


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=1000)


def render_config(agent: Agent, actions: list[RemoteAction]) -> list[tuple[str, str]]:
    """The configuration files that sync back to exactly this agent (never a secret)."""
    files: list[tuple[str, str]] = []
    if agent.description:
        current = agent.model_dump()
        knowledge = {k: current[k] for k in KNOWLEDGE_KEYS if current.get(k) is not None}
        files.append((KNOWLEDGE_FILE, _yaml(knowledge)))
    if agent.voice:
        voice = {k: v for k, v in _voice_now(agent).items() if v is not None}
        files.append((VOICE_FILE, _yaml(voice)))
    items = []
    for action in actions:
        if not action.node_id:
            continue
        now = action.model_dump()
        item = {k: now[k] for k in ("node_id", "name", "description", "type")}
        if action.input_schema:
            item["inputs"] = action.input_schema
        for key in ACTION_KEYS[5:]:
            value = now.get(key)
            default = {"authorization_scheme": "none", "execution_mode": "during_call",
                       "current_status": "active"}.get(key)  # fmt: skip
            if value is not None and value != default:
                item[key] = value
        items.append(item)
    if items:
        files.append((ACTIONS_FILE, _yaml(items)))
    return files
