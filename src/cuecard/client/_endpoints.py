"""Every endpoint as a `Call`: path, body, safety to repeat, and how to read the answer.

Written once here, sent by both `Client` and `AsyncClient`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import TypeAdapter

from cuecard.client._base import Call
from cuecard.client._models import (
    Agent,
    AgentFlow,
    AgentVersion,
    FlowVersion,
    Page,
    PublishState,
    Retrieval,
    Training,
)

API = "/api/v1"

_trainings = TypeAdapter(list[Training])


def _seg(value: str | int) -> str:
    # Ids come from users; quoting keeps "../x" from walking to another route.
    return quote(str(value), safe="")


def _agent(agent_id: str) -> str:
    return f"{API}/agents/{_seg(agent_id)}"


def _data(body: Any) -> Any:
    if isinstance(body, dict) and "data" in body:
        return body["data"]
    raise ValueError("the response has no `data`")


def _unwrap(body: Any) -> Any:
    """The `data` of an envelope, or the body itself for endpoints that answer bare."""
    if isinstance(body, dict) and body.get("success") is True and "data" in body:
        return body["data"]
    return body


def _nothing(body: Any) -> None:
    return None


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# Agents


def create_agent(name: str, settings: dict[str, Any]) -> Call[Agent]:
    return Call(
        "POST",
        f"{API}/agents",
        lambda body: Agent.model_validate(_data(body)),
        json={"name": name, **settings},
    )


def get_agent(agent_id: str) -> Call[Agent]:
    return Call(
        "GET", _agent(agent_id), lambda body: Agent.model_validate(_data(body)), idempotent=True
    )


def list_agents(
    page: int, per_page: int, status: str | None, direction: str | None, search: str | None
) -> Call[Page[Agent]]:
    params = _drop_none(
        {
            "page": page,
            "per_page": per_page,
            "status": status,
            "direction": direction,
            "search": search,
        }
    )
    return Call(
        "GET",
        f"{API}/agents",
        Page[Agent].model_validate,
        params=params,
        idempotent=True,
    )


def update_agent(agent_id: str, changes: dict[str, Any]) -> Call[Agent]:
    return Call(
        "PATCH", _agent(agent_id), lambda body: Agent.model_validate(_data(body)), json=changes
    )


def delete_agent(agent_id: str) -> Call[None]:
    return Call("DELETE", _agent(agent_id), _nothing, idempotent=True)


def publish_agent(agent_id: str) -> Call[PublishState]:
    return Call(
        "POST",
        f"{_agent(agent_id)}/publish",
        lambda body: PublishState.model_validate(_data(body)),
    )


def unpublish_agent(agent_id: str) -> Call[PublishState]:
    return Call(
        "POST",
        f"{_agent(agent_id)}/unpublish",
        lambda body: PublishState.model_validate(_data(body)),
    )


# Trainings


def list_trainings(
    agent_id: str, current_status: str | None, page: int | None
) -> Call[tuple[list[Training], int]]:
    """One page of trainings and the last page number.

    The documented endpoint answers every training at once; some compatible servers paginate
    (with `meta`), so the client follows pages when it sees them.
    """

    def parse(body: Any) -> tuple[list[Training], int]:
        meta = body.get("meta") if isinstance(body, dict) else None
        last = int(meta["last_page"]) if isinstance(meta, dict) and "last_page" in meta else 1
        return _trainings.validate_python(_data(body)), last

    params = _drop_none({"current_status": current_status, "page": page})
    return Call(
        "GET", f"{_agent(agent_id)}/trainings", parse, params=params or None, idempotent=True
    )


def page_trainings(
    agent_id: str, page: int, per_page: int, current_status: str | None
) -> Call[Page[Training]]:
    params = _drop_none({"page": page, "per_page": per_page, "current_status": current_status})
    return Call(
        "GET",
        f"{_agent(agent_id)}/trainings",
        Page[Training].model_validate,
        params=params,
        idempotent=True,
    )


def upsert_training(agent_id: str, fields: dict[str, Any]) -> Call[Training]:
    body = _drop_none(fields)
    return Call(
        "POST",
        f"{_agent(agent_id)}/trainings",
        lambda answer: Training.model_validate(_data(answer)),
        json=body,
        # With a node_id the server updates the same row on a repeat; without one, a repeat
        # would create a duplicate.
        idempotent=body.get("node_id") is not None,
    )


def delete_training(agent_id: str, training_id: str) -> Call[None]:
    return Call(
        "DELETE", f"{_agent(agent_id)}/trainings/{_seg(training_id)}", _nothing, idempotent=True
    )


# Versions and runtime (Cuecard)


def list_versions(agent_id: str, page: int, per_page: int) -> Call[Page[AgentVersion]]:
    return Call(
        "GET",
        f"{_agent(agent_id)}/versions",
        Page[AgentVersion].model_validate,
        params={"page": page, "per_page": per_page},
        idempotent=True,
    )


def get_version(agent_id: str, version: int | str) -> Call[AgentVersion]:
    return Call(
        "GET",
        f"{_agent(agent_id)}/versions/{_seg(version)}",
        lambda body: AgentVersion.model_validate(_data(body)),
        idempotent=True,
    )


def restore_version(agent_id: str, version: int) -> Call[dict[str, Any]]:
    return Call("POST", f"{_agent(agent_id)}/versions/{_seg(version)}/restore", _unwrap)


def diff(agent_id: str, from_: str | int, to: str | int) -> Call[dict[str, Any]]:
    return Call(
        "GET",
        f"{_agent(agent_id)}/diff",
        _unwrap,
        params={"from": str(from_), "to": str(to)},
        idempotent=True,
    )


def runtime_config(agent_id: str, version: str | int, format: str) -> Call[dict[str, Any]]:
    return Call(
        "GET",
        f"{_agent(agent_id)}/runtime-config",
        _unwrap,
        params={"version": str(version), "format": format},
        idempotent=True,
    )


def retrieve(agent_id: str, request: dict[str, Any]) -> Call[Retrieval]:
    return Call(
        "POST",
        f"{_agent(agent_id)}/runtime/retrieve",
        lambda body: Retrieval.model_validate(_unwrap(body)),
        json=_drop_none(request),
    )


def test_conversation(agent_id: str, request: dict[str, Any]) -> Call[dict[str, Any]]:
    return Call(
        "POST",
        f"{_agent(agent_id)}/test-conversations",
        _unwrap,
        json=_drop_none(request),
    )


# Flows (Talkover's conversation flow pages)

_flow_versions = TypeAdapter(list[FlowVersion])


def get_flow(agent_id: str) -> Call[AgentFlow]:
    return Call(
        "GET",
        f"{_agent(agent_id)}/flow",
        lambda body: AgentFlow.model_validate(_data(body)),
        idempotent=True,
    )


def update_flow(agent_id: str, body: dict[str, Any]) -> Call[AgentFlow]:
    return Call(
        "PUT",
        f"{_agent(agent_id)}/flow",
        lambda answer: AgentFlow.model_validate(_data(answer)),
        json=body,
    )


def validate_flow(agent_id: str, flow_config: dict[str, Any]) -> Call[None]:
    return Call(
        "POST",
        f"{_agent(agent_id)}/flow/validate",
        _nothing,
        json={"flow_config": flow_config},
        idempotent=True,
    )


def list_flow_versions(agent_id: str) -> Call[list[FlowVersion]]:
    return Call(
        "GET",
        f"{_agent(agent_id)}/flow/versions",
        lambda body: _flow_versions.validate_python(_data(body)["versions"]),
        idempotent=True,
    )


def get_flow_version(agent_id: str, flow_version_id: str) -> Call[FlowVersion]:
    return Call(
        "GET",
        f"{_agent(agent_id)}/flow/versions/{_seg(flow_version_id)}",
        lambda body: FlowVersion.model_validate(_data(body)),
        idempotent=True,
    )


def test_run(agent_id: str, request: dict[str, Any]) -> Call[dict[str, Any]]:
    return Call("POST", f"{_agent(agent_id)}/test-runs", _unwrap, json=_drop_none(request))


def lint(agent_id: str, version: str | int) -> Call[dict[str, Any]]:
    return Call(
        "GET",
        f"{_agent(agent_id)}/lint",
        _unwrap,
        params={"version": str(version)},
        idempotent=True,
    )
