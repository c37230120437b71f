"""Action rules: upsert by node_id (the agent goes back to draft), type-specific requirements,
encrypted secrets, and invoking a webhook action for a runtime."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from cuecard.actions import invoke, repository, secrets
from cuecard.actions.integrations import IDENTIFIERS
from cuecard.actions.repository import ActionWithSecrets
from cuecard.actions.schemas import (
    Action,
    ActionCreate,
    ActionStatus,
    ActionType,
    AuthorizationScheme,
    ExecutionMode,
    InvokeRequest,
    InvokeResult,
)
from cuecard.agents.repository import AgentRow
from cuecard.agents.service import mark_draft
from cuecard.audit import service as audit
from cuecard.auth.service import Caller
from cuecard.core.config import Settings
from cuecard.core.db import UnitOfWork, new_id, utcnow
from cuecard.core.errors import AppError, Conflict, NotFound, ValidationFailed
from cuecard.core.validation import validate, validate_with
from cuecard.webhooks.outbox import emit

log = logging.getLogger("cuecard.actions")

AUTHORIZATION = "authorization"
HEADERS = "headers"


class ActionNotFound(NotFound):
    code = "ACTION_NOT_FOUND"
    message = "Action not found"


class ActionInactive(Conflict):
    code = "ACTION_INACTIVE"
    message = "The action is inactive: activate it before a runtime can invoke it."


class ActionNotInvokable(AppError):
    status_code = 422
    code = "ACTION_NOT_INVOKABLE"
    message = (
        "Only webhook and external actions with a url are invoked through Cuecard; the "
        "runtime carries out transfer and hold actions itself."
    )


class ActionSecretsUnreadable(AppError):
    status_code = 409
    code = "ACTION_SECRETS_UNREADABLE"
    message = (
        "The action's stored credentials were encrypted under another CUECARD_SECRET_KEY; "
        "send them again."
    )


_KINDS: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list,), "object": (dict,),
}  # fmt: skip
_WORDS = {
    "string": "a string", "integer": "an integer", "number": "a number",
    "boolean": "true or false", "array": "an array", "object": "an object",
}  # fmt: skip


def _is_a(value: Any, kind: str) -> bool:
    """Whether a JSON value is of an input's type (true is not a number here)."""
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    return isinstance(value, _KINDS.get(kind, (str,)))


def _valid_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def _cross_field_errors(body: dict[str, Any], data: ActionCreate | None,
                        errors: dict[str, list[str]]) -> None:  # fmt: skip
    """The rules that read more than one field (or a catalog), added beside the field errors."""
    kind = data.type if data else body.get("type")

    def missing(name: str) -> bool:
        value = body.get(name)
        return name not in errors and (value is None or (isinstance(value, str) and not value))

    for name in ("url", "authorization_url"):
        value = body.get(name)
        valued = isinstance(value, str) and bool(value.strip())
        if name not in errors and valued and not _valid_url(str(value).strip()):
            errors[name] = [f"The {name.replace('_', ' ')} must be a valid URL."]
    if kind == ActionType.WEBHOOK and missing("url"):
        errors["url"] = ["The url field is required when type is webhook."]
    if kind == ActionType.TRANSFER and missing("transfer_to"):
        errors["transfer_to"] = ["The transfer to field is required when type is transfer."]
    if kind == ActionType.HOLD and missing("hold_duration"):
        errors["hold_duration"] = ["The hold duration field is required when type is hold."]
    if (
        data is not None
        and data.execution_mode is ExecutionMode.POST_CALL
        and data.type is not ActionType.EXTERNAL
    ):
        errors["execution_mode"] = ["The selected execution mode is invalid."]
    if data is not None and data.integration is not None and data.integration.id not in IDENTIFIERS:
        errors["integration.id"] = ["The selected integration id is invalid."]
    if (
        data is not None
        and data.authorization_scheme is AuthorizationScheme.BASIC
        and data.authorization_token is not None
        and ":" not in data.authorization_token
    ):
        errors["authorization_token"] = [
            "The authorization token must be user:password for the basic scheme."
        ]
    for index, item in enumerate(data.inputs or [] if data is not None else []):
        if item.value is not None and not _is_a(item.value, item.type.value):
            attr = f"inputs.{index}.value"
            errors[attr] = [f"The {attr} field must be {_WORDS[item.type.value]}."]
    if data is not None:
        for field, items in (
            ("inputs", [i.name for i in data.inputs or []]),
            ("custom_headers", [h.key.lower() for h in data.custom_headers or []]),
        ):
            seen: set[str] = set()
            key = "name" if field == "inputs" else "key"
            for index, value in enumerate(items):
                if value in seen:
                    errors[f"{field}.{index}.{key}"] = [
                        f"The {field.replace('_', ' ')}.{index}.{key} field has a duplicate value."
                    ]
                seen.add(value)


