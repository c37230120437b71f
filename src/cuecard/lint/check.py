"""The linter on a compiled version, and the publish gates an agent's settings switch on.

Imports no domain service (versions.service calls the gates from publish), only the pure rules,
the test runner and the agent_tests repository.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from cuecard.agent_tests import repository as tests_repository
from cuecard.agent_tests.runner import retrieved_by_tests
from cuecard.agent_tests.schemas import AgentTestDefinition
from cuecard.agents.repository import AgentRow
from cuecard.core.db import UnitOfWork
from cuecard.core.errors import ValidationFailed
from cuecard.lint.rules import Finding, LintContext, LintTraining, Severity, lint
from cuecard.runtime.compile import BudgetMode, Compiled, flow_of


class LintErrors(ValidationFailed):
    code = "LINT_ERRORS"


class TestsNotPassed(ValidationFailed):
    __test__ = False  # not a pytest class
    code = "TESTS_NOT_PASSED"


def lint_compiled(
    compiled: Compiled,
    tests: Sequence[AgentTestDefinition],
    flow: Mapping[str, Any] | None = None,
    refs: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Lint the active trainings of a compiled version. `refs` renames training ids in findings
    (the offline linter names files); `flow` is the flow document, by default the compiled
    version's own (None for an llm_driven agent)."""
    flow = flow if flow is not None else flow_of(compiled.snapshot)
    names = refs or {}
    blocks = [*compiled.system_blocks, *compiled.retrieved]
    for node in compiled.nodes.values():
        blocks.extend(node)
    blocks.sort(key=lambda b: b.order)

    def ref(training_id: str) -> str:
        return names.get(training_id, training_id)

    trainings = [
        LintTraining(ref(b.training_id), b.subject, b.instructions, b.node_id) for b in blocks
    ]
    retrieval = {ref(b.training_id) for b in compiled.retrieved}
    tested = None
    if tests and compiled.mode is BudgetMode.RETRIEVE:
        tested = {ref(i) for i in retrieved_by_tests(compiled, tests)}
    context = LintContext(
        language=compiled.language,
        budget_tokens=compiled.budget_tokens,
        flow=flow,
        retrieval_refs=retrieval,
        tested_refs=tested,
    )
    return lint(trainings, context)


async def publish_gates(uow: UnitOfWork, agent: AgentRow, compiled: Compiled) -> None:
    """Refuse to publish (422) what the agent's gate settings forbid. Runs inside publish."""
    if agent.publish_requires_clean_lint:
        tests = await tests_repository.definitions(uow, agent.id)
        findings = await asyncio.to_thread(lint_compiled, compiled, tests)
        errors = [f for f in findings if f.severity is Severity.ERROR]
        if errors:
            raise LintErrors(
                {"lint": [f"{f.code.value} ({', '.join(f.refs)}): {f.message}" for f in errors]},
                message=f"The draft has {len(errors)} lint error(s); publish_requires_clean_lint "
                "refuses to publish it. GET .../lint?version=draft lists them.",
            )
    if agent.publish_requires_passing_tests:
        run = await tests_repository.last_draft_run(uow, agent.id)
        revision = agent.draft_revision
        if run is None or run.draft_revision != revision:
            raise TestsNotPassed(
                {
                    "tests": [
                        f"No test run on this draft (revision {revision}): run "
                        "POST .../test-runs with version=draft first."
                    ]
                },
                message="publish_requires_passing_tests: the draft has not been tested.",
            )
        if not run.passed:
            raise TestsNotPassed(
                {
                    "tests": [
                        f"The last test run on this draft ({run.id}) failed "
                        f"{run.failed} of {run.total} tests."
                    ]
                },
                message="publish_requires_passing_tests: the last test run on this draft failed.",
            )
