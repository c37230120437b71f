"""`Client` and `AsyncClient`: the same methods, blocking or awaitable.

Each method builds a `Call` (see `_endpoints`) and hands it to the client's send loop, which
adds auth, maps errors to exceptions and retries what is safe to retry.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar, Unpack

import httpx

from cuecard.client import _endpoints as ep
from cuecard.client._base import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Call,
    RetryPolicy,
    decode_success,
    default_headers,
    error_from_response,
    resolve_config,
    transport_error,
)
from cuecard.client._config import Actions, AgentConfig, AsyncActions, AsyncAgentConfig
from cuecard.client._exceptions import CuecardError
from cuecard.client._models import (
    Agent,
    AgentFlow,
    AgentSettings,
    AgentStatus,
    AgentVersion,
    ConversationMode,
    FlowVersion,
    Page,
    PublishState,
    Retrieval,
    Training,
    TrainingStatus,
)

__all__ = ["AsyncClient", "Client"]

T = TypeVar("T")
Timeout = float | httpx.Timeout | None
Version = Literal["published", "draft"] | int
ConfigFormat = Literal["native", "pipecat-flows", "openai-messages"]
Messages = Sequence[Mapping[str, str]]


class _Base:
    def __init__(
        self,
        base_url: str | None,
        token: str | None,
        timeout: Timeout,
        max_retries: int,
        backoff_factor: float,
    ) -> None:
        self.base_url, token = resolve_config(base_url, token)
        self._headers = default_headers(token)
        self._timeout = timeout
        self._retry = RetryPolicy(max_retries, backoff_factor)

    def __repr__(self) -> str:  # never the token
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _attempt_failed(
        self, call: Call[Any], attempt: int, error: CuecardError, response: httpx.Response | None
    ) -> float:
        """How long to wait before the next attempt; raises `error` when there is none."""
        wait = self._retry.delay(call, attempt, error, response)
        if wait is None:
            raise error
        return wait


class Client(_Base):
    """A blocking client for a Cuecard (or any Talkover-compatible) server.

    `base_url` and `token` default to the CUECARD_URL and CUECARD_TOKEN environment variables.
    Pass `http_client` to bring your own `httpx.Client` (proxies, custom transports); the
    client then leaves closing it to you. Use it as a context manager, or call `close()`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.Client | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_factor: float = DEFAULT_BACKOFF,
    ) -> None:
        super().__init__(base_url, token, timeout, max_retries, backoff_factor)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client()
        self.agents = Agents(self)
        self.trainings = Trainings(self)
        self.versions = Versions(self)
        self.runtime = Runtime(self)
        self.flows = Flows(self)
        self.agent_config = AgentConfig(self._send)
        self.actions = Actions(self._send)

    def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            response = None
            try:
                response = self._http.request(
                    call.method,
                    self.base_url + call.path,
                    params=call.params,
                    json=call.json,
                    headers=call.headers(self._headers),
                    timeout=self._timeout,
                )
            except httpx.TransportError as exc:
                error: CuecardError = transport_error(exc, call)
            else:
                if response.is_success:
                    return decode_success(call, response)
                error = error_from_response(response)
            time.sleep(self._attempt_failed(call, attempt, error, response))
            attempt += 1

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_Base):
    """`Client`, awaitable. Use `async with`, or `await aclose()`."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.AsyncClient | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_factor: float = DEFAULT_BACKOFF,
    ) -> None:
        super().__init__(base_url, token, timeout, max_retries, backoff_factor)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient()
        self.agents = AsyncAgents(self)
        self.trainings = AsyncTrainings(self)
        self.versions = AsyncVersions(self)
        self.runtime = AsyncRuntime(self)
        self.flows = AsyncFlows(self)
        self.agent_config = AsyncAgentConfig(self._send)
        self.actions = AsyncActions(self._send)

    async def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            response = None
            try:
                response = await self._http.request(
                    call.method,
                    self.base_url + call.path,
                    params=call.params,
                    json=call.json,
                    headers=call.headers(self._headers),
                    timeout=self._timeout,
                )
            except httpx.TransportError as exc:
                error: CuecardError = transport_error(exc, call)
            else:
                if response.is_success:
                    return decode_success(call, response)
                error = error_from_response(response)
            await asyncio.sleep(self._attempt_failed(call, attempt, error, response))
            attempt += 1

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _training_fields(
    subject: str,
    instructions: str,
    node_id: str | None,
    current_status: TrainingStatus | None,
    position: int | None,
    pinned: bool | None,
) -> dict[str, Any]:
    return {
        "node_id": node_id,
        "subject": subject,
        "instructions": instructions,
        "current_status": current_status,
        "position": position,
        "pinned": pinned,
    }


def _update_fields(name: str | None, changes: AgentSettings) -> dict[str, Any]:
    return {**({"name": name} if name is not None else {}), **changes}


def _retrieve_request(
    messages: Messages,
    version: Version | None,
    node_id: str | None,
    top_k: int | None,
    budget_tokens: int | None,
) -> dict[str, Any]:
    return {
        "messages": [dict(m) for m in messages],
        "version": version,
        "node_id": node_id,
        "top_k": top_k,
        "budget_tokens": budget_tokens,
    }


# Sync resources


class Agents:
    def __init__(self, client: Client) -> None:
        self._send = client._send

    def create(self, name: str, **settings: Unpack[AgentSettings]) -> Agent:
        return self._send(ep.create_agent(name, dict(settings)))

    def get(self, agent_id: str) -> Agent:
        return self._send(ep.get_agent(agent_id))

    def list(
        self,
        *,
        status: AgentStatus | None = None,
        direction: Literal["inbound", "outbound"] | None = None,
        search: str | None = None,
        per_page: int = 100,
    ) -> Iterator[Agent]:
        """Every matching agent, fetching pages as the iteration reaches them."""
        page = 1
        while True:
            result = self.list_page(
                page=page, per_page=per_page, status=status, direction=direction, search=search
            )
            yield from result.data
            if page >= result.meta.last_page or not result.data:
                return
            page += 1

    def list_page(
        self,
        *,
        page: int = 1,
        per_page: int = 20,
        status: AgentStatus | None = None,
        direction: Literal["inbound", "outbound"] | None = None,
        search: str | None = None,
    ) -> Page[Agent]:
        return self._send(ep.list_agents(page, per_page, status, direction, search))

    def update(
        self, agent_id: str, *, name: str | None = None, **changes: Unpack[AgentSettings]
    ) -> Agent:
        """Change settings (PATCH, a Cuecard extension). The agent goes back to draft."""
        return self._send(ep.update_agent(agent_id, _update_fields(name, changes)))

    def delete(self, agent_id: str) -> None:
        self._send(ep.delete_agent(agent_id))

    def publish(self, agent_id: str) -> PublishState:
        return self._send(ep.publish_agent(agent_id))

    def unpublish(self, agent_id: str) -> PublishState:
        return self._send(ep.unpublish_agent(agent_id))


class Trainings:
    def __init__(self, client: Client) -> None:
        self._send = client._send

    def list(
        self, agent_id: str, *, current_status: TrainingStatus | None = None
    ) -> list[Training]:
        trainings, last = self._send(ep.list_trainings(agent_id, current_status, None))
        for page in range(2, last + 1):
            more, _ = self._send(ep.list_trainings(agent_id, current_status, page))
            trainings.extend(more)
        return trainings

    def list_page(
        self,
        agent_id: str,
        *,
        page: int = 1,
        per_page: int = 20,
        current_status: TrainingStatus | None = None,
    ) -> Page[Training]:
        """One page of the agent's trainings (Cuecard), oldest first, with the total in `meta`."""
        return self._send(ep.page_trainings(agent_id, page, per_page, current_status))

    def upsert(
        self,
        agent_id: str,
        *,
        subject: str,
        instructions: str,
        node_id: str | None = None,
        current_status: TrainingStatus | None = None,
        position: int | None = None,
        pinned: bool | None = None,
    ) -> Training:
        """Create a training, or update the agent's training with this node_id.

        Fields left as None are not sent: an update keeps their stored values.
        """
        fields = _training_fields(subject, instructions, node_id, current_status, position, pinned)
        return self._send(ep.upsert_training(agent_id, fields))

    def delete(self, agent_id: str, training_id: str) -> None:
        self._send(ep.delete_training(agent_id, training_id))