async def list_actions(uow: UnitOfWork, agent: AgentRow) -> list[Action]:
    return [Action.from_row(row) for row in await repository.for_agent(uow, agent.id)]


async def upsert_action(uow: UnitOfWork, caller: Caller, key: bytes, agent: AgentRow,
                        body: dict[str, Any]) -> tuple[Action, bool]:  # fmt: skip
    """Create the action, or update this agent's action with the same node_id (the agent goes
    back to draft). Optional fields left out keep their stored values, secrets included."""
    errors: dict[str, list[str]] = {}
    data = validate_with(ActionCreate, body, errors)
    _cross_field_errors(body, data, errors)
    if errors or data is None:
        raise ValidationFailed(errors)
    await mark_draft(uow, agent.id)
    cipher = secrets.derive_key(key)
    token = data.authorization_token
    headers = data.custom_headers
    candidate_id = new_id()
    row = await repository.upsert(
        uow,
        {
            "id": candidate_id,
            "agent_id": agent.id,
            "node_id": data.node_id,
            "name": data.name,
            "description": data.description,
            "type": data.type.value,
            "input_schema": None
            if data.inputs is None
            else json.dumps([i.model_dump(exclude_none=True, mode="json") for i in data.inputs]),
            "integration": data.integration.id if data.integration else None,
            "url": data.url,
            "authorization_url": data.authorization_url,
            "authorization_scheme": data.authorization_scheme,
            "authorization_header": data.authorization_header,
            "custom_header_keys": None if headers is None else json.dumps([h.key for h in headers]),
            "authorization_secret": None
            if token is None
            else secrets.encrypt(cipher, token, agent_id=agent.id, purpose=AUTHORIZATION),
            "header_secrets": None
            if headers is None
            else secrets.encrypt(
                cipher,
                json.dumps({h.key: h.value for h in headers}),
                agent_id=agent.id,
                purpose=HEADERS,
            ),
            "speak_on_send": data.speak_on_send,
            "speak_on_receive": data.speak_on_receive,
            "execution_mode": data.execution_mode,
            "hold_duration": data.hold_duration,
            "transfer_to": data.transfer_to,
            "current_status": data.current_status,
            "now": utcnow(),
        },
    )
    action, created = Action.from_row(row), row.id == candidate_id
    # What changed, never a secret: the credentials are left out of the audit entry.
    changes = data.model_dump(mode="json", exclude_none=True,
                              exclude={"authorization_token", "custom_headers"})  # fmt: skip
    await audit.record(uow, caller, "action.created" if created else "action.updated",
                       agent_id=agent.id, target_type="action", target_id=action.id,
                       changes=changes)  # fmt: skip
    await emit(uow, agent.id, "event_action_updated",
               {"action": action.model_dump(mode="json"), "created": created})  # fmt: skip
    return action, created


