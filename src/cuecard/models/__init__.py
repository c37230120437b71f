"""All tables, imported once so Alembic sees the whole schema."""

from cuecard.models.agent import Agent
from cuecard.models.agent_version import AgentVersion
from cuecard.models.api_token import ApiToken
from cuecard.models.base import Base
from cuecard.models.environment import Environment
from cuecard.models.idempotency_key import IdempotencyKey
from cuecard.models.training import Training

__all__ = ["Agent", "AgentVersion", "ApiToken", "Base", "Environment", "IdempotencyKey", "Training"]
