"""The action-integration catalog (GET /api/v1/action-integrations).

Cuecard runs no integration itself: an action names one (`integration: {"id": ...}`) so the
runtime that executes it knows what to do; webhooks are what Cuecard invokes.
"""

from __future__ import annotations

from cuecard.actions.schemas import ActionIntegration

INTEGRATIONS = (
    ActionIntegration(
        identifier="calendar",
        display_name="Calendar",
        description="Create events on a connected calendar during a call.",
        category="scheduling",
        icon_url=None,
    ),
    ActionIntegration(
        identifier="email-calendar",
        display_name="Email + Calendar Invite",
        description="Send a calendar invite via email after the call.",
        category="scheduling",
        icon_url=None,
    ),
    ActionIntegration(
        identifier="crm",
        display_name="CRM Sync",
        description="Push call summary and outcome to your CRM.",
        category="data",
        icon_url=None,
    ),
)
IDENTIFIERS = frozenset(i.identifier for i in INTEGRATIONS)
