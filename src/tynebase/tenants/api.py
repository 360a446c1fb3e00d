"""The current workspace: GET /api/tenant."""

from __future__ import annotations

from fastapi import APIRouter

from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.auth.schemas import TenantOut

router = APIRouter(prefix="/api/tenant", tags=["tenant"], responses=COMMON_ERRORS)


@router.get("")
async def current_tenant(ctx: AuthCtx) -> TenantOut:
    t = ctx.tenant
    return TenantOut(id=t.id, subdomain=t.subdomain, name=t.name, tier=t.tier, status=t.status)
