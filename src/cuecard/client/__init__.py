"""A typed Python client for Cuecard and any Talkover-compatible server.

    from cuecard.client import Client

    with Client("http://127.0.0.1:8000", "talq_...") as cuecard:
        agent = cuecard.agents.create("SupportBot", description="Helps customers.")
        cuecard.trainings.upsert(
            agent.id, node_id="billing/refunds", subject="Refunds", instructions="..."
        )
        cuecard.agents.publish(agent.id)

`AsyncClient` has the same methods, awaitable. This package imports nothing from the server
side of cuecard, so it is safe to use from any application.
"""

from cuecard.client._client import AsyncClient, Client
from cuecard.client._config_models import (
    Action,
    ActionIntegration,
    AdvancedSettingsState,
    CallingState,
    Eligibility,
    InvokeResult,
    PhoneNumber,
    VoiceTemplate,
    VoiceTemplateGroup,
)
from cuecard.client._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    CuecardError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from cuecard.client._models import (
    Agent,
    AgentFlow,
    AgentSettings,
    AgentStatus,
    AgentVersion,
    ConversationMode,
    FlowVersion,
    Page,
    PageMeta,
    PublishState,
    Retrieval,
    RetrievedDocument,
    Training,
    TrainingStatus,
)
from cuecard.client._settings import AGENT_SETTINGS, SettingSpec

__all__ = [
    "AGENT_SETTINGS",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Action",
    "ActionIntegration",
    "AdvancedSettingsState",
    "Agent",
    "AgentFlow",
    "AgentSettings",
    "AgentStatus",
    "AgentVersion",
    "AsyncClient",
    "AuthenticationError",
    "CallingState",
    "Client",
    "ConflictError",
    "ConversationMode",
    "CuecardError",
    "Eligibility",
    "FlowVersion",
    "InvokeResult",
    "NotFoundError",
    "Page",
    "PageMeta",
    "PermissionDeniedError",
    "PhoneNumber",
    "PublishState",
    "RateLimitError",
    "Retrieval",
    "RetrievedDocument",
    "ServerError",
    "SettingSpec",
    "Training",
    "TrainingStatus",
    "ValidationError",
    "VoiceTemplate",
    "VoiceTemplateGroup",
]

# Tracebacks show the public path (cuecard.client.NotFoundError), as httpx does. Models keep
# theirs: pydantic resolves their annotations in the module that defined them.
for _name in __all__:
    _value = globals()[_name]
    if _value in (AsyncClient, Client) or (
        isinstance(_value, type) and issubclass(_value, CuecardError)
    ):
        _value.__module__ = "cuecard.client"
del _name, _value
