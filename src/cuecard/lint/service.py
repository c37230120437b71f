"""Lint an agent's draft, published version or version N (GET .../lint)."""

from __future__ import annotations

import asyncio

from cuecard.agent_tests import repository as tests_repository
from cuecard.agents.repository import AgentRow
from cuecard.core.db import UnitOfWork
from cuecard.lint.check import lint_compiled
from cuecard.lint.rules import Severity
from cuecard.lint.schemas import LintFinding, LintReport
from cuecard.runtime.cache import CompiledCache
from cuecard.runtime.retrieval import prepare_index
from cuecard.runtime.service import resolve


async def lint_agent(
    uow: UnitOfWork, cache: CompiledCache, agent: AgentRow, selector: str | int
) -> LintReport:
    resolved = await resolve(uow, cache, agent, selector)
    tests = await tests_repository.definitions(uow, agent.id)
    await prepare_index(resolved.compiled, cache.vectors)
    # Seconds of CPU for a thousand trainings (pairs, embeddings): off the event loop.
    findings = await asyncio.to_thread(lint_compiled, resolved.compiled, tests)
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    return LintReport(
        version=resolved.version,
        config_hash=resolved.compiled.config_hash,
        errors=errors,
        warnings=len(findings) - errors,
        findings=[LintFinding.of(f) for f in findings],
    )
