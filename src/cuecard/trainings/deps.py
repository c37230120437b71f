"""If-Match on training writes: trainings have no single-item read in the Talkover API, so the
ETag they are checked against is the one of their collection, GET .../trainings (unfiltered)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cuecard.agents.deps import ScopedAgent
from cuecard.core.etag import require_match
from cuecard.core.routing import Uow
from cuecard.trainings.service import list_trainings


async def _trainings_unchanged(request: Request, uow: Uow, agent: ScopedAgent) -> None:
    limit = request.app.state.settings.max_trainings_per_agent
    await require_match(
        request, uow, f"agent:{agent.id}", lambda: list_trainings(uow, agent, None, limit=limit)
    )


TrainingsUnchanged = Annotated[None, Depends(_trainings_unchanged)]
