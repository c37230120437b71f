"""Version rules: publishing the draft as the next immutable version (and unpublishing),
listing them, restoring one into the draft (losing nothing), and diffing any two of draft,
published and N."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cuecard.agent_api.schemas import AgentStatus
from cuecard.agent_api.service import is_ready, load_agent, missing_to_publish
from cuecard.agents import repository as agents_repository
from cuecard.agents.repository import AgentRow
from cuecard.agents.service import AgentNotFound, still_there
from cuecard.audit import service as audit
from cuecard.auth.service import Caller
from cuecard.core.db import UnitOfWork, new_id, utcnow
from cuecard.core.errors import ValidationFailed
from cuecard.core.validation import INT_MAX
from cuecard.flows import repository as flows_repository
from cuecard.flows.schemas import ConversationMode
from cuecard.flows.service import save_flow
from cuecard.lint.check import publish_gates
from cuecard.runtime.cache import CompiledCache, version_key
from cuecard.runtime.compile import Compiled, canonical_json, compile_snapshot
from cuecard.runtime.service import VersionNotFound, resolve
from cuecard.snapshots import reader
from cuecard.snapshots import repository as snapshots_repository
from cuecard.snapshots.repository import VersionSummaryRow
from cuecard.snapshots.service import live_snapshot
from cuecard.trainings import repository as trainings_repository
from cuecard.trainings.repository import TrainingRow
from cuecard.versions.agent_config import (
    diff_actions,
    diff_numbers,
    restore_actions,
    restore_numbers,
)
from cuecard.versions.schemas import (
    Diff,
    DiffSide,
    FlowDiff,
    PublishedBy,
    PublishState,
    RestoreResult,
    SettingChange,
    TokenDelta,
    TrainingChange,
    TrainingRef,
    TrainingsDiff,
    Version,
    VersionListQuery,
    VersionSummary,
)
from cuecard.webhooks.outbox import emit

# What a restore puts back and a diff compares; timestamps are history, not content.
TRAINING_FIELDS = ("node_id", "subject", "instructions", "current_status", "position", "pinned")


def parse_version_number(value: str) -> int:
    """A version from the path: anything that is not a version number names no version."""
    # isascii: str.isdigit() also accepts superscripts and other scripts' digits.
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= INT_MAX:
        raise VersionNotFound()
    return int(value)


def _summary(agent: AgentRow, row: VersionSummaryRow) -> dict[str, Any]:
    token = row.published_by_token_id
    return {
        "version": row.version,
        "published_at": row.published_at,
        "published_by": PublishedBy(token_id=token, label=row.token_label) if token else None,
        "config_hash": row.config_hash,
        "is_latest": row.version == agent.published_version,
    }


async def list_versions(
    uow: UnitOfWork, agent: AgentRow, query: VersionListQuery
) -> tuple[list[VersionSummary], int]:
    rows, total = await snapshots_repository.page(
        uow, agent.id, limit=query.per_page, offset=(query.page - 1) * query.per_page
    )
    return [VersionSummary.model_validate(_summary(agent, row)) for row in rows], total


async def get_version(uow: UnitOfWork, agent: AgentRow, version: str) -> Version:
    row = await snapshots_repository.get(uow, agent.id, parse_version_number(version))
    if row is None:
        raise VersionNotFound()
    return Version.model_validate({**_summary(agent, row), "snapshot": reader.read(row.snapshot)})


def _differs(current: TrainingRow, wanted: dict[str, Any]) -> bool:
    return any(getattr(current, name) != wanted.get(name) for name in TRAINING_FIELDS)


async def restore_version(
    uow: UnitOfWork, caller: Caller, agent: AgentRow, version_path: str
) -> RestoreResult:
    """Make the draft equal to the version the path names. Publishes nothing; deletes nothing.

    Settings come back; each training of the version comes back by id (re-created with its
    original id if it was deleted since); trainings the version lacks are set inactive. A node_id
    is the upsert key, so a training the version lacks that now holds a node_id the version gives
    to its own training loses that node_id (it keeps everything else). The version's flow comes
    back as a new save of the flow when the current one differs (a version from before flows had
    none: llm_driven).
    """
    number = parse_version_number(version_path)
    frozen = await snapshots_repository.snapshot(uow, agent.id, number)
    if frozen is None:
        raise VersionNotFound()
    version = reader.read(frozen)
    now = utcnow()
    settings = {k: v for k, v in version["agent"].items() if k in agents_repository.SETTINGS}
    # The agent row first, as publish does: a concurrent training write waits for this restore.
    row = await agents_repository.update_settings_and_reset_draft(uow, agent.id, settings, now)
    if row is None:
        raise AgentNotFound()  # deleted since the request looked it up
    current = {t.id: t for t in await trainings_repository.for_agent(uow, agent.id)}
    wanted = {t["id"]: t for t in version["trainings"]}
    wanted_nodes = {t["node_id"] for t in wanted.values() if t["node_id"] is not None}

    deactivated, detached, leave = [], [], []
    for training_id, training in current.items():
        if training_id in wanted:
            continue
        frees_node = training.node_id in wanted_nodes
        if training.current_status != "inactive" or frees_node:
            deactivated.append(training_id)
            if frees_node:
                detached.append(training_id)
            leave.append(
                {
                    "id": training_id,
                    "agent_id": agent.id,
                    "current_status": "inactive",
                    "node_id": None if frees_node else training.node_id,
                    "now": now,
                }
            )
    # Trainings of the version whose node_id moves let go of it first, so two that swap node_ids
    # never collide on the (agent_id, node_id) key halfway through.
    moving = [
        {"id": training_id, "agent_id": agent.id}
        for training_id, training in wanted.items()
        if training_id in current
        and current[training_id].node_id is not None
        and current[training_id].node_id != training["node_id"]
    ]
    back = [
        {
            **{name: training.get(name) for name in TRAINING_FIELDS},
            "id": training_id,
            "agent_id": agent.id,
            "pinned": bool(training.get("pinned")),
            "created_at": datetime.fromisoformat(training["created_at"]),
            "now": now,
        }
        for training_id, training in wanted.items()
        if training_id not in current or _differs(current[training_id], training)
    ]
    if leave:
        await trainings_repository.set_training_state(uow, leave)
    if moving:
        await trainings_repository.clear_node_ids(uow, moving)
    if back:
        await trainings_repository.restore_trainings(uow, back)
    wanted_flow = _flow(version)
    current_flow = flows_repository.snapshot_of(await flows_repository.current(uow, agent.id))
    flow_restored = _flow_content(current_flow) != _flow_content(wanted_flow)
    if flow_restored:
        mode = ConversationMode(wanted_flow["conversation_mode"])
        await save_flow(uow, agent.id, mode, wanted_flow["flow_config"])
    restored_actions, deactivated_actions, deleted_actions = await restore_actions(
        uow, row, version
    )
    numbers, skipped_numbers = await restore_numbers(uow, row, version)
    await audit.record(
        uow,
        caller,
        "agent.restored",
        agent_id=agent.id,
        target_type="agent",
        target_id=agent.id,
        changes={"version": number},
    )
    return RestoreResult(
        restored_version=number,
        flow_restored=flow_restored,
        agent=await load_agent(uow, row),
        restored_action_ids=restored_actions,
        deactivated_action_ids=deactivated_actions,
        deleted_action_ids=deleted_actions,
        phone_number_ids=numbers,
        skipped_phone_number_ids=skipped_numbers,
        recreated_training_ids=[t["id"] for t in back if t["id"] not in current],
        updated_training_ids=[t["id"] for t in back if t["id"] in current],
        deactivated_training_ids=deactivated,
        detached_training_ids=detached,
    )


def _flow(frozen: Mapping[str, Any]) -> dict[str, Any]:
    flow: dict[str, Any] = frozen.get("flow") or flows_repository.snapshot_of(None)
    return flow


def _flow_content(flow: dict[str, Any]) -> tuple[str, Any]:
    return flow["conversation_mode"], flow["flow_config"]


def _flow_diff(old: dict[str, Any], new: dict[str, Any]) -> FlowDiff:
    def nodes(flow: dict[str, Any]) -> dict[str, Any]:
        config = flow["flow_config"] or {}
        return {str(n["id"]): n for n in config.get("nodes") or []}

    old_nodes, new_nodes = nodes(old), nodes(new)
    old_config, new_config = old["flow_config"] or {}, new["flow_config"] or {}
    return FlowDiff(
        changed=_flow_content(old) != _flow_content(new),
        conversation_mode=SettingChange(
            field="conversation_mode", from_=old["conversation_mode"], to=new["conversation_mode"]
        ),
        nodes_added=[n for n in new_nodes if n not in old_nodes],
        nodes_removed=[n for n in old_nodes if n not in new_nodes],
        nodes_changed=[n for n in new_nodes if n in old_nodes and old_nodes[n] != new_nodes[n]],
        initial_node_changed=old_config.get("initial_node_id") != new_config.get("initial_node_id"),
        global_functions_changed=old_config.get("global_functions")
        != new_config.get("global_functions"),
    )


def _ref(training: dict[str, Any]) -> TrainingRef:
    return TrainingRef(id=training["id"], node_id=training["node_id"], subject=training["subject"])


async def diff(
    uow: UnitOfWork, cache: CompiledCache, agent: AgentRow, source: str | int, target: str | int
) -> Diff:
    a = await resolve(uow, cache, agent, source)
    b = await resolve(uow, cache, agent, target)
    old_agent, new_agent = a.compiled.snapshot["agent"], b.compiled.snapshot["agent"]
    settings = [
        SettingChange(field=name, from_=old_agent.get(name), to=new_agent.get(name))
        for name in sorted(set(old_agent) | set(new_agent))
        if name != "id" and old_agent.get(name) != new_agent.get(name)
    ]
    old = {t["id"]: t for t in a.compiled.snapshot["trainings"]}
    new = {t["id"]: t for t in b.compiled.snapshot["trainings"]}
    changed = []
    for training_id, training in new.items():
        if training_id in old:
            fields = [f for f in TRAINING_FIELDS if old[training_id].get(f) != training.get(f)]
            if fields:
                changed.append(TrainingChange(**_ref(training).model_dump(), fields=fields))
    trainings = TrainingsDiff(
        added=[_ref(t) for tid, t in new.items() if tid not in old],
        removed=[_ref(t) for tid, t in old.items() if tid not in new],
        changed=changed,
    )
    flow = _flow_diff(_flow(dict(a.compiled.snapshot)), _flow(dict(b.compiled.snapshot)))
    actions = diff_actions(a.compiled.snapshot, b.compiled.snapshot)
    phone_numbers = diff_numbers(a.compiled.snapshot, b.compiled.snapshot)
    old_tokens, new_tokens = a.compiled.total_tokens, b.compiled.total_tokens
    return Diff(
        from_=DiffSide(version=a.version, config_hash=a.compiled.config_hash,
                       draft_revision=a.draft_revision),
        to=DiffSide(version=b.version, config_hash=b.compiled.config_hash,
                    draft_revision=b.draft_revision),
        has_changes=bool(
            settings or trainings.added or trainings.removed or changed or flow.changed
            or actions.added or actions.removed or actions.changed or phone_numbers.added
            or phone_numbers.removed
        ),
        settings=settings,
        trainings=trainings,
        flow=flow,
        actions=actions,
        phone_numbers=phone_numbers,
        tokens=TokenDelta(from_=old_tokens, to=new_tokens, delta=new_tokens - old_tokens),
    )  # fmt: skip


async def publish_agent(
    uow: UnitOfWork, cache: CompiledCache, caller: Caller, agent: AgentRow
) -> PublishState:
    """Freeze the draft as the next version. Publishing an unchanged published agent is a no-op.

    A flow save leaves a published agent published (Talkover), so a published agent whose flow
    changed since its version publishes again."""
    if agent.current_status == AgentStatus.PUBLISHED and not await _flow_changed(uow, agent):
        trainings = await trainings_repository.for_agent(uow, agent.id)
        return _publish_state(agent, trainings)
    now = utcnow()
    # Take the agent row first: a training write racing with us waits, and the trainings read
    # below are the ones the version really has.
    row = still_there(await agents_repository.set_published(uow, agent.id, now))
    version = row.published_version
    assert version is not None  # set_published has just numbered it
    trainings = await trainings_repository.for_agent(uow, row.id)
    missing = missing_to_publish(row, trainings)
    if missing:
        raise ValidationFailed(missing, message="The agent is not ready to publish.")
    # Off the event loop: compiling a big agent and writing its text take most of a second.
    compiled, frozen = await asyncio.to_thread(
        _compiled_and_text, await live_snapshot(uow, row, trainings)
    )
    await publish_gates(uow, row, compiled)
    await snapshots_repository.insert(
        uow,
        {
            "id": new_id(),
            "agent_id": row.id,
            "version": version,
            "snapshot": frozen,
            # The hash of the compiled config, so a version, its runtime-config ETag and a diff
            # name the same thing.
            "config_hash": (config_hash := compiled.config_hash),
            "published_at": now,
            "published_by_token_id": caller.token_id,
        },
    )
    # The runtime's next fetch of this version is served without compiling it again, but only
    # once the version exists for everyone else too.
    key = version_key(row.id, version)
    uow.after_commit(lambda: cache.put(key, compiled))
    published = {"version": version, "config_hash": config_hash}
    await audit.record(
        uow,
        caller,
        "agent.published",
        agent_id=row.id,
        target_type="agent",
        target_id=row.id,
        changes=published,
    )
    await emit(
        uow,
        row.id,
        "event_agent_published",
        {"agent": {"id": row.id, "name": row.name}, **published},
    )
    return _publish_state(row, trainings)


async def _flow_changed(uow: UnitOfWork, agent: AgentRow) -> bool:
    current = await flows_repository.current(uow, agent.id)
    number = agent.published_version
    frozen = await snapshots_repository.snapshot(uow, agent.id, number) if number else None
    published = reader.read(frozen)["flow"]["id"] if frozen else None
    return (current.id if current else None) != published


def _compiled_and_text(snapshot: Mapping[str, Any]) -> tuple[Compiled, str]:
    return compile_snapshot(snapshot), canonical_json(snapshot)


async def unpublish_agent(uow: UnitOfWork, caller: Caller, agent: AgentRow) -> PublishState:
    row = agent
    if row.current_status == AgentStatus.PUBLISHED:
        row = still_there(await agents_repository.set_unpublished(uow, row.id, utcnow()))
        await audit.record(
            uow,
            caller,
            "agent.unpublished",
            agent_id=row.id,
            target_type="agent",
            target_id=row.id,
        )
        await emit(
            uow,
            row.id,
            "event_agent_unpublished",
            {"agent": {"id": row.id, "name": row.name}},
        )
    return _publish_state(row, await trainings_repository.for_agent(uow, row.id))


def _publish_state(row: AgentRow, trainings: list[TrainingRow]) -> PublishState:
    return PublishState(
        id=row.id,
        name=row.name,
        current_status=row.current_status,
        is_ready_to_publish=is_ready(row, trainings),
        updated_at=row.updated_at,
        version=row.published_version,
    )
