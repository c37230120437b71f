"""`cuecard trainings lint DIR` (offline, on the files) and `cuecard agents test AGENT [DIR]`.

Both are CI steps: exit code 0 when clean (lint: no error finding; test: every test passed),
1 when not, 2 for invalid files or usage. See docs/testing-trainings.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cuecard.cli import agents, trainings
from cuecard.cli._common import (
    AgentArg,
    Json,
    Token,
    Url,
    client,
    fail,
    needs_server,
    note,
    plural,
    print_json,
)
from cuecard.cli.trainings import Folder

VersionOption = Annotated[
    str, typer.Option("--version", help="draft, published or a version number.")
]
TestsFolder = Annotated[
    Path | None,
    typer.Argument(
        help="Trainings folder with tests/*.yaml (or a folder of test files); "
        "without it, the agent's stored tests run.",
        exists=True,
        file_okay=False,
        show_default=False,
    ),
]


def _load_tests(directory: Path) -> list[dict[str, Any]]:
    from cuecard.agent_tests.files import InvalidTestFiles, folder_of_tests, read_tests

    try:
        return read_tests(folder_of_tests(directory))
    except InvalidTestFiles as exc:
        for problem in exc.problems:
            note(f"invalid: {problem}")
        raise fail(f"{len(exc.problems)} invalid test(s); nothing was run", 2) from None


@needs_server  # it compiles and ranks like the server does
def lint_files(
    directory: Folder,
    budget: Annotated[int, typer.Option(min=1, help="The agent's training_budget_tokens.")] = 2000,
    language: Annotated[str, typer.Option(help="The agent's language.")] = "en-US",
    as_json: Json = False,
) -> None:
    """Lint a folder of training files offline, before anything is sent.

    Duplicates and near-duplicates, conflicting numbers, {{placeholders}}, trainings over the
    budget, empty or one-line instructions; with tests/*.yaml, retrieval trainings no test
    retrieves. Exit codes: 0 no errors (warnings allowed), 1 errors, 2 invalid files.
    """
    from cuecard.agent_tests.schemas import AgentTestDefinition
    from cuecard.cli import sync as tac
    from cuecard.lint.check import lint_compiled
    from cuecard.lint.rules import Severity
    from cuecard.runtime.compile import compile_snapshot

    try:
        files = tac.read_folder(directory)
    except tac.InvalidFiles as exc:
        for problem in exc.problems:
            note(f"invalid: {directory / problem.path}:{problem.line}: {problem.message}")
        raise fail("invalid files; nothing was linted", 2) from None
    has_tests = (directory / "tests").is_dir()
    tests = (
        [AgentTestDefinition.model_validate(t) for t in _load_tests(directory)] if has_tests else []
    )
    compiled = compile_snapshot(
        {
            "agent": {"id": "local", "language": language, "training_budget_tokens": budget},
            # The file path is the training's id here, so findings and tests can name files.
            "trainings": [
                {
                    "id": f.path,
                    "node_id": f.node_id,
                    "subject": f.subject,
                    "instructions": f.instructions,
                    "current_status": f.current_status or "active",
                    "position": f.position,
                    "pinned": bool(f.pinned),
                    "created_at": "",
                }
                for f in files
            ],
        }
    )
    findings = lint_compiled(compiled, tests)
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    if as_json:
        print_json(
            [
                {
                    "code": f.code.value,
                    "severity": f.severity.value,
                    "files": f.refs,
                    "message": f.message,
                    "similarity": f.similarity,
                }
                for f in findings
            ]
        )
    else:
        for f in findings:
            typer.echo(f"{f.severity.value:<8}{f.code.value}  {', '.join(f.refs)}: {f.message}")
        typer.echo(
            f"{plural(errors, 'error')}, "
            f"{plural(len(findings) - errors, 'warning')} in "
            f"{plural(len(files), 'file')}."
        )
    if errors:
        raise typer.Exit(1)


def test_agent(
    agent_id: AgentArg,
    directory: TestsFolder = None,
    version: VersionOption = "draft",
    url: Url = None,
    token: Token = None,
    as_json: Json = False,
) -> None:
    """Run the agent's tests on the server: which trainings reach the model, and coverage.

    With DIR, the tests in DIR/tests/*.yaml run (nothing is stored); without, the stored ones.
    Exit codes: 0 every test passed, 1 a test failed (or the server did), 2 invalid files.
    """
    tests = _load_tests(directory) if directory is not None else None
    selector: str | int = int(version) if version.isdigit() else version
    with client(url, token) as api:
        result = api.runtime.test_run(agent_id, version=selector, tests=tests)  # type: ignore[arg-type]
    if as_json:
        print_json(result)
    else:
        _print_run(result)
    if not result["passed"]:
        raise typer.Exit(1)


def _name(training: dict[str, Any]) -> str:
    return str(training.get("node_id") or training["subject"])


def _print_run(result: dict[str, Any]) -> None:
    for test in result["tests"]:
        reached = ", ".join(
            f"{_name(r)} ({r['via']}{'' if r['score'] is None else ' ' + str(r['score'])})"
            for r in test["reached"]
        )
        typer.echo(f"{'PASS' if test['passed'] else 'FAIL'}  {test['name']}")
        typer.echo(f"      reached: {reached or 'nothing'}")
        for failure in test["failures"]:
            typer.echo(f"      {failure['kind']}: {failure['message']}")
            for above in failure.get("ranked_above") or []:
                typer.echo(
                    f"        ranked above it: {above['rank']}. {_name(above)} ({above['score']})"
                )
        if test["reply_checks"] == "skipped":
            typer.echo("      reply checks skipped: the server has no LLM configured")
    coverage = result["coverage"]
    typer.echo(
        f"Coverage: {coverage['reached']} of {coverage['active']} active trainings reached "
        "the model in some test."
    )
    for training in coverage["unreached"]:
        typer.echo(f"  not reached: {_name(training)}")
    typer.echo(
        f"{result['total'] - result['failed']} of {result['total']} tests passed "
        f"on version {result['version']}."
    )


def register() -> None:
    trainings.app.command("lint")(lint_files)
    agents.app.command("test")(test_agent)
