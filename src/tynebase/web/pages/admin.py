"""The platform super admin's pages (ADM): overview, workspaces with usage (create, change the
tier, suspend, resume) and users. Every page and action calls the admin service the
/api/admin routes call and answers 403 SUPERADMIN_REQUIRED to anyone else."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response

from tynebase.admin import repo as admin_repo
from tynebase.admin import service as admin_service
from tynebase.admin.schemas import TenantCreateIn, TenantUpdateIn
from tynebase.audit.service import Actor
from tynebase.errors import TynebaseError
from tynebase.tenants.repo import Tenant
from tynebase.tenants.service import SEAT_LIMITS
from tynebase.web.context import Page, PageCtx
from tynebase.web.pages.forms import attempt, form_dict, parse

router = APIRouter(prefix="/w/{subdomain}/admin", include_in_schema=False)
Cursor = Annotated[str | None, Query(max_length=200)]
PAGE_SIZE = 50


def error_text(error: TynebaseError) -> str:
    """The message with the API's stable code, so a refusal reads the same in both places."""
    return f"{error.message} [{error.code}]"


async def _admin_page(
    page: Page,
    *,
    cursor: str | None = None,
    status: str | None = None,
    email: str | None = None,
    users_cursor: str | None = None,
    error: TynebaseError | None = None,
    flash: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    conn, me, _ = page.parts()
    admin_service.check_superadmin(me)
    tenants, next_cursor = await admin_service.list_tenants(
        conn, cursor=cursor, limit=PAGE_SIZE, status=status
    )
    users, next_users = await admin_service.list_users(
        conn, cursor=users_cursor, limit=PAGE_SIZE, email_contains=email or None
    )
    return page.render(
        "ws/admin.html",
        status_code=error.status if error else 200,
        overview=await admin_repo.overview_counts(conn),
        tenants=tenants,
        next_cursor=next_cursor,
        status_filter=status or "",
        users=users,
        next_users=next_users,
        email_filter=email or "",
        tiers=list(SEAT_LIMITS),
        form=form or {},
        error=error_text(error) if error else None,
        flash=flash,
    )


@router.get("")
async def platform_admin(
    page: PageCtx,
    cursor: Cursor = None,
    status: Annotated[Literal["", "active", "suspended"] | None, Query()] = None,
    email: Annotated[str | None, Query(max_length=200)] = None,
    users_cursor: Cursor = None,
) -> Response:
    return await _admin_page(
        page, cursor=cursor, status=status or None, email=email, users_cursor=users_cursor
    )


@router.post("/tenants")
async def create_tenant(page: PageCtx) -> Response:
    conn, me, _ = page.parts()
    admin_service.check_superadmin(me)
    data = await form_dict(page.request)

    async def change() -> Tenant:
        body = parse(
            TenantCreateIn,
            {
                "subdomain": data.get("subdomain", "").strip().lower(),
                "name": data.get("name", "").strip(),
                "tier": data.get("tier") or "free",
                "admin_email": data.get("admin_email", "").strip() or None,
            },
        )
        return await admin_service.do_create_tenant(
            conn, actor=Actor.of(me), subdomain=body.subdomain, name=body.name,
            tier=body.tier, admin_email=str(body.admin_email) if body.admin_email else None,
        )  # fmt: skip

    tenant, error = await attempt(conn, change)
    if error is not None or tenant is None:
        return await _admin_page(page, error=error, form=data)
    return await _admin_page(page, flash=f"Created workspace {tenant.subdomain} ({tenant.tier}).")


@router.post("/tenants/{tenant_id}")
async def update_tenant(page: PageCtx, tenant_id: UUID) -> Response:
    """Change the tier, or suspend / resume (one form per action, each posting its field)."""
    conn, me, _ = page.parts()
    admin_service.check_superadmin(me)
    data = await form_dict(page.request)

    async def change() -> Tenant:
        body = parse(
            TenantUpdateIn,
            {
                "tier": data.get("tier") or None,
                "status": data.get("status") or None,
                "reason": data.get("reason", "").strip(),
            },
        )
        return await admin_service.do_update_tenant(
            conn, actor=Actor.of(me), tenant_id=tenant_id, tier=body.tier,
            status=body.status, reason=body.reason,
        )  # fmt: skip

    tenant, error = await attempt(conn, change)
    if error is not None or tenant is None:
        return await _admin_page(page, error=error)
    return await _admin_page(
        page, flash=f"Workspace {tenant.subdomain}: tier {tenant.tier}, {tenant.status}."
    )
