"""Lint rules: pure functions over a set of trainings, the same for the API and for files.

Only active trainings are linted: an inactive one never reaches the model. Every finding has a
code, a severity, the trainings it is about (ids on the server, paths for files) and a message;
near-duplicates carry their similarity. `error` findings are the ones an agent's
`publish_requires_clean_lint` setting refuses to publish with.

| code | severity | fires when |
|---|---|---|
| DUPLICATE_TRAINING | error | two trainings have the same instructions (case, spacing aside) |
| NEAR_DUPLICATE_TRAINING | warning | two trainings say nearly the same (similarity >= 0.8) |
| CONFLICTING_VALUES | error | related trainings give other numbers for a unit (30 vs 60 days) |
| UNFILLED_PLACEHOLDER | error | `{{name}}` in a training: nothing fills it, the model reads it |
| TRAINING_OVER_BUDGET | error | one training alone needs more tokens than the agent's budget |
| EMPTY_INSTRUCTIONS | error | the instructions are blank |
| ONE_LINE_INSTRUCTIONS | warning | one line of fewer than 8 words: too thin to steer the model |
| UNREACHABLE_FLOW_NODE | error | scoped to a flow node that no path from the start reaches |
| UNTESTED_RETRIEVAL_TRAINING | warning | a retrieval-mode training that no agent test retrieves |

Similarity is the cosine of the trainings' sentence embeddings (the ranker's model) for English
agents, and the Jaccard overlap of their BM25 terms for other languages.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from cuecard.lint.flows import node_ids, reachable_nodes
from cuecard.runtime.compile import render_block
from cuecard.runtime.embedding import encoder_for
from cuecard.runtime.retrieval import analyzer
from cuecard.runtime.tokens import training_tokens


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Code(StrEnum):
    DUPLICATE_TRAINING = "DUPLICATE_TRAINING"
    NEAR_DUPLICATE_TRAINING = "NEAR_DUPLICATE_TRAINING"
    CONFLICTING_VALUES = "CONFLICTING_VALUES"
    UNFILLED_PLACEHOLDER = "UNFILLED_PLACEHOLDER"
    TRAINING_OVER_BUDGET = "TRAINING_OVER_BUDGET"
    EMPTY_INSTRUCTIONS = "EMPTY_INSTRUCTIONS"
    ONE_LINE_INSTRUCTIONS = "ONE_LINE_INSTRUCTIONS"
    UNREACHABLE_FLOW_NODE = "UNREACHABLE_FLOW_NODE"
    UNTESTED_RETRIEVAL_TRAINING = "UNTESTED_RETRIEVAL_TRAINING"


SEVERITY = {
    Code.DUPLICATE_TRAINING: Severity.ERROR,
    Code.NEAR_DUPLICATE_TRAINING: Severity.WARNING,
    Code.CONFLICTING_VALUES: Severity.ERROR,
    Code.UNFILLED_PLACEHOLDER: Severity.ERROR,
    Code.TRAINING_OVER_BUDGET: Severity.ERROR,
    Code.EMPTY_INSTRUCTIONS: Severity.ERROR,
    Code.ONE_LINE_INSTRUCTIONS: Severity.WARNING,
    Code.UNREACHABLE_FLOW_NODE: Severity.ERROR,
    Code.UNTESTED_RETRIEVAL_TRAINING: Severity.WARNING,
}

NEAR_DUPLICATE = {"dense": 0.8, "terms": 0.8}
# Trainings this similar (or with the same subject) are about one topic: their numbers must agree.
RELATED = {"dense": 0.7, "terms": 0.5}
ONE_LINE_WORDS = 8

_PLACEHOLDER = re.compile(r"\{\{\s*[^{}]*?\s*\}\}")
_SPACES = re.compile(r"\s+")
_UNITS = {
    "second": "seconds",
    "seconds": "seconds",
    "minute": "minutes",
    "minutes": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
    "month": "months",
    "months": "months",
    "year": "years",
    "years": "years",
    "%": "%",
    "percent": "%",
    "euro": "euros",
    "euros": "euros",
    "eur": "euros",
    "€": "euros",
    "dollar": "dollars",
    "dollars": "dollars",
    "usd": "dollars",
    "$": "dollars",
    "pound": "pounds",
    "pounds": "pounds",
    "£": "pounds",
}
_AMOUNT = re.compile(
    r"(?P<before>[€$£])?\s?(?P<number>\d+(?:[.,]\d+)?)(?:[\s-]?(?P<after>%|[a-z€$£]+))?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class LintTraining:
    ref: str  # what a finding names: the training id, or the file path offline
    subject: str
    instructions: str
    node_id: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    code: Code
    message: str
    refs: list[str]
    similarity: float | None = None

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.code]


@dataclass
class LintContext:
    language: str = "en-US"
    budget_tokens: int = 2000
    # The agent's flow document when it has one; None: flow rules do not apply.
    flow: Mapping[str, Any] | None = None
    # Refs of the trainings the agent retrieves per turn, and of those its tests retrieved. None
    # when there are no tests: then no training is reported as untested.
    retrieval_refs: set[str] = field(default_factory=set)
    tested_refs: set[str] | None = None


def normalised(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold()


def amounts(text: str) -> dict[str, set[float]]:
    """Numbers with a unit, by unit: "30 days", "15%", "€ 20", "4.95 euros"."""
    found: dict[str, set[float]] = {}
    for match in _AMOUNT.finditer(text):
        unit = _UNITS.get((match.group("after") or "").lower()) or _UNITS.get(
            match.group("before") or ""
        )
        if unit is None:
            continue
        found.setdefault(unit, set()).add(float(match.group("number").replace(",", ".")))
    return found


def _similarities(
    trainings: Sequence[LintTraining], language: str
) -> tuple[np.ndarray[Any, Any], str]:
    encoder = encoder_for(language)
    if encoder is not None:
        subjects = encoder.encode_all([t.subject for t in trainings])
        instructions = encoder.encode_all([t.instructions for t in trainings])
        matrix = subjects + instructions
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix = matrix / np.where(norms == 0, 1, norms)
        return matrix @ matrix.T, "dense"
    analyze = analyzer(language)
    terms = [set(analyze(f"{t.subject} {t.instructions}")) for t in trainings]
    size = len(trainings)
    similarity = np.eye(size)
    for i, j in itertools.combinations(range(size), 2):
        union = terms[i] | terms[j]
        similarity[i, j] = similarity[j, i] = len(terms[i] & terms[j]) / len(union) if union else 0
    return similarity, "terms"


def _describe(values: Iterable[float], unit: str) -> str:
    return " or ".join(f"{value:g} {unit}" for value in sorted(values))


def lint(trainings: Sequence[LintTraining], context: LintContext) -> list[Finding]:
    findings: list[Finding] = []
    for t in trainings:
        findings.extend(_single(t, context))
    findings.extend(_pairs(trainings, context))
    if context.flow is not None:
        findings.extend(_flow(trainings, context.flow))
    if context.tested_refs is not None:
        for t in trainings:
            if t.ref in context.retrieval_refs and t.ref not in context.tested_refs:
                findings.append(
                    Finding(
                        Code.UNTESTED_RETRIEVAL_TRAINING,
                        f"No agent test retrieves {t.subject!r}: a change to the ranking or to its "
                        "text could stop it reaching callers unnoticed. Add a test expecting it.",
                        [t.ref],
                    )
                )
    order = {code: i for i, code in enumerate(Code)}
    findings.sort(key=lambda f: (f.severity != Severity.ERROR, order[f.code], f.refs))
    return findings


def _single(t: LintTraining, context: LintContext) -> Iterator[Finding]:
    text = t.instructions.strip()
    if not text:
        yield Finding(
            Code.EMPTY_INSTRUCTIONS,
            f"{t.subject!r} has no instructions: it adds only a heading.",
            [t.ref],
        )
    elif "\n" not in text and len(text.split()) < ONE_LINE_WORDS:
        yield Finding(
            Code.ONE_LINE_INSTRUCTIONS,
            f"{t.subject!r} is one line of {len(text.split())} words: say what to do, when, "
            "and what not to promise.",
            [t.ref],
        )
    for match in sorted({m.group(0) for m in _PLACEHOLDER.finditer(f"{t.subject}\n{text}")}):
        yield Finding(
            Code.UNFILLED_PLACEHOLDER,
            f"{t.subject!r} contains {match}: trainings are sent as written, nothing fills it, "
            "and the model would read the braces out.",
            [t.ref],
        )
    tokens = training_tokens(render_block(t.subject, t.instructions))
    if tokens > context.budget_tokens:
        yield Finding(
            Code.TRAINING_OVER_BUDGET,
            f"{t.subject!r} alone needs {tokens} tokens, more than the budget of "
            f"{context.budget_tokens}: it can never be retrieved.",
            [t.ref],
        )


def _pairs(trainings: Sequence[LintTraining], context: LintContext) -> Iterator[Finding]:
    if len(trainings) < 2:
        return
    similarity, kind = _similarities(trainings, context.language)
    texts = [normalised(t.instructions) for t in trainings]
    subjects = [normalised(t.subject) for t in trainings]
    values = [amounts(f"{t.subject} {t.instructions}") for t in trainings]
    for i, j in _candidate_pairs(similarity, RELATED[kind], texts, subjects):
        a, b = trainings[i], trainings[j]
        score = round(float(similarity[i, j]), 3)
        refs = [a.ref, b.ref]
        if texts[i] and texts[i] == texts[j]:
            yield Finding(
                Code.DUPLICATE_TRAINING,
                f"{a.subject!r} and {b.subject!r} have the same instructions.",
                refs,
                1.0,
            )
        elif score >= NEAR_DUPLICATE[kind]:
            yield Finding(
                Code.NEAR_DUPLICATE_TRAINING,
                f"{a.subject!r} and {b.subject!r} say nearly the same (similarity {score}): "
                "merge them, or the model gets the rule twice.",
                refs,
                score,
            )
        if score >= RELATED[kind] or (subjects[i] and subjects[i] == subjects[j]):
            for unit in sorted(values[i].keys() & values[j].keys()):
                only_a, only_b = (
                    values[i][unit] - values[j][unit],
                    values[j][unit] - values[i][unit],
                )
                if only_a and only_b:
                    yield Finding(
                        Code.CONFLICTING_VALUES,
                        f"{a.subject!r} says {_describe(only_a, unit)} where {b.subject!r} says "
                        f"{_describe(only_b, unit)} on the same topic (similarity {score}).",
                        refs,
                        score,
                    )


def _candidate_pairs(
    similarity: np.ndarray[Any, Any], related: float, texts: list[str], subjects: list[str]
) -> list[tuple[int, int]]:
    """The pairs any pair rule can fire on, without visiting all n^2/2 pairs in Python: similar
    enough, or the same instructions, or the same subject."""
    pairs = {(int(i), int(j)) for i, j in np.argwhere(np.triu(similarity >= related, k=1))}
    for keys in (texts, subjects):
        groups: dict[str, list[int]] = {}
        for position, key in enumerate(keys):
            if key:
                groups.setdefault(key, []).append(position)
        for members in groups.values():
            pairs.update(itertools.combinations(members, 2))
    return sorted(pairs)


def _flow(trainings: Sequence[LintTraining], flow: Mapping[str, Any]) -> Iterator[Finding]:
    known = node_ids(flow)
    reachable = reachable_nodes(flow)
    for t in trainings:
        if t.node_id is not None and t.node_id in known and t.node_id not in reachable:
            yield Finding(
                Code.UNREACHABLE_FLOW_NODE,
                f"{t.subject!r} is scoped to the flow node {t.node_id!r}, which no path from "
                f"{flow.get('initial_node_id')!r} reaches: it never reaches the model.",
                [t.ref],
            )