class Versions:
    """Published versions of an agent (Cuecard)."""

    def __init__(self, client: Client) -> None:
        self._send = client._send

    def list(self, agent_id: str, *, per_page: int = 100) -> Iterator[AgentVersion]:
        """Every version, newest first."""
        page = 1
        while True:
            result = self.list_page(agent_id, page=page, per_page=per_page)
            yield from result.data
            if page >= result.meta.last_page or not result.data:
                return
            page += 1

    def list_page(self, agent_id: str, *, page: int = 1, per_page: int = 20) -> Page[AgentVersion]:
        return self._send(ep.list_versions(agent_id, page, per_page))

    def get(self, agent_id: str, version: int) -> AgentVersion:
        return self._send(ep.get_version(agent_id, version))

    def restore(self, agent_id: str, version: int) -> dict[str, Any]:
        """Make the draft equal to `version`; publishes nothing."""
        return self._send(ep.restore_version(agent_id, version))

    def diff(
        self, agent_id: str, from_version: Version = "published", to_version: Version = "draft"
    ) -> dict[str, Any]:
        return self._send(ep.diff(agent_id, from_version, to_version))


class Runtime:
    """What a voice runtime loads (Cuecard)."""

    def __init__(self, client: Client) -> None:
        self._send = client._send

    def config(
        self, agent_id: str, *, version: Version = "published", format: ConfigFormat = "native"
    ) -> dict[str, Any]:
        return self._send(ep.runtime_config(agent_id, version, format))

    def retrieve(
        self,
        agent_id: str,
        messages: Messages,
        *,
        version: Version | None = None,
        node_id: str | None = None,
        top_k: int | None = None,
        budget_tokens: int | None = None,
    ) -> Retrieval:
        request = _retrieve_request(messages, version, node_id, top_k, budget_tokens)
        return self._send(ep.retrieve(agent_id, request))

    def test_conversation(
        self,
        agent_id: str,
        messages: Messages,
        *,
        version: Version = "draft",
        node_id: str | None = None,
    ) -> dict[str, Any]:
        request = {"messages": [dict(m) for m in messages], "version": version, "node_id": node_id}
        return self._send(ep.test_conversation(agent_id, request))

    def test_run(
        self,
        agent_id: str,
        *,
        version: Version = "draft",
        tests: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Run the agent's tests (the stored ones, or `tests`); see docs/testing-trainings.md."""
        return self._send(ep.test_run(agent_id, {"version": version, "tests": tests}))

    def lint(self, agent_id: str, *, version: Version = "draft") -> dict[str, Any]:
        return self._send(ep.lint(agent_id, version))


def _flow_body(
    conversation_mode: ConversationMode, flow_config: Mapping[str, Any] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"conversation_mode": conversation_mode}
    if flow_config is not None:
        body["flow_config"] = dict(flow_config)
    return body


class Flows:
    """An agent's conversation flow (Talkover's get/update/validate/list flow versions)."""

    def __init__(self, client: Client) -> None:
        self._send = client._send

    def get(self, agent_id: str) -> AgentFlow:
        return self._send(ep.get_flow(agent_id))

    def update(
        self,
        agent_id: str,
        conversation_mode: ConversationMode,
        flow_config: Mapping[str, Any] | None = None,
    ) -> AgentFlow:
        """Save a new flow version; the agent's status does not change."""
        return self._send(ep.update_flow(agent_id, _flow_body(conversation_mode, flow_config)))

    def validate(self, agent_id: str, flow_config: Mapping[str, Any]) -> None:
        """Raises ValidationError (`errors["body"]` lists the problems) unless the flow is valid."""
        self._send(ep.validate_flow(agent_id, dict(flow_config)))

    def versions(self, agent_id: str) -> list[FlowVersion]:
        """Every save, newest first (the newest 100)."""
        return self._send(ep.list_flow_versions(agent_id))

    def version(self, agent_id: str, flow_version_id: str) -> FlowVersion:
        """One save with its flow_config."""
        return self._send(ep.get_flow_version(agent_id, flow_version_id))


# Async resources: the same surface, awaitable.


class AsyncAgents:
    def __init__(self, client: AsyncClient) -> None:
        self._send = client._send

    async def create(self, name: str, **settings: Unpack[AgentSettings]) -> Agent:
        return await self._send(ep.create_agent(name, dict(settings)))

    async def get(self, agent_id: str) -> Agent:
        return await self._send(ep.get_agent(agent_id))

    async def list(
        self,
        *,
        status: AgentStatus | None = None,
        direction: Literal["inbound", "outbound"] | None = None,
        search: str | None = None,
        per_page: int = 100,
    ) -> AsyncIterator[Agent]:
        """Every matching agent (`async for`), fetching pages as the iteration reaches them."""
        page = 1
        while True:
            result = await self.list_page(
                page=page, per_page=per_page, status=status, direction=direction, search=search
            )
            for agent in result.data:
                yield agent
            if page >= result.meta.last_page or not result.data:
                return
            page += 1

    async def list_page(
        self,
        *,
        page: int = 1,
        per_page: int = 20,
        status: AgentStatus | None = None,
        direction: Literal["inbound", "outbound"] | None = None,
        search: str | None = None,
    ) -> Page[Agent]:
        return await self._send(ep.list_agents(page, per_page, status, direction, search))

    async def update(
        self, agent_id: str, *, name: str | None = None, **changes: Unpack[AgentSettings]
    ) -> Agent:
        return await self._send(ep.update_agent(agent_id, _update_fields(name, changes)))

    async def delete(self, agent_id: str) -> None:
        await self._send(ep.delete_agent(agent_id))

    async def publish(self, agent_id: str) -> PublishState:
        return await self._send(ep.publish_agent(agent_id))

    async def unpublish(self, agent_id: str) -> PublishState:
        return await self._send(ep.unpublish_agent(agent_id))


class AsyncTrainings:
    def __init__(self, client: AsyncClient) -> None:
        self._send = client._send

    async def list(
        self, agent_id: str, *, current_status: TrainingStatus | None = None
    ) -> list[Training]:
        trainings, last = await self._send(ep.list_trainings(agent_id, current_status, None))
        for page in range(2, last + 1):
            more, _ = await self._send(ep.list_trainings(agent_id, current_status, page))
            trainings.extend(more)
        return trainings

    async def list_page(
        self,
        agent_id: str,
        *,
        page: int = 1,
        per_page: int = 20,
        current_status: TrainingStatus | None = None,
    ) -> Page[Training]:
        """One page of the agent's trainings (Cuecard), oldest first, with the total in `meta`."""
        return await self._send(ep.page_trainings(agent_id, page, per_page, current_status))

    async def upsert(
        self,
        agent_id: str,
        *,
        subject: str,
        instructions: str,
        node_id: str | None = None,
        current_status: TrainingStatus | None = None,
        position: int | None = None,
        pinned: bool | None = None,
    ) -> Training:
        fields = _training_fields(subject, instructions, node_id, current_status, position, pinned)
        return await self._send(ep.upsert_training(agent_id, fields))

    async def delete(self, agent_id: str, training_id: str) -> None:
        await self._send(ep.delete_training(agent_id, training_id))


class AsyncVersions:
    def __init__(self, client: AsyncClient) -> None:
        self._send = client._send

    async def list(self, agent_id: str, *, per_page: int = 100) -> AsyncIterator[AgentVersion]:
        page = 1
        while True:
            result = await self.list_page(agent_id, page=page, per_page=per_page)
            for version in result.data:
                yield version
            if page >= result.meta.last_page or not result.data:
                return
            page += 1

    async def list_page(
        self, agent_id: str, *, page: int = 1, per_page: int = 20
    ) -> Page[AgentVersion]:
        return await self._send(ep.list_versions(agent_id, page, per_page))

    async def get(self, agent_id: str, version: int) -> AgentVersion:
        return await self._send(ep.get_version(agent_id, version))

    async def restore(self, agent_id: str, version: int) -> dict[str, Any]:
        return await self._send(ep.restore_version(agent_id, version))

    async def diff(
        self, agent_id: str, from_version: Version = "published", to_version: Version = "draft"
    ) -> dict[str, Any]:
        return await self._send(ep.diff(agent_id, from_version, to_version))


class AsyncRuntime:
    def __init__(self, client: AsyncClient) -> None:
        self._send = client._send

    async def config(
        self, agent_id: str, *, version: Version = "published", format: ConfigFormat = "native"
    ) -> dict[str, Any]:
        return await self._send(ep.runtime_config(agent_id, version, format))

    async def retrieve(
        self,
        agent_id: str,
        messages: Messages,
        *,
        version: Version | None = None,
        node_id: str | None = None,
        top_k: int | None = None,
        budget_tokens: int | None = None,
    ) -> Retrieval:
        request = _retrieve_request(messages, version, node_id, top_k, budget_tokens)
        return await self._send(ep.retrieve(agent_id, request))

    async def test_conversation(
        self,
        agent_id: str,
        messages: Messages,
        *,
        version: Version = "draft",
        node_id: str | None = None,
    ) -> dict[str, Any]:
        request = {"messages": [dict(m) for m in messages], "version": version, "node_id": node_id}
        return await self._send(ep.test_conversation(agent_id, request))


class AsyncFlows:
    def __init__(self, client: AsyncClient) -> None:
        self._send = client._send

    async def get(self, agent_id: str) -> AgentFlow:
        return await self._send(ep.get_flow(agent_id))

    async def update(
        self,
        agent_id: str,
        conversation_mode: ConversationMode,
        flow_config: Mapping[str, Any] | None = None,
    ) -> AgentFlow:
        body = _flow_body(conversation_mode, flow_config)
        return await self._send(ep.update_flow(agent_id, body))

    async def validate(self, agent_id: str, flow_config: Mapping[str, Any]) -> None:
        await self._send(ep.validate_flow(agent_id, dict(flow_config)))

    async def versions(self, agent_id: str) -> list[FlowVersion]:
        return await self._send(ep.list_flow_versions(agent_id))

    async def version(self, agent_id: str, flow_version_id: str) -> FlowVersion:
        return await self._send(ep.get_flow_version(agent_id, flow_version_id))

    async def test_run(
        self,
        agent_id: str,
        *,
        version: Version = "draft",
        tests: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        return await self._send(ep.test_run(agent_id, {"version": version, "tests": tests}))

    async def lint(self, agent_id: str, *, version: Version = "draft") -> dict[str, Any]:
        return await self._send(ep.lint(agent_id, version))
