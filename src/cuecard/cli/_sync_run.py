"""The run of `cuecard trainings sync`: plan, confirm, apply with a progress bar, report.

Imported by the command when it runs (it loads the client and rich's progress bar).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from typing import Any

import httpx
import typer

from cuecard.cli import sync as tac
from cuecard.cli import sync_config as tac_config
from cuecard.cli._common import fail, note, plural, print_json
from cuecard.cli.progress import progress
from cuecard.client import AsyncClient, CuecardError


def sync_folder(
    url: str | None,
    token: str | None,
    agent_id: str,
    files: list[tac.TrainingFile],
    config: tac_config.ConfigFiles,
    *,
    prune: bool,
    dry_run: bool,
    publish: bool,
    yes: bool,
    concurrency: int,
    as_json: bool,
) -> int:
    """Sync `files` to the agent; returns the exit code."""
    # As many pooled connections as writes in flight: an unbounded pool opens a new connection
    # whenever a response is not yet back in the pool, and scanning a big pool costs CPU.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    http = httpx.AsyncClient(limits=limits)
    try:
        # Retries matter here: every sync write is a DELETE or an upsert with a node_id, so
        # repeating one is safe.
        client = AsyncClient(url, token, http_client=http, max_retries=3)
    except CuecardError as exc:
        raise fail(f"{exc} (or use --url/--token)", 2) from None
    run = SyncRun(http, client, agent_id, files, prune, dry_run, publish, yes, concurrency, as_json)
    run.config = config
    run.report.update(agent_id=agent_id, dry_run=dry_run)
    return asyncio.run(run.main())


@dataclass
class SyncRun:
    http: httpx.AsyncClient
    client: AsyncClient
    agent_id: str
    files: list[tac.TrainingFile]
    prune: bool
    dry_run: bool
    publish: bool
    yes: bool
    concurrency: int
    as_json: bool
    report: dict[str, Any] = field(default_factory=dict)
    config: tac_config.ConfigFiles = field(default_factory=tac_config.ConfigFiles)

    async def main(self) -> int:
        async with self.http:
            try:
                return await self._run()
            except CuecardError as exc:
                note(f"error: {exc}")
                self.report["error"] = str(exc)
                self._emit()
                return 1

    def _emit(self) -> None:
        if self.as_json:
            print_json(self.report)

    def _say(self, message: str = "") -> None:
        if not self.as_json:
            typer.echo(message)

    async def _run(self) -> int:
        status = None
        if self.publish:
            status = (await self.client.agents.get(self.agent_id)).current_status
        remote = await self.client.trainings.list(self.agent_id)
        plan = tac.make_plan(self.files, remote, prune=self.prune)
        self._show_plan(plan)
        config_steps = await self._plan_config()
        config_writes = [s for s in config_steps if s.action is not tac.Action.UNCHANGED]
        needs_publish = self.publish and (
            bool(plan.writes) or bool(config_writes) or status != "published"
        )
        if self.dry_run:
            if needs_publish:
                self._say("Would publish the agent after syncing.")
            self._say("Dry run: nothing was written.")
            self._emit()
            return 0
        deletes = len(plan.of(tac.Action.DELETE))
        action_deletes = sum(1 for s in config_writes if s.action is tac.Action.DELETE)
        if (
            (deletes or action_deletes)
            and not self.yes
            and not self._confirm(deletes, action_deletes)
        ):
            self._emit()
            return 2 if not sys.stdin.isatty() else 1

        outcome = await self._apply(plan.writes)
        self._show_outcome(plan, outcome)
        config_failed = await self._apply_config(config_writes)
        if outcome.failed or outcome.skipped or config_failed:
            if self.publish:
                note("Not publishing: the sync did not fully succeed.")
            self._emit()
            return 1
        if needs_publish:
            state = await self.client.agents.publish(self.agent_id)
            self.report["published_version"] = state.version
            self._say(f"Published the agent (version {state.version}).")
        elif self.publish:
            self._say("The agent is already published with these trainings.")
        self._emit()
        return 0

    async def _plan_config(self) -> list[tac_config.ConfigStep]:
        """Knowledge, voice and actions files: what they would change on the server."""
        if self.config.empty:
            return []
        agent = await self.client.agents.get(self.agent_id)
        managed = self.config.actions is not None
        actions = await self.client.actions.list(self.agent_id) if managed else []
        steps = tac_config.plan_config(self.config, agent, actions, prune=self.prune)
        self.report["config_plan"] = [
            {"kind": s.kind, "action": str(s.action), "node_id": s.node_id or None,
             "changed": list(s.changed)}
            for s in steps
        ]  # fmt: skip
        marks = {tac.Action.CREATE: "+", tac.Action.UPDATE: "~", tac.Action.DELETE: "-"}
        writes = [s for s in steps if s.action is not tac.Action.UNCHANGED]
        self._say(
            f"Agent configuration: {plural(len(writes), 'change')}, "
            f"{len(steps) - len(writes)} unchanged."
        )
        for step in writes:
            detail = f" ({', '.join(step.changed)})" if step.changed else ""
            self._say(f"  {marks[step.action]} {step.label}{detail}")
        return steps

    async def _apply_config(self, steps: list[tac_config.ConfigStep]) -> bool:
        """Apply the configuration steps; True when some failed."""
        if not steps:
            return False
        done, failed = await tac_config.apply_config(self.client, self.agent_id, steps)
        self.report["config_done"] = [{"kind": s.kind, "node_id": s.node_id or None} for s in done]
        self.report["config_failed"] = [
            {"kind": s.kind, "node_id": s.node_id or None, "error": why} for s, why in failed
        ]
        self._say(f"Agent configuration: {len(done)} written.")
        for step, why in failed:
            note(f"  {step.label}: {why}")
        return bool(failed)

    def _confirm(self, count: int, actions: int = 0) -> bool:
        things = [plural(count, "training")] if count else []
        things += [plural(actions, "action")] if actions else []
        what = f"delete {' and '.join(things)} from agent {self.agent_id}"
        if not sys.stdin.isatty():
            note(f"error: refusing to {what} without --yes (no terminal to ask); nothing written")
            return False
        if typer.confirm(f"{what[0].upper()}{what[1:]}?", default=False, err=True):
            return True
        note("Aborted; nothing was written.")
        return False

    def _show_plan(self, plan: tac.Plan) -> None:
        counts = {action: len(plan.of(action)) for action in tac.Action}
        self.report["plan"] = [
            {
                "action": str(step.action),
                "node_id": step.node_id,
                "file": step.file.path if step.file else None,
                "training_id": step.training_id,
                "changed": list(step.changed),
            }
            for step in plan.steps
        ]
        self.report["summary"] = {str(k): v for k, v in counts.items()} | {
            "kept": plan.kept,
            "untouched": plan.untouched,
        }
        self._say(
            f"Plan for agent {self.agent_id}: {counts[tac.Action.CREATE]} to create, "
            f"{counts[tac.Action.UPDATE]} to update, {counts[tac.Action.DELETE]} to delete, "
            f"{counts[tac.Action.UNCHANGED]} unchanged."
        )
        marks = {tac.Action.CREATE: "+", tac.Action.UPDATE: "~", tac.Action.DELETE: "-"}
        for step in plan.writes:
            detail = f" ({', '.join(step.changed)})" if step.changed else ""
            if step.action is tac.Action.DELETE:
                detail = f" (training {step.training_id})"
            self._say(f"  {marks[step.action]} {step.label}{detail}")
        if plan.kept:
            self._say(
                f"{plural(plan.kept, 'training')} on the server with a node_id no file has: "
                "kept (--prune deletes them)."
            )
        if plan.untouched:
            self._say(f"{plural(plan.untouched, 'training')} without node_id: never touched.")

    async def _apply(self, steps: list[tac.Step]) -> tac.Outcome:
        with progress("Syncing", len(steps)) as advance:
            return await tac.apply(
                self.client,
                self.agent_id,
                steps,
                concurrency=self.concurrency,
                on_step=lambda step: advance(),
            )

    def _show_outcome(self, plan: tac.Plan, outcome: tac.Outcome) -> None:
        done = {action: 0 for action in tac.Action}
        for step in outcome.done:
            done[step.action] += 1
        self.report["done"] = {
            "create": done[tac.Action.CREATE],
            "update": done[tac.Action.UPDATE],
            "delete": done[tac.Action.DELETE],
            "unchanged": len(plan.of(tac.Action.UNCHANGED)),
        }
        self.report["failed"] = [
            {"node_id": step.node_id, "file": step.file.path if step.file else None, "error": why}
            for step, why in outcome.failed
        ]
        self.report["skipped"] = [step.node_id for step in outcome.skipped]
        if not plan.writes:
            self._say("Everything is up to date; nothing was written.")
            return
        self._say(
            f"Done: {done[tac.Action.CREATE]} created, {done[tac.Action.UPDATE]} updated, "
            f"{done[tac.Action.DELETE]} deleted, {len(plan.of(tac.Action.UNCHANGED))} unchanged."
        )
        if outcome.failed:
            note(f"{plural(len(outcome.failed), 'write')} failed:")
            for step, why in sorted(outcome.failed, key=lambda f: f[0].label):
                note(f"  {step.label}: {why}")
        if outcome.skipped:
            note(
                f"{plural(len(outcome.skipped), 'write')} not attempted: the server refused "
                f"the token ({outcome.stopped_by})."
            )
