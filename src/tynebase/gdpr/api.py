"""Privacy routes: GET /api/me/export, DELETE /api/me, POST /api/users/{id}/erase (admins).

SPEC section 12 names the caller's own privacy operations /api/gdpr/{export,consents,
delete-account}: `gdpr_router` serves the same handlers under those paths (consents in
tynebase.consents.api)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from tynebase.api.deps import AuthCtx, AuthRateLimit, authenticated_unit_of_work, bearer
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.audit import service as audit_service
from tynebase.audit.service import Actor
from tynebase.files.storage import open_blob_store
from tynebase.gdpr import export, service
from tynebase.gdpr.schemas import ErasedOut, EraseMeIn

me_router = APIRouter(prefix="/api/me", tags=["privacy"], responses=COMMON_ERRORS)
admin_router = APIRouter(prefix="/api/users", tags=["privacy"], responses=COMMON_ERRORS)
gdpr_router = APIRouter(prefix="/api/gdpr", tags=["privacy"], responses=COMMON_ERRORS)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


_ZIP_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        "description": "Your data in this workspace: JSON files and your uploads",
    }
}


@gdpr_router.get("/export", response_class=StreamingResponse, responses=_ZIP_RESPONSE)
@me_router.get("/export", response_class=StreamingResponse, responses=_ZIP_RESPONSE)
async def export_me(ctx: AuthCtx) -> StreamingResponse:
    """Everything about you in this workspace, as a zip (GDPR-1)."""
    state, tenant, user_id = ctx.state, ctx.tenant, ctx.principal.user_id
    await audit_service.record(
        ctx.conn,
        action=service.USER_EXPORTED,
        actor=Actor.of(ctx.principal),
        target_type="user",
        target_id=user_id,
    )
    store = open_blob_store(state.settings)

    async def body() -> AsyncIterator[bytes]:
        # Streamed after this request's transaction has ended: a unit of work of its own.
        async with state.db.unit_of_work(tenant.id) as conn:
            async for chunk in export.stream_zip(conn, store=store, user_id=user_id, tenant=tenant):
                yield chunk

    day = datetime.now(UTC).date().isoformat()
    return StreamingResponse(
        body(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="my-data-{day}.zip"'},
    )


@gdpr_router.post("/delete-account", dependencies=[AuthRateLimit])
@me_router.delete("", dependencies=[AuthRateLimit])
async def erase_me(body: EraseMeIn, request: Request, credentials: Credentials) -> ErasedOut:
    """Delete your account everywhere, with your documents, files, chats and sessions (GDPR-3).
    Needs your password; the last admin of a workspace must hand over first (409 LAST_ADMIN)."""
    async with authenticated_unit_of_work(request, credentials) as ctx:
        state, user_id = ctx.state, ctx.principal.user_id
        await service.check_password(ctx.conn, user_id=user_id, password=body.password)
    erased = await service.run_erasure(state.db, open_blob_store(state.settings), user_id=user_id)
    return ErasedOut.of(erased)


@admin_router.post("/{user_id}/erase")
async def erase_member(user_id: UUID, request: Request, credentials: Credentials) -> ErasedOut:
    """Erase a member's account (admins), if it belongs to this workspace alone
    (409 ACCOUNT_SHARED otherwise: an operator decides)."""
    async with authenticated_unit_of_work(request, credentials) as ctx:
        state, principal = ctx.state, ctx.principal
        principal.check_role("admin")
        await service.access_member_id(ctx.conn, user_id=user_id)
        await service.check_admin_may_erase(ctx.conn, user_id=user_id)
    erased = await service.run_erasure(
        state.db, open_blob_store(state.settings), user_id=user_id, actor=Actor.of(principal)
    )
    return ErasedOut.of(erased)
