from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from cuecard.audit import service
from cuecard.audit.schemas import AuditEntry, AuditQuery
from cuecard.auth.deps import Reader
from cuecard.core.routing import UnitOfWorkRoute, Uow, query_doc, query_params
from cuecard.core.schemas import Page

router = APIRouter(prefix="/api/v1/audit-log", tags=["audit"], route_class=UnitOfWorkRoute)


@router.get("", openapi_extra=query_doc(AuditQuery))
async def list_audit_log(
    uow: Uow, caller: Reader, query: Annotated[AuditQuery, query_params(AuditQuery)]
) -> Page[AuditEntry]:
    entries, total = await service.list_entries(uow, caller, query)
    return Page.of(entries, page=query.page, per_page=query.per_page, total=total)
