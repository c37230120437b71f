from __future__ import annotations

from pydantic import BaseModel

from cuecard.core.validation import Query
from cuecard.lint.rules import Code, Finding, Severity
from cuecard.runtime.schemas import VersionSelector


class LintQuery(Query):
    version: VersionSelector = "draft"


class LintFinding(BaseModel):
    code: Code
    severity: Severity
    training_ids: list[str]
    message: str
    similarity: float | None = None

    @classmethod
    def of(cls, finding: Finding) -> LintFinding:
        return cls(
            code=finding.code,
            severity=finding.severity,
            training_ids=finding.refs,
            message=finding.message,
            similarity=finding.similarity,
        )


class LintReport(BaseModel):
    version: int | str
    config_hash: str
    errors: int
    warnings: int
    findings: list[LintFinding]
