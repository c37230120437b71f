"""Client commands: they talk to a running server over HTTP, through `cuecard.client`.

The server is named by --url/--token or CUECARD_URL/CUECARD_TOKEN. Results go to stdout
(`--json` prints them as JSON for scripts); progress and errors go to stderr. Exit codes: 0
success, 1 the server or the network failed (for sync: some writes failed), 2 invalid input or
usage (nothing was sent).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import yaml

from cuecard.cli import sync as tac
from cuecard.cli.progress import progress
from cuecard.client import (
    Agent,
    AgentStatus,
    AsyncClient,
    Client,
    CuecardError,
    Training,
    TrainingStatus,
)

CLIENT_PANEL = "Client (talks to a running server)"

agents = typer.Typer(help="Agents on a running server.", no_args_is_help=True)
trainings = typer.Typer(
    help="Trainings on a running server; sync a folder of Markdown files to an agent.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(agents, name="agents", rich_help_panel=CLIENT_PANEL)
    app.add_typer(trainings, name="trainings", rich_help_panel=CLIENT_PANEL)


Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="CUECARD_URL",
        help="Server URL, e.g. http://127.0.0.1:8000.",
        show_default=False,
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="CUECARD_TOKEN", help="Environment token (talq_…).", show_default=False
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
AgentOption = Annotated[str, typer.Option("--agent", help="The agent's id.", show_default=False)]
AgentArg = Annotated[str, typer.Argument(help="The agent's id.", show_default=False)]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _note(message: str) -> None:
    typer.echo(message, err=True)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@contextmanager
def _client(url: str | None, token: str | None) -> Iterator[Client]:
    try:
        client = Client(url, token)
    except CuecardError as exc:
        raise _fail(f"{exc} (or use --url/--token)", 2) from None
    with client:
        try:
            yield client
        except CuecardError as exc:
            raise _fail(str(exc)) from None


def _async_client(url: str | None, token: str | None, http: httpx.AsyncClient) -> AsyncClient:
    try:
        # Retries matter here: every sync write is a DELETE or an upsert with a node_id, so
        # repeating one is safe.
        return AsyncClient(url, token, http_client=http, max_retries=3)
    except CuecardError as exc:
        raise _fail(f"{exc} (or use --url/--token)", 2) from None


# Agents


@agents.command("list")
def agents_list(
    status: Annotated[AgentStatus | None, typer.Option(help="draft or published.")] = None,
    search: Annotated[str | None, typer.Option(help="Part of the name or label.")] = None,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """List agents (every page)."""
    with _client(url, token) as client:
        found = list(client.agents.list(status=status, search=search))
    if as_json:
        _print_json([a.model_dump(mode="json") for a in found])
        return
    typer.echo("id\tname\tstatus\ttrainings\tupdated_at")
    for a in found:
        typer.echo(
            f"{a.id}\t{a.name}\t{a.current_status}\t{len(a.trainings)}\t{a.updated_at.isoformat()}"
        )


@agents.command("get")
def agents_get(
    agent_id: AgentArg, url: Url = None, token: Token = None, as_json: Json = False
) -> None:
    """Show one agent and its trainings."""
    with _client(url, token) as client:
        agent = client.agents.get(agent_id)
    if as_json:
        _print_json(agent.model_dump(mode="json"))
        return
    _print_agent(agent)


def _print_agent(agent: Agent) -> None:
    for name in ("id", "name", "label", "current_status", "is_ready_to_publish"):
        typer.echo(f"{name}: {getattr(agent, name)}")
    if agent.published_version is not None:
        typer.echo(f"published_version: {agent.published_version}")
    typer.echo(f"language: {agent.language}")
    typer.echo(f"description: {agent.description or ''}")
    typer.echo(f"trainings: {len(agent.trainings)}")
    for t in agent.trainings:
        typer.echo(f"  {t.id}\t{t.node_id or '-'}\t{t.current_status}\t{t.subject}")


@agents.command("create")
def agents_create(
    name: Annotated[str, typer.Option(help="The agent's name.", show_default=False)],
    description: Annotated[str | None, typer.Option(help="Its base prompt.")] = None,
    language: Annotated[str | None, typer.Option(help="e.g. en-US.")] = None,
    initial_message: Annotated[str | None, typer.Option(help="What it says first.")] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Any other setting as KEY=VALUE (YAML value), e.g. --set llm_temperature=0.3.",
            show_default=False,
        ),
    ] = None,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Create an agent (as a draft) and print its id."""
    settings: dict[str, Any] = {}
    for item in setting or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise _fail(f"--set takes KEY=VALUE, got {item!r}", 2)
        try:
            settings[key.strip()] = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            settings[key.strip()] = raw
    for key, value in (
        ("description", description),
        ("language", language),
        ("initial_message", initial_message),
    ):
        if value is not None:
            settings[key] = value
    with _client(url, token) as client:
        agent = client.agents.create(name, **settings)
    if as_json:
        _print_json(agent.model_dump(mode="json"))
        return
    _note(f"Created agent {agent.name!r} as a draft.")
    typer.echo(agent.id)


