from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from cuecard.auth.deps import Reader, Writer
from cuecard.core.routing import (
    AppSettings,
    UnitOfWorkRoute,
    Uow,
    body_doc,
    json_body,
    query_doc,
    query_params,
)
from cuecard.core.schemas import Envelope, Message, MessageEnvelope
from cuecard.webhooks import service
from cuecard.webhooks.deps import SecretKey, WebhookAgent
from cuecard.webhooks.schemas import (
    LogListQuery,
    LogPage,
    LogPagination,
    RetryQueued,
    TestResult,
    Webhook,
    WebhookCreate,
    WebhookList,
    WebhookUpdate,
)

router = APIRouter(
    prefix="/api/v1/agents/{agent_id}/webhooks", tags=["webhooks"], route_class=UnitOfWorkRoute
)


@router.get("")
async def list_agent_webhooks(
    uow: Uow, caller: Reader, agent: WebhookAgent
) -> Envelope[WebhookList]:
    return Envelope(data=await service.list_webhooks(uow, agent))


@router.post("", openapi_extra=body_doc(WebhookCreate))
async def create_webhook(
    uow: Uow,
    caller: Writer,
    agent: WebhookAgent,
    settings: AppSettings,
    key: SecretKey,
    body: Annotated[WebhookCreate, json_body(WebhookCreate)],
) -> MessageEnvelope[Webhook]:
    webhook = await service.create_webhook(uow, caller, settings, key, agent, body)
    return MessageEnvelope(message="Webhook created successfully", data=webhook)


@router.get("/{webhook_id}")
async def get_webhook_details(
    uow: Uow, caller: Reader, agent: WebhookAgent, webhook_id: str
) -> Envelope[Webhook]:
    return Envelope(data=await service.get_webhook(uow, agent, webhook_id))


@router.put("/{webhook_id}", openapi_extra=body_doc(WebhookUpdate))
async def update_webhook(
    uow: Uow,
    caller: Writer,
    agent: WebhookAgent,
    webhook_id: str,
    settings: AppSettings,
    key: SecretKey,
    body: Annotated[WebhookUpdate, json_body(WebhookUpdate)],
) -> MessageEnvelope[Webhook]:
    webhook = await service.update_webhook(uow, caller, settings, key, agent, webhook_id, body)
    return MessageEnvelope(message="Webhook updated successfully", data=webhook)


@router.delete("/{webhook_id}")
async def delete_webhook(uow: Uow, caller: Writer, agent: WebhookAgent, webhook_id: str) -> Message:
    await service.delete_webhook(uow, caller, agent, webhook_id)
    return Message(message="Webhook deleted successfully")


@router.patch("/{webhook_id}/toggle")
async def toggle_webhook_status(
    uow: Uow, caller: Writer, agent: WebhookAgent, webhook_id: str
) -> MessageEnvelope[Webhook]:
    webhook = await service.toggle_webhook(uow, caller, agent, webhook_id)
    message = "Webhook enabled" if webhook.enabled else "Webhook disabled"
    return MessageEnvelope(message=message, data=webhook)


@router.post("/{webhook_id}/test")
async def test_webhook(
    uow: Uow,
    caller: Writer,
    agent: WebhookAgent,
    webhook_id: str,
    settings: AppSettings,
    key: SecretKey,
) -> MessageEnvelope[TestResult]:
    result = await service.test_webhook(uow, settings, key, agent, webhook_id)
    return MessageEnvelope(message="Test webhook sent successfully", data=result)


@router.get("/{webhook_id}/logs", openapi_extra=query_doc(LogListQuery))
async def list_webhook_logs(
    uow: Uow,
    caller: Reader,
    agent: WebhookAgent,
    webhook_id: str,
    query: Annotated[LogListQuery, query_params(LogListQuery)],
) -> LogPage:
    logs, total = await service.list_logs(uow, agent, webhook_id, query.page, query.per_page)
    last_page = max(1, -(-total // query.per_page))
    return LogPage(
        data=logs,
        pagination=LogPagination(
            current_page=query.page, per_page=query.per_page, total=total, last_page=last_page
        ),
    )


@router.post("/{webhook_id}/logs/{log_id}/retry")
async def retry_webhook_log(
    uow: Uow,
    caller: Writer,
    agent: WebhookAgent,
    webhook_id: str,
    log_id: str,
    settings: AppSettings,
) -> MessageEnvelope[RetryQueued]:
    queued = await service.retry_log(uow, caller, settings, agent, webhook_id, log_id)
    return MessageEnvelope(message="Webhook retry queued successfully", data=queued)
