"""`cuecard trainings`: an agent's trainings on a running server, and trainings as code.

Client commands: they never import the server. The client, the sync engine (`cuecard.cli.sync`)
and pydantic are imported when a command runs, not when the command line is built, so `--help`
stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cuecard.cli._common import (
    AgentOption,
    Json,
    Token,
    TrainingStatus,
    Url,
    client,
    fail,
    note,
    plural,
    print_json,
)

if TYPE_CHECKING:
    from cuecard.client import Training

app = typer.Typer(
    help="Trainings on a running server; sync a folder of Markdown files to an agent.",
    no_args_is_help=True,
)


@app.command("list")
def trainings_list(
    agent: AgentOption,
    status: Annotated[TrainingStatus | None, typer.Option(help="active or inactive.")] = None,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """List an agent's trainings."""
    with client(url, token) as api:
        found = api.trainings.list(agent, current_status=status)
    if as_json:
        print_json([t.model_dump(mode="json") for t in found])
        return
    typer.echo("id\tnode_id\tstatus\tsubject")
    for t in found:
        typer.echo(f"{t.id}\t{t.node_id or '-'}\t{t.current_status}\t{t.subject}")


@app.command("upsert")
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
        raise fail("give exactly one of --instructions and --instructions-file", 2)
    if instructions_file is not None:
        try:
            if str(instructions_file) == "-":
                instructions = sys.stdin.read()
            else:
                instructions = instructions_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"cannot read {instructions_file}: {exc}", 2) from None
    assert instructions is not None
    with client(url, token) as api:
        training = api.trainings.upsert(
            agent,
            subject=subject,
            instructions=instructions,
            node_id=node_id,
            current_status=status,
            position=position,
            pinned=pinned,
        )
    if as_json:
        print_json(training.model_dump(mode="json"))
        return
    typer.echo(training.id)


@app.command("delete")
def trainings_delete(
    training_id: Annotated[str, typer.Argument(help="The training's id.", show_default=False)],
    agent: AgentOption,
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Delete a training. The agent goes back to draft."""
    with client(url, token) as api:
        api.trainings.delete(agent, training_id)
    note(f"Deleted training {training_id}.")
    if as_json:
        print_json({"deleted": training_id, "agent_id": agent})


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


@app.command("sync")
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
    from cuecard.cli import sync as tac
    from cuecard.cli import sync_config as tac_config
    from cuecard.cli._sync_run import sync_folder

    problems: list[tac.Problem] = []
    files: list[tac.TrainingFile] = []
    config = tac_config.ConfigFiles()
    try:
        files = tac.read_folder(directory)
    except tac.InvalidFiles as exc:
        problems.extend(exc.problems)
    try:  # knowledge.yaml, voice.yaml, actions.yaml beside the trainings
        config = tac_config.read_config(directory)
    except tac.InvalidFiles as exc:
        problems.extend(exc.problems)
    if problems:
        if as_json:
            print_json({"errors": [vars(p) for p in problems]})
        for problem in problems:
            note(f"invalid: {directory / problem.path}:{problem.line}: {problem.message}")
        raise fail(
            f"{plural(len({p.path for p in problems}), 'file')} invalid; nothing was written", 2
        )
    raise typer.Exit(
        sync_folder(
            url,
            token,
            agent,
            files,
            config,
            prune=prune,
            dry_run=dry_run,
            publish=publish,
            yes=yes,
            concurrency=concurrency,
            as_json=as_json,
        )
    )


@app.command("export")
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
    from cuecard.cli import sync as tac
    from cuecard.cli import sync_config as tac_config

    if directory.exists() and not directory.is_dir():
        raise fail(f"{directory} is not a folder", 2)
    if directory.is_dir() and not force and tac.markdown_files(directory):
        raise fail(f"{directory} already has *.md files; use --force to write over them", 2)
    with client(url, token) as api:
        found = api.trainings.list(agent)
        # knowledge.yaml, voice.yaml, actions.yaml: what sync reads back beside the trainings
        config_files = tac_config.render_config(api.agents.get(agent), api.actions.list(agent))
    exported = [t for t in found if t.node_id is not None]
    rendered = _render_all(exported) + config_files
    from cuecard.cli.progress import progress

    try:
        with progress("Exporting", len(rendered)) as advance:
            for relative, text in rendered:
                target = directory / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(text.encode("utf-8"))
                advance()
    except OSError as exc:
        raise fail(f"cannot write {exc.filename}: {exc.strerror}") from None
    skipped = len(found) - len(exported)
    if as_json:
        print_json({"written": [r for r, _ in rendered], "skipped_without_node_id": skipped})
        return
    typer.echo(f"Exported {plural(len(exported), 'training')} to {directory}.")
    if config_files:
        typer.echo(f"Exported the agent's {', '.join(name for name, _ in config_files)}.")
    if skipped:
        note(f"Skipped {plural(skipped, 'training')} without node_id (sync never manages them).")


def _render_all(found: list[Training]) -> list[tuple[str, str]]:
    from cuecard.cli import sync as tac

    rendered = [tac.render(t) for t in found]
    seen: dict[str, str] = {}
    for (relative, _), training in zip(rendered, found, strict=True):
        key = relative.casefold()  # two names that differ by case collide on macOS and Windows
        if key in seen:
            raise fail(
                f"node_ids {seen[key]!r} and {training.node_id!r} map to the same file "
                f"{relative}; rename one",
                1,
            )
        seen[key] = training.node_id or ""
    return rendered