@agents.command("publish")
def agents_publish(
    agent_id: AgentArg, url: Url = None, token: Token = None, as_json: Json = False
) -> None:
    """Publish the agent's draft as its next version."""
    with _client(url, token) as client:
        state = client.agents.publish(agent_id)
    if as_json:
        _print_json(state.model_dump(mode="json"))
        return
    version = f" (version {state.version})" if state.version is not None else ""
    typer.echo(f"Agent {state.id} is {state.current_status}{version}.")


@agents.command("unpublish")
def agents_unpublish(
    agent_id: AgentArg, url: Url = None, token: Token = None, as_json: Json = False
) -> None:
    """Take the agent offline (back to draft); nothing is deleted."""
    with _client(url, token) as client:
        state = client.agents.unpublish(agent_id)
    if as_json:
        _print_json(state.model_dump(mode="json"))
        return
    typer.echo(f"Agent {state.id} is {state.current_status}.")


# Trainings


@trainings.command("list")
def trainings_list(
    agent: AgentOption,
    status: Annotated[TrainingStatus | None, typer.Option(help="active or inactive.")] = None,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """List an agent's trainings."""
    with _client(url, token) as client:
        found = client.trainings.list(agent, current_status=status)
    if as_json:
        _print_json([t.model_dump(mode="json") for t in found])
        return
    typer.echo("id\tnode_id\tstatus\tsubject")
    for t in found:
        typer.echo(f"{t.id}\t{t.node_id or '-'}\t{t.current_status}\t{t.subject}")


@trainings.command("upsert")
def trainings_upsert(
    agent: AgentOption,
    subject: Annotated[str, typer.Option(help="Title (max 255 characters).", show_default=False)],
    instructions: Annotated[
        str | None, typer.Option(help="The text, or use --instructions-file.", show_default=False)
    ] = None,
    instructions_file: Annotated[
        Path | None,
        typer.Option(help="Read the instructions from a file ('-' for stdin).", show_default=False),
    ] = None,
    node_id: Annotated[
        str | None, typer.Option(help="Update the training with this node_id, or create it.")
    ] = None,
    status: Annotated[TrainingStatus | None, typer.Option(help="active or inactive.")] = None,
    position: Annotated[int | None, typer.Option(help="Ordering.")] = None,
    pinned: Annotated[bool | None, typer.Option("--pinned/--not-pinned")] = None,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Create a training, or update the one with --node-id. Prints its id."""
    if (instructions is None) == (instructions_file is None):
        raise _fail("give exactly one of --instructions and --instructions-file", 2)
    if instructions_file is not None:
        try:
            if str(instructions_file) == "-":
                instructions = sys.stdin.read()
            else:
                instructions = instructions_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"cannot read {instructions_file}: {exc}", 2) from None
    assert instructions is not None
    with _client(url, token) as client:
        training = client.trainings.upsert(
            agent,
            subject=subject,
            instructions=instructions,
            node_id=node_id,
            current_status=status,
            position=position,
            pinned=pinned,
        )
    if as_json:
        _print_json(training.model_dump(mode="json"))
        return
    typer.echo(training.id)


@trainings.command("delete")
def trainings_delete(
    training_id: Annotated[str, typer.Argument(help="The training's id.", show_default=False)],
    agent: AgentOption,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Delete a training. The agent goes back to draft."""
    with _client(url, token) as client:
        client.trainings.delete(agent, training_id)
    _note(f"Deleted training {training_id}.")
    if as_json:
        _print_json({"deleted": training_id, "agent_id": agent})


Folder = Annotated[
    Path,
    typer.Argument(
        help="Folder of *.md files, one training each.",
        exists=True,
        file_okay=False,
        dir_okay=True,
        readable=True,
        show_default=False,
    ),
]


@trainings.command("sync")
def trainings_sync(
    directory: Folder,
    agent: AgentOption,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete trainings whose node_id no file has.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and write nothing.")
    ] = False,
    publish: Annotated[
        bool, typer.Option("--publish", help="Publish the agent after a successful sync.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Delete without asking (needed without a terminal).")
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Writes in flight.")] = 8,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Make the agent's trainings equal to a folder of Markdown files.

    Each *.md file is one training; its node_id is its path without .md (or front matter node_id).

    The subject is front matter `subject:` or the first `# ` heading; the rest is the instructions.

    Unchanged trainings are not written; trainings without node_id are never touched.

    Exit codes: 0 done, 1 some writes failed, 2 invalid files or usage (nothing written).
    """
    try:
        files = tac.read_folder(directory)
    except tac.InvalidFiles as exc:
        if as_json:
            _print_json({"errors": [vars(p) for p in exc.problems]})
        for problem in exc.problems:
            _note(f"invalid: {directory / problem.path}:{problem.line}: {problem.message}")
        raise _fail(
            f"{_plural(len({p.path for p in exc.problems}), 'file')} invalid; nothing was written",
            2,
        ) from None
    # As many pooled connections as writes in flight: an unbounded pool opens a new connection
    # whenever a response is not yet back in the pool, and scanning a big pool costs CPU.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    http = httpx.AsyncClient(limits=limits)
    client = _async_client(url, token, http)
    run = _Sync(http, client, agent, files, prune, dry_run, publish, yes, concurrency, as_json)
    run.report.update(agent_id=agent, dry_run=dry_run)
    raise typer.Exit(asyncio.run(run.main()))


@dataclass
class _Sync:
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

    async def main(self) -> int:
        async with self.http:
            try:
                return await self._run()
            except CuecardError as exc:
                _note(f"error: {exc}")
                self.report["error"] = str(exc)
                self._emit()
                return 1

    def _emit(self) -> None:
        if self.as_json:
            _print_json(self.report)

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
        needs_publish = self.publish and (bool(plan.writes) or status != "published")
        if self.dry_run:
            if needs_publish:
                self._say("Would publish the agent after syncing.")
            self._say("Dry run: nothing was written.")
            self._emit()
            return 0
        deletes = plan.of(tac.Action.DELETE)
        if deletes and not self.yes and not self._confirm(len(deletes)):
            self._emit()
            return 2 if not sys.stdin.isatty() else 1

        outcome = await self._apply(plan.writes)
        self._show_outcome(plan, outcome)
        if outcome.failed or outcome.skipped:
            if self.publish:
                _note("Not publishing: the sync did not fully succeed.")
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

    def _confirm(self, count: int) -> bool:
        what = f"delete {_plural(count, 'training')} from agent {self.agent_id}"
        if not sys.stdin.isatty():
            _note(f"error: refusing to {what} without --yes (no terminal to ask); nothing written")
            return False
        if typer.confirm(f"{what[0].upper()}{what[1:]}?", default=False, err=True):
            return True
        _note("Aborted; nothing was written.")
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
                f"{_plural(plan.kept, 'training')} on the server with a node_id no file has: "
                "kept (--prune deletes them)."
            )
        if plan.untouched:
            self._say(f"{_plural(plan.untouched, 'training')} without node_id: never touched.")

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
            _note(f"{_plural(len(outcome.failed), 'write')} failed:")
            for step, why in sorted(outcome.failed, key=lambda f: f[0].label):
                _note(f"  {step.label}: {why}")
        if outcome.skipped:
            _note(
                f"{_plural(len(outcome.skipped), 'write')} not attempted: the server refused "
                f"the token ({outcome.stopped_by})."
            )


@trainings.command("export")
def trainings_export(
    directory: Annotated[
        Path, typer.Argument(help="Folder to write *.md files into.", show_default=False)
    ],
    agent: AgentOption,
    force: Annotated[
        bool, typer.Option("--force", help="Write even if the folder already has *.md files.")
    ] = False,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Write the agent's trainings as Markdown files that `sync` reads back unchanged.

    Trainings without node_id are skipped: sync never manages them.
    """
    if directory.exists() and not directory.is_dir():
        raise _fail(f"{directory} is not a folder", 2)
    if directory.is_dir() and not force and tac.markdown_files(directory):
        raise _fail(f"{directory} already has *.md files; use --force to write over them", 2)
    with _client(url, token) as client:
        found = client.trainings.list(agent)
    exported = [t for t in found if t.node_id is not None]
    rendered = _render_all(exported)
    try:
        with progress("Exporting", len(rendered)) as advance:
            for relative, text in rendered:
                target = directory / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(text.encode("utf-8"))
                advance()
    except OSError as exc:
        raise _fail(f"cannot write {exc.filename}: {exc.strerror}") from None
    skipped = len(found) - len(exported)
    if as_json:
        _print_json({"written": [r for r, _ in rendered], "skipped_without_node_id": skipped})
        return
    typer.echo(f"Exported {_plural(len(rendered), 'training')} to {directory}.")
    if skipped:
        _note(f"Skipped {_plural(skipped, 'training')} without node_id (sync never manages them).")


def _render_all(found: list[Training]) -> list[tuple[str, str]]:
    rendered = [tac.render(t) for t in found]
    seen: dict[str, str] = {}
    for (relative, _), training in zip(rendered, found, strict=True):
        key = relative.casefold()  # two names that differ by case collide on macOS and Windows
        if key in seen:
            raise _fail(
                f"node_ids {seen[key]!r} and {training.node_id!r} map to the same file "
                f"{relative}; rename one",
                1,
            )
        seen[key] = training.node_id or ""
    return rendered
