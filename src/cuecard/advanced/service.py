"""Advanced settings and optimized-costs eligibility.

The call count comes from `calls_in_window`, the one place that will read the calls runtimes
report once Cuecard records them; until then it is 0.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cuecard.advanced.schemas import AdvancedSettingsState, AdvancedSettingsUpdate, Eligibility
from cuecard.agent_api.schemas import AdvancedSettings
from cuecard.agents import repository as agents_repository
from cuecard.agents.repository import AgentRow
from cuecard.agents.service import still_there
from cuecard.audit import service as audit
from cuecard.auth.service import Caller
from cuecard.core.config import Settings
from cuecard.core.db import UnitOfWork, utcnow
from cuecard.core.errors import AppError


class OptimizedCostsNotEligible(AppError):
    status_code = 422
    code = "OPTIMIZED_COSTS_NOT_ELIGIBLE"
    message = "Agent does not meet the call volume threshold for optimized costs"


async def calls_in_window(uow: UnitOfWork, agent_id: str, since: datetime) -> int:
    """Calls of the agent since `since`, as the runtimes reported them (calls/)."""
    row = await uow.one(
        "SELECT COUNT(*) AS n FROM calls WHERE agent_id = :agent_id AND created_at >= :since",
        {"agent_id": agent_id, "since": since},
    )
    return int(row["n"]) if row else 0


async def eligibility(uow: UnitOfWork, settings: Settings, agent: AgentRow) -> Eligibility:
    days = settings.optimized_costs_threshold_days
    required = settings.optimized_costs_required_calls
    calls = await calls_in_window(uow, agent.id, utcnow() - timedelta(days=days))
    eligible = calls >= required
    return Eligibility(
        eligible=eligible,
        current_calls=calls,
        required_calls=required,
        threshold_days=days,
        calls_remaining=None if eligible else required - calls,
    )


async def update_advanced_settings(
    uow: UnitOfWork,
    caller: Caller,
    settings: Settings,
    agent: AgentRow,
    data: AdvancedSettingsUpdate,
) -> AdvancedSettingsState:
    """Turning the cache on needs eligibility; turning it off is always allowed. A change is a
    change of the agent: back to draft, like every other setting."""
    row = agent
    if data.enable_initial_message_cache is not None:
        if data.enable_initial_message_cache:
            found = await eligibility(uow, settings, agent)
            if not found.eligible:
                raise OptimizedCostsNotEligible(
                    extra={
                        "details": {
                            "current_calls": found.current_calls,
                            "required_calls": found.required_calls,
                            "threshold_days": found.threshold_days,
                        }
                    }
                )
        changes = {"enable_initial_message_cache": data.enable_initial_message_cache}
        row = still_there(
            await agents_repository.update_settings_and_reset_draft(
                uow, agent.id, changes, utcnow()
            )
        )
        await audit.record(
            uow,
            caller,
            "agent.advanced_settings_updated",
            agent_id=agent.id,
            target_type="agent",
            target_id=agent.id,
            changes=audit.changed(agent, changes),
        )
    return AdvancedSettingsState(
        id=row.id,
        name=row.name,
        advanced_settings=AdvancedSettings(
            enable_initial_message_cache=bool(row.enable_initial_message_cache)
        ),
        current_status=row.current_status,
        updated_at=row.updated_at,
    )
