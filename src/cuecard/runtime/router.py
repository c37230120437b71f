from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader, Writer, runtime_scope
from cuecard.core.openapi import UPSTREAM_ERRORS
from cuecard.core.routing import (
    AppSettings,
    UnitOfWorkRoute,
    Uow,
    body_doc,
    json_body,
    query_doc,
    query_params,
)
from cuecard.core.schemas import Envelope
from cuecard.runtime import service
from cuecard.runtime.deps import RuntimeCache
from cuecard.runtime.schemas import (
    ConversationRequest,
    ConversationResult,
    NumberRuntimeConfigQuery,
    RetrieveRequest,
    RetrieveResponse,
    RuntimeConfigQuery,
)

# The agent's runtime endpoints, and the telephony bridge's lookup by number (documented with
# the calling endpoints, where a bridge's author looks for it).
router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)
AGENT = "/agents/{agent_id}"


def _etag_matches(if_none_match: str | None, config_hash: str) -> bool:
    """RFC 9110 weak comparison against an If-None-Match list (or `*`)."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip().removeprefix("W/").strip('"')
        if tag in ("*", config_hash):
            return True
    return False


CONFIG_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The compiled config, as the document itself (no envelope), so a "
        "runtime can load it directly. Headers: ETag (= config_hash), X-Cuecard-Version, "
        "X-Cuecard-Budget-Mode, X-Cuecard-Cache.",
        "content": {"application/json": {}},
    },
    304: {"description": "If-None-Match names the current config_hash."},
}


@router.get(
    f"{AGENT}/runtime-config",
    tags=["runtime"],
    responses=CONFIG_RESPONSES,
    response_class=Response,
    openapi_extra=query_doc(RuntimeConfigQuery),
)
@runtime_scope
async def get_runtime_config(
    request: Request,
    uow: Uow,
    caller: Reader,
    agent: ScopedAgent,
    query: Annotated[RuntimeConfigQuery, query_params(RuntimeConfigQuery)],
    cache: RuntimeCache,
) -> Response:
    config = await service.runtime_config(uow, cache, agent, query.version, query.format)
    return config_response(request, config)


def config_response(request: Request, config: service.RuntimeConfig) -> Response:
    """A compiled config as the runtime-config endpoints answer it: the document, its ETag and
    the X-Cuecard-* headers, or 304 when If-None-Match names it."""
    resolved = config.resolved
    headers = {
        "ETag": f'"{resolved.compiled.config_hash}"',
        # Revalidate every time: `published` moves when the agent is published again.
        "Cache-Control": "private, no-cache",
        "X-Cuecard-Version": str(resolved.version),
        "X-Cuecard-Budget-Mode": resolved.compiled.mode.value,
        "X-Cuecard-Cache": "hit" if resolved.cache_hit else "miss",
    }
    if resolved.draft_revision is not None:
        headers["X-Cuecard-Draft-Revision"] = str(resolved.draft_revision)
    if _etag_matches(request.headers.get("if-none-match"), resolved.compiled.config_hash):
        return Response(status_code=304, headers=headers)
    return Response(config.body, media_type="application/json", headers=headers)


@router.post(f"{AGENT}/runtime/retrieve", tags=["runtime"], openapi_extra=body_doc(RetrieveRequest))
@runtime_scope
async def retrieve_trainings(
    response: Response,
    uow: Uow,
    caller: Reader,
    agent: ScopedAgent,
    cache: RuntimeCache,
    body: Annotated[RetrieveRequest, json_body(RetrieveRequest)],
) -> RetrieveResponse:
    result, cache_hit = await service.retrieve_trainings(uow, cache, agent, body)
    # hit: the compiled config and its ranker index were reused, nothing was rebuilt.
    response.headers["X-Cuecard-Cache"] = "hit" if cache_hit else "miss"
    return result


@router.post(
    f"{AGENT}/test-conversations",
    tags=["runtime"],
    openapi_extra=body_doc(ConversationRequest),
    responses=UPSTREAM_ERRORS,
)
async def create_test_conversation(
    uow: Uow,
    caller: Writer,
    agent: ScopedAgent,
    cache: RuntimeCache,
    settings: AppSettings,
    body: Annotated[ConversationRequest, json_body(ConversationRequest)],
) -> Envelope[ConversationResult]:
    result = await service.run_test_conversation(uow, cache, settings, agent, body)
    return Envelope(data=result)


@router.get(
    "/phone-numbers/{number}/runtime-config",
    tags=["calling"],
    responses=CONFIG_RESPONSES,
    response_class=Response,
    openapi_extra=query_doc(NumberRuntimeConfigQuery),
)
async def get_inbound_runtime_config(
    request: Request,
    uow: Uow,
    caller: Reader,
    number: str,
    cache: RuntimeCache,
    query: Annotated[NumberRuntimeConfigQuery, query_params(NumberRuntimeConfigQuery)],
) -> Response:
    """For a telephony bridge: the published config of the agent answering `number` (E.164)."""
    agent_id, config = await service.inbound_config(uow, cache, caller, number, query.format)
    response = config_response(request, config)
    response.headers["X-Cuecard-Agent-Id"] = agent_id
    return response
