"""Consent routes: GET/PUT /api/me/consents (the caller's own), also at /api/gdpr/consents
(SPEC section 12's path)."""

from __future__ import annotations

from fastapi import APIRouter

from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.consents import service
from tynebase.consents.schemas import ConsentsIn, ConsentsOut

router = APIRouter(prefix="/api/me/consents", tags=["consents"], responses=COMMON_ERRORS)
gdpr_router = APIRouter(prefix="/api/gdpr/consents", tags=["consents"], responses=COMMON_ERRORS)


@gdpr_router.get("")
@router.get("")
async def get_consents(ctx: AuthCtx) -> ConsentsOut:
    """Your consents: AI processing, knowledge indexing, analytics (granted by default)."""
    return ConsentsOut.of(await service.get_consents(ctx.conn, ctx.principal.user_id))


@gdpr_router.put("")
@router.put("")
async def put_consents(body: ConsentsIn, ctx: AuthCtx) -> ConsentsOut:
    """Change your consents at any time; they apply to you in every workspace."""
    changes = {k: v for k, v in body.model_dump(exclude_none=True).items()}
    updated = await service.do_update(ctx.conn, user_id=ctx.principal.user_id, changes=changes)
    return ConsentsOut.of(updated)
