"""/api/admin: the platform super admin's view (ADM). Every route answers 403
SUPERADMIN_REQUIRED to anyone else, whatever their role in their workspace."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request

from tynebase import __version__
from tynebase.admin import repo, service
from tynebase.admin.schemas import (
    AdminUserOut,
    TenantCreateIn,
    TenantPageOut,
    TenantUpdateIn,
    TenantUsageOut,
    UserPageOut,
)
from tynebase.admin.service import TenantUsage
from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.audit.service import Actor
from tynebase.credits.costs import to_credits
from tynebase.ops.middleware import maintenance_cache
from tynebase.tenants.repo import Tenant

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=COMMON_ERRORS)
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=service.MAX_PAGE)]


def _tenant_out(item: TenantUsage) -> TenantUsageOut:
    row, usage = item.row, item.usage
    return TenantUsageOut(
        id=row.id,
        subdomain=row.subdomain,
        name=row.name,
        tier=row.tier,
        status=row.status,
        created_at=row.created_at,
        members=usage.members,
        documents=usage.documents,
        storage_bytes=usage.storage_bytes,
        credits_used=to_credits(usage.credits_used_millis),
        credits_allowance=(
            None
            if usage.credits_allowance_millis is None
            else to_credits(usage.credits_allowance_millis)
        ),
    )


async def _usage_out(ctx: AuthCtx, tenant: Tenant) -> TenantUsageOut:
    row = await repo.tenant_row(ctx.conn, tenant.id)
    return _tenant_out(TenantUsage(row=row, usage=await service.usage_of(ctx.conn, tenant.id)))


@router.get("/overview")
async def overview(ctx: AuthCtx, request: Request) -> dict[str, Any]:
    """Counts of tenants and users, and the maintenance state."""
    service.check_superadmin(ctx.principal)
    counts = await repo.overview_counts(ctx.conn)
    state = await maintenance_cache(request.app.state, ctx.state).get(ctx.state.db)
    return {
        **counts,
        "version": __version__,
        "maintenance": state.active.as_json() if state.active else None,
        "scheduled_maintenance": [w.as_json() for w in state.upcoming],
    }


@router.get("/tenants")
async def list_tenants(
    ctx: AuthCtx,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[Literal["active", "suspended"] | None, Query()] = None,
) -> TenantPageOut:
    """Workspaces with their usage (members, documents, stored bytes), by subdomain."""
    service.check_superadmin(ctx.principal)
    items, next_cursor = await service.list_tenants(
        ctx.conn, cursor=cursor, limit=limit, status=status
    )
    return TenantPageOut(items=[_tenant_out(i) for i in items], next_cursor=next_cursor)


@router.post("/tenants", status_code=201)
async def create_tenant(body: TenantCreateIn, ctx: AuthCtx) -> TenantUsageOut:
    service.check_superadmin(ctx.principal)
    tenant = await service.do_create_tenant(
        ctx.conn,
        actor=Actor.of(ctx.principal),
        subdomain=body.subdomain,
        name=body.name,
        tier=body.tier,
        admin_email=str(body.admin_email) if body.admin_email else None,
    )
    return await _usage_out(ctx, tenant)


@router.get("/tenants/{tenant_id}")
async def get_tenant(tenant_id: UUID, ctx: AuthCtx) -> TenantUsageOut:
    service.check_superadmin(ctx.principal)
    return await _usage_out(ctx, await service.access_tenant(ctx.conn, tenant_id))


@router.patch("/tenants/{tenant_id}")
async def update_tenant(tenant_id: UUID, body: TenantUpdateIn, ctx: AuthCtx) -> TenantUsageOut:
    """Change the tier, or suspend / resume (sockets of a suspended workspace are closed)."""
    service.check_superadmin(ctx.principal)
    tenant = await service.do_update_tenant(
        ctx.conn,
        actor=Actor.of(ctx.principal),
        tenant_id=tenant_id,
        tier=body.tier,
        status=body.status,
        reason=body.reason,
    )
    return await _usage_out(ctx, tenant)


@router.get("/users")
async def list_users(
    ctx: AuthCtx,
    limit: Limit = 50,
    cursor: Cursor = None,
    email: Annotated[str | None, Query(max_length=200, description="Part of the email")] = None,
) -> UserPageOut:
    service.check_superadmin(ctx.principal)
    rows, next_cursor = await service.list_users(
        ctx.conn, cursor=cursor, limit=limit, email_contains=email
    )
    return UserPageOut(
        items=[AdminUserOut.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=next_cursor,
    )
