"""Run agent tests against a compiled version: which trainings reach the model on the last turn.

A training reaches the model inline (the system prompt), through the node the test's call is in,
or retrieved by the same ranker and budget as `POST .../runtime/retrieve`. Those expectations are
deterministic and need no LLM. Reply checks need one: the caller passes `reply` and `judge`
(see agent_tests.service); without them reply checks are reported as skipped, never as passed.

Imports no domain package, so the publish gate and the offline linter can run it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cuecard.agent_tests.schemas import (
    AgentTestDefinition,
    CaseResult,
    Coverage,
    Failure,
    FailureKind,
    RankedTraining,
    ReachedTraining,
    ReplyChecks,
    RunResult,
    TrainingRef,
    Via,
)
from cuecard.runtime.compile import Block, BudgetMode, Compiled
from cuecard.runtime.retrieval import Retrieval, Turn, retrieve

# The reply the LLM gives to this test's conversation (with what reached it), and whether a reply
# meets a criterion.
Reply = Callable[[AgentTestDefinition, Retrieval | None], Awaitable[str]]
Judge = Callable[[str, str], Awaitable[bool]]

ABOVE_SHOWN = 5


@dataclass(frozen=True, slots=True)
class _Known:
    training: Mapping[str, Any]

    @property
    def ref(self) -> TrainingRef:
        return TrainingRef(
            training_id=str(self.training["id"]),
            node_id=self.training.get("node_id"),
            subject=self.training["subject"],
        )


def _ref(block: Block) -> TrainingRef:
    return TrainingRef(training_id=block.training_id, node_id=block.node_id, subject=block.subject)


def _lookup(compiled: Compiled) -> dict[str, Mapping[str, Any]]:
    """Every training of the snapshot by id and by node_id (a test may name either)."""
    found: dict[str, Mapping[str, Any]] = {}
    for training in compiled.snapshot["trainings"]:
        found[str(training["id"])] = training
        if training.get("node_id"):
            found.setdefault(str(training["node_id"]), training)
    return found


def active_blocks(compiled: Compiled) -> list[Block]:
    blocks = [*compiled.system_blocks, *compiled.retrieved]
    for node in compiled.nodes.values():
        blocks.extend(node)
    return sorted(blocks, key=lambda b: b.order)


def reached(
    compiled: Compiled, test: AgentTestDefinition
) -> tuple[list[ReachedTraining], Retrieval | None]:
    """What reaches the model on the test's last turn, in prompt order."""
    out = [ReachedTraining(**_ref(b).model_dump(), via=Via.SYSTEM) for b in compiled.system_blocks]
    node_blocks = compiled.nodes.get(test.node_id or "", [])
    out.extend(ReachedTraining(**_ref(b).model_dump(), via=Via.NODE) for b in node_blocks)
    found = None
    if compiled.mode is BudgetMode.RETRIEVE:
        turns = [Turn(m.role, m.content) for m in test.conversation]
        found = retrieve(compiled, turns, node_id=test.node_id)
        out.extend(
            ReachedTraining(**_ref(d.block).model_dump(), via=Via.RETRIEVED, score=d.score)
            for d in found.documents
        )
    return out, found


def _why_missing(
    compiled: Compiled,
    test: AgentTestDefinition,
    training: Mapping[str, Any],
    found: Retrieval | None,
    expected: str,
) -> Failure:
    ref = _Known(training).ref
    subject = training["subject"]
    if training["current_status"] != "active":
        return Failure(
            kind=FailureKind.MISSING,
            expected=expected,
            training=ref,
            message=f"{subject!r} is inactive.",
        )
    node_id = training.get("node_id")
    if node_id is not None and node_id in compiled.nodes:
        where = f"node {test.node_id!r}" if test.node_id else "no node"
        return Failure(
            kind=FailureKind.MISSING,
            expected=expected,
            training=ref,
            message=f"{subject!r} is inline in node {node_id!r}; the test is in {where}.",
        )
    if found is None:
        return Failure(
            kind=FailureKind.MISSING,
            expected=expected,
            training=ref,
            message=f"{subject!r} did not reach the model.",
        )
    blocks = compiled.retrieved
    ranking = [(blocks[doc], score) for doc, score in found.ranking]
    position = next(
        (i for i, (b, _) in enumerate(ranking) if b.training_id == ref.training_id), None
    )
    above_end = position if position is not None else len(ranking)
    above = [
        RankedTraining(**_ref(b).model_dump(), rank=i + 1, score=score)
        for i, (b, score) in enumerate(ranking[: min(above_end, ABOVE_SHOWN)])
    ]
    if position is None:
        return Failure(
            kind=FailureKind.MISSING,
            expected=expected,
            training=ref,
            ranked_above=above,
            message=f"{subject!r} scored below the relevance threshold for this turn; "
            f"{len(ranking)} trainings were candidates.",
        )
    score = ranking[position][1]
    return Failure(
        kind=FailureKind.MISSING,
        expected=expected,
        training=ref,
        rank=position + 1,
        score=score,
        ranked_above=above,
        message=f"{subject!r} ranked {position + 1} (score {score}) but only "
        f"{len(found.documents)} fit top_k and the budget of {found.budget_tokens} "
        "tokens.",
    )


