"""GET /api/audit (a page, newest first) and GET /api/audit/export (everything, streamed):
the workspace's audit log, for its admins."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator

from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.audit import export, service
from tynebase.audit.repo import Filters
from tynebase.audit.schemas import AuditEntryOut, AuditPageOut
from tynebase.documents.cursor import MAX_CURSOR_CHARS

router = APIRouter(prefix="/api/audit", tags=["audit"], responses=COMMON_ERRORS)

Action = Annotated[
    str | None,
    Query(max_length=100, description="An action (auth.login.failed) or a prefix ending in '.'"),
]
ActorId = Annotated[UUID | None, Query(description="Entries by this user")]
Outcome = Annotated[Literal["success", "failure"] | None, Query()]
TargetId = Annotated[str | None, Query(max_length=100)]
TargetType = Annotated[str | None, Query(max_length=50, description="tenant, user, document...")]
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}([T ].*)?")


def _iso_time(value: object) -> object:
    """Pydantic would also take a number as a Unix time; the documented format is ISO 8601."""
    if isinstance(value, str) and not _ISO_TIME.fullmatch(value):
        raise ValueError("expected an ISO 8601 time, such as 2026-11-29T10:00:00Z")
    return value


IsoTime = Annotated[datetime, BeforeValidator(_iso_time)]
Since = Annotated[IsoTime | None, Query(description="From this time (inclusive), ISO 8601")]
Until = Annotated[IsoTime | None, Query(description="Before this time, ISO 8601")]


def _filters(
    action: str | None,
    actor_id: UUID | None,
    outcome: str | None,
    target_id: str | None,
    target_type: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Filters:
    def aware(moment: datetime | None) -> datetime | None:
        return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment

    return Filters(
        action=action,
        actor_user_id=actor_id,
        outcome=outcome,
        target_id=target_id,
        target_type=target_type,
        since=aware(since),
        until=aware(until),
    )


@router.get("")
async def list_audit(
    ctx: AuthCtx,
    action: Action = None,
    actor_id: ActorId = None,
    outcome: Outcome = None,
    target_id: TargetId = None,
    target_type: TargetType = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)] = None,
) -> AuditPageOut:
    """Security-relevant and admin actions in this workspace (admins)."""
    ctx.principal.check_role("admin")
    page = await service.list_page(
        ctx.conn,
        filters=_filters(action, actor_id, outcome, target_id, target_type, since, until),
        cursor_token=cursor,
        limit=limit,
    )
    return AuditPageOut(
        items=[AuditEntryOut.model_validate(row, from_attributes=True) for row in page.rows],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
            "description": "Every matching entry, oldest first",
        }
    },
)
async def export_audit(
    ctx: AuthCtx,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
    action: Action = None,
    actor_id: ActorId = None,
    outcome: Outcome = None,
    target_id: TargetId = None,
    target_type: TargetType = None,
    since: Since = None,
    until: Until = None,
) -> StreamingResponse:
    """The audit log as evidence: CSV or a JSON array, streamed (admins)."""
    ctx.principal.check_role("admin")
    state, tenant = ctx.state, ctx.tenant
    filters = _filters(action, actor_id, outcome, target_id, target_type, since, until)

    async def body() -> AsyncIterator[bytes]:
        # Streamed after the request's own transaction has ended: a unit of work of its own.
        async with state.db.unit_of_work(tenant.id) as conn:
            async for chunk in export.render(service.stream_entries(conn, filters=filters), format):
                yield chunk

    day = datetime.now(UTC).date().isoformat()
    return StreamingResponse(
        body(),
        media_type=export.MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="{tenant.subdomain}-audit-{day}.{format}"'
        },
    )