async def delete_action(uow: UnitOfWork, caller: Caller, agent: AgentRow, action_id: str) -> None:
    await mark_draft(uow, agent.id)
    if not await repository.delete(uow, agent.id, action_id.lower()):
        raise ActionNotFound()  # rolls the draft reset back with it
    await audit.record(uow, caller, "action.deleted", agent_id=agent.id,
                       target_type="action", target_id=action_id.lower())  # fmt: skip
    await emit(uow, agent.id, "event_action_updated",
               {"action": {"id": action_id.lower()}, "deleted": True})  # fmt: skip


def _arguments_errors(inputs: list[dict[str, Any]], given: dict[str, Any]
                      ) -> tuple[dict[str, Any], dict[str, list[str]]]:  # fmt: skip
    """The arguments checked against the action's inputs, with its fixed values added."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for item in inputs:
        name = str(item["name"])
        if item.get("value") is not None:
            out[name] = item["value"]
            continue
        attr = f"arguments.{name}"
        value = given.get(name)
        if value is None:
            if item.get("required"):
                errors[attr] = [f"The {attr} field is required."]
            continue
        kind = str(item.get("type") or "string")
        if not _is_a(value, kind):
            errors[attr] = [f"The {attr} field must be {_WORDS.get(kind, 'a string')}."]
            continue
        out[name] = value
    return out, errors


async def invoke_action(
    uow: UnitOfWork, settings: Settings, key: bytes, agent: AgentRow, action_id: str,
    body: dict[str, Any],
) -> InvokeResult:  # fmt: skip
    """Run a webhook action with the LLM's arguments, the stored auth and headers; the caller
    gets the target's status and body and speak_on_receive rendered."""
    request = validate(InvokeRequest, body)
    row = await repository.with_secrets(uow, agent.id, action_id.lower())
    if row is None:
        raise ActionNotFound()
    if row.current_status != ActionStatus.ACTIVE:
        raise ActionInactive()
    if row.type not in (ActionType.WEBHOOK, ActionType.EXTERNAL) or not row.url:
        raise ActionNotInvokable()
    arguments, errors = _arguments_errors(json.loads(row.input_schema), request.arguments)
    if errors:
        raise ValidationFailed(errors)
    headers = _headers(secrets.derive_key(key), row)
    # Nothing more to read: give the database connection back before waiting on the target.
    await uow.close()
    result = await invoke.call(
        url=row.url,
        arguments=arguments,
        headers=headers,
        timeout_seconds=settings.action_timeout_seconds,
        max_bytes=settings.action_max_response_bytes,
        allow_private=settings.allow_private_targets,
    )
    log.info(
        "action %s of agent %s invoked: HTTP %s in %.0f ms",
        row.id, agent.id, result.status, result.duration_ms,
    )  # fmt: skip
    speak = None
    if result.ok and row.speak_on_receive:
        speak = invoke.render(row.speak_on_receive, result.body, arguments)
    return InvokeResult(
        ok=result.ok,
        status=result.status,
        body=result.body,
        speak=speak,
        duration_ms=round(result.duration_ms, 1),
    )


def _headers(cipher: bytes, row: ActionWithSecrets) -> dict[str, str]:
    """The request headers the action's stored credentials make (decrypted only here)."""
    headers: dict[str, str] = {}
    try:
        if row.header_secrets:
            stored = secrets.decrypt(
                cipher, row.header_secrets, agent_id=row.agent_id, purpose=HEADERS
            )
            headers.update(json.loads(stored))
        token = None
        if row.authorization_secret:
            token = secrets.decrypt(
                cipher, row.authorization_secret, agent_id=row.agent_id,
                purpose=AUTHORIZATION,
            )  # fmt: skip
    except secrets.SecretUnreadable:
        raise ActionSecretsUnreadable() from None
    scheme = row.authorization_scheme
    if token is not None:
        if scheme == AuthorizationScheme.BEARER:
            headers["Authorization"] = f"Bearer {token}"
        elif scheme == AuthorizationScheme.BASIC:
            headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
        elif scheme == AuthorizationScheme.API_KEY:
            headers[row.authorization_header or "X-API-Key"] = token
    return headers