async def run_case(
    compiled: Compiled, test: AgentTestDefinition, *, reply: Reply | None, judge: Judge | None
) -> CaseResult:
    trainings = _lookup(compiled)
    # Encoding a long conversation takes a while: in a worker thread, off the event loop.
    got, found = await asyncio.to_thread(reached, compiled, test)
    reached_ids = {r.training_id for r in got}
    failures: list[Failure] = []
    for expected in test.expect.reach:
        training = trainings.get(expected)
        if training is None:
            failures.append(
                Failure(
                    kind=FailureKind.UNKNOWN_TRAINING,
                    expected=expected,
                    message=f"No training has the id or node_id {expected!r}.",
                )
            )
        elif str(training["id"]) not in reached_ids:
            failures.append(_why_missing(compiled, test, training, found, expected))
    for unwanted in test.expect.not_reach:
        training = trainings.get(unwanted)
        if training is None:
            failures.append(
                Failure(
                    kind=FailureKind.UNKNOWN_TRAINING,
                    expected=unwanted,
                    message=f"No training has the id or node_id {unwanted!r}.",
                )
            )
        elif str(training["id"]) in reached_ids:
            hit = next(r for r in got if r.training_id == str(training["id"]))
            failures.append(
                Failure(
                    kind=FailureKind.UNEXPECTED,
                    expected=unwanted,
                    training=_Known(training).ref,
                    score=hit.score,
                    message=f"{training['subject']!r} reached the model "
                    f"({hit.via.value}) but must not.",
                )
            )
    text, checks = None, ReplyChecks.NONE
    wanted = test.expect.reply
    if wanted is not None and (wanted.mentions or wanted.not_mentions or wanted.criterion):
        if reply is None:
            checks = ReplyChecks.SKIPPED
        else:
            text = await reply(test, found)
            before = len(failures)
            failures.extend(
                await _reply_failures(
                    text, wanted.mentions, wanted.not_mentions, wanted.criterion, judge
                )
            )
            checks = ReplyChecks.PASSED if len(failures) == before else ReplyChecks.FAILED
    return CaseResult(
        name=test.name,
        passed=not failures,
        reached=got,
        failures=failures,
        reply=text,
        reply_checks=checks,
    )


async def _reply_failures(
    text: str,
    mentions: list[str],
    not_mentions: list[str],
    criterion: str | None,
    judge: Judge | None,
) -> list[Failure]:
    folded = text.casefold()
    failures = [
        Failure(
            kind=FailureKind.REPLY_MISSING_TEXT,
            expected=m,
            message=f"The reply does not mention {m!r}.",
        )
        for m in mentions
        if m.casefold() not in folded
    ]
    failures.extend(
        Failure(
            kind=FailureKind.REPLY_FORBIDDEN_TEXT,
            expected=m,
            message=f"The reply mentions {m!r}, which it must not.",
        )
        for m in not_mentions
        if m.casefold() in folded
    )
    if criterion and judge is not None and not await judge(criterion, text):
        failures.append(
            Failure(
                kind=FailureKind.REPLY_CRITERION,
                expected=criterion,
                message=f"The judge found the reply does not meet: {criterion}",
            )
        )
    return failures


def coverage(compiled: Compiled, results: Sequence[CaseResult]) -> Coverage:
    active = active_blocks(compiled)
    hit = {r.training_id for result in results for r in result.reached}
    unreached = [_ref(b) for b in active if b.training_id not in hit]
    return Coverage(active=len(active), reached=len(active) - len(unreached), unreached=unreached)


def retrieved_by_tests(compiled: Compiled, tests: Sequence[AgentTestDefinition]) -> set[str]:
    """Ids of the trainings some test retrieves (the linter's UNTESTED_RETRIEVAL_TRAINING)."""
    ids: set[str] = set()
    for test in tests:
        got, _ = reached(compiled, test)
        ids.update(r.training_id for r in got if r.via is Via.RETRIEVED)
    return ids


async def run_tests(
    compiled: Compiled,
    tests: Sequence[AgentTestDefinition],
    *,
    version: int | str,
    draft_revision: int | None,
    reply: Reply | None = None,
    judge: Judge | None = None,
) -> RunResult:
    results = [await run_case(compiled, test, reply=reply, judge=judge) for test in tests]
    failed = sum(1 for r in results if not r.passed)
    return RunResult(
        version=version,
        config_hash=compiled.config_hash,
        draft_revision=draft_revision,
        passed=bool(results) and failed == 0,
        total=len(results),
        failed=failed,
        llm=reply is not None,
        tests=results,
        coverage=coverage(compiled, results),
    )
