"""All tables, imported once so Alembic sees the whole schema."""

from cuecard.models.action import Action
from cuecard.models.agent import Agent
from cuecard.models.agent_flow import AgentFlow
from cuecard.models.agent_test import AgentTest, AgentTestRun
from cuecard.models.agent_version import AgentVersion
from cuecard.models.api_token import ApiToken
from cuecard.models.audit_entry import AuditEntry
from cuecard.models.base import Base
from cuecard.models.call import Call, CallEvent, CallTurn, CallTurnTraining
from cuecard.models.environment import Environment
from cuecard.models.idempotency_key import IdempotencyKey
from cuecard.models.phone_number import AgentPhoneNumber, PhoneNumber
from cuecard.models.text_embedding import TextEmbedding
from cuecard.models.training import Training
from cuecard.models.webhook import Webhook, WebhookLog

__all__ = [
    "Action",
    "Agent",
    "AgentFlow",
    "AgentPhoneNumber",
    "AgentTest",
    "AgentTestRun",
    "AgentVersion",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Call",
    "CallEvent",
    "CallTurn",
    "CallTurnTraining",
    "Environment",
    "IdempotencyKey",
    "PhoneNumber",
    "TextEmbedding",
    "Training",
    "Webhook",
    "WebhookLog",
]
