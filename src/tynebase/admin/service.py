"""Super-admin rules: only `users.is_superadmin` passes; tenant changes go through the tenants
service (which audits them in the tenant's own log)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.admin import repo
from tynebase.admin.repo import Usage
from tynebase.audit import actions as audit_actions
from tynebase.audit import service as audit_service
from tynebase.audit.service import Actor
from tynebase.auth.principal import Principal
from tynebase.credits.service import period_of
from tynebase.db.metadata import AnyRow
from tynebase.errors import Forbidden, NotFound, ValidationFailed
from tynebase.tenants import repo as tenants_repo
from tynebase.tenants import service as tenants_service
from tynebase.tenants.repo import Tenant
from tynebase.users import repo as users_repo

MAX_PAGE = 100


def check_superadmin(principal: Principal) -> None:
    if not principal.is_superadmin:
        raise Forbidden("This needs a platform super admin", code="SUPERADMIN_REQUIRED")


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        return base64.b64decode(
            cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True
        ).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            "This cursor is not valid", code="INVALID_CURSOR", details={"field": "cursor"}
        ) from exc


@dataclass(frozen=True)
class TenantUsage:
    row: AnyRow
    usage: Usage


async def list_tenants(
    conn: AsyncConnection, *, cursor: str | None, limit: int, status: str | None
) -> tuple[list[TenantUsage], str | None]:
    limit = max(1, min(limit, MAX_PAGE))
    rows = await repo.tenants_page(
        conn, after=decode_cursor(cursor), limit=limit + 1, status=status
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [TenantUsage(row=row, usage=await usage_of(conn, row.id)) for row in rows]
    return items, encode_cursor(rows[-1].subdomain) if more and rows else None


async def usage_of(conn: AsyncConnection, tenant_id: UUID) -> Usage:
    """A workspace's members, documents, stored bytes and this month's AI credits."""
    return await repo.usage(conn, tenant_id, period=period_of(datetime.now(UTC)))


async def list_users(
    conn: AsyncConnection, *, cursor: str | None, limit: int, email_contains: str | None
) -> tuple[list[AnyRow], str | None]:
    limit = max(1, min(limit, MAX_PAGE))
    rows = await repo.users_page(
        conn, after=decode_cursor(cursor), limit=limit + 1, email_contains=email_contains
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].email) if more and rows else None


async def access_tenant(conn: AsyncConnection, tenant_id: UUID) -> Tenant:
    tenant = await tenants_repo.get_by_id(conn, tenant_id)
    if tenant is None:
        raise NotFound("Workspace not found", code="TENANT_NOT_FOUND")
    return tenant


async def do_create_tenant(
    conn: AsyncConnection,
    *,
    actor: Actor,
    subdomain: str,
    name: str,
    tier: str,
    admin_email: str | None,
) -> Tenant:
    """A new workspace (entered), optionally with an existing user as its admin."""
    admin = None
    if admin_email:
        admin = await users_repo.get_user_by_email(conn, admin_email)
        if admin is None:
            raise NotFound(f"No user with email {admin_email}", code="USER_NOT_FOUND")
    tenant = await tenants_service.do_create(conn, subdomain=subdomain, name=name, tier=tier)
    if admin is not None:
        await users_repo.insert_membership(
            conn, tenant_id=tenant.id, user_id=admin.id, role="admin"
        )
    await audit_service.record(
        conn,
        action=audit_actions.TENANT_CREATED,
        actor=actor,
        tenant_id=tenant.id,
        target_type="tenant",
        target_id=tenant.id,
        details={"subdomain": tenant.subdomain, "tier": tier, "admin_email": admin_email},
    )
    return tenant


async def do_update_tenant(
    conn: AsyncConnection,
    *,
    actor: Actor,
    tenant_id: UUID,
    tier: str | None,
    status: str | None,
    reason: str,
) -> Tenant:
    tenant = await access_tenant(conn, tenant_id)
    if tier is not None and tier != tenant.tier:
        tenant = await tenants_service.do_set_tier(conn, tenant=tenant, tier=tier, actor=actor)
    if status is not None and status != tenant.status:
        tenant = await tenants_service.do_set_status(
            conn, tenant=tenant, status=status, actor=actor, reason=reason
        )
    return tenant
