"""Tenant rules: subdomains, tiers and their seat limits, resolution of the request's tenant."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit import actions as audit_actions
from tynebase.audit import service as audit_service
from tynebase.audit.service import Actor
from tynebase.auth.revocation import announce_access_change
from tynebase.credits import service as credits_service
from tynebase.db.engine import set_tenant
from tynebase.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tynebase.tenants import repo
from tynebase.tenants.repo import Tenant

SUBDOMAIN_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$"


def subdomain_of(headers: Mapping[str, str], base_domain: str) -> str | None:
    """The workspace a request names: `X-Tenant-Subdomain`, else a `{sub}.{base_domain}` Host.
    None when it names none; "" when it names something that cannot be a subdomain (which then
    never reaches a query)."""
    explicit = headers.get("x-tenant-subdomain")
    if explicit:
        sub = explicit.strip().lower()
    else:
        host = headers.get("host", "").split(":", 1)[0].lower()
        suffix = "." + base_domain.lower()
        if not host.endswith(suffix):
            return None
        sub = host[: -len(suffix)]
    return sub if re.fullmatch(SUBDOMAIN_PATTERN, sub) else ""


RESERVED_SUBDOMAINS = frozenset(
    {"www", "api", "admin", "app", "collab", "static", "status", "mail"}
)
SEAT_LIMITS: dict[str, int | None] = {"free": 1, "base": 10, "pro": 50, "enterprise": None}


def check_subdomain(subdomain: str) -> None:
    if not re.fullmatch(SUBDOMAIN_PATTERN, subdomain):
        raise ValidationFailed(
            "Subdomain must be 3-63 characters of a-z, 0-9 and '-', "
            "not starting or ending with '-'",
            details={"field": "subdomain"},
        )
    if subdomain in RESERVED_SUBDOMAINS:
        raise Conflict(f"Subdomain '{subdomain}' is reserved", code="SUBDOMAIN_TAKEN")


def seat_limit(tier: str) -> int | None:
    return SEAT_LIMITS[tier]


def check_active(tenant: Tenant) -> None:
    if tenant.status != "active":
        raise Forbidden(
            "This workspace is suspended; contact your administrator", code="TENANT_SUSPENDED"
        )


async def access_and_enter(conn: AsyncConnection, *, subdomain: str | None) -> Tenant:
    """The request's tenant, made current for this transaction (RLS); 404/403 otherwise."""
    if not subdomain:
        raise NotFound(
            "No workspace given: send X-Tenant-Subdomain or use its host name",
            code="TENANT_NOT_FOUND",
        )
    tenant = await repo.get_and_enter(conn, subdomain=subdomain)
    if tenant is None:
        raise NotFound(f"Workspace '{subdomain}' does not exist", code="TENANT_NOT_FOUND")
    check_active(tenant)
    return tenant


async def do_create(
    conn: AsyncConnection, *, subdomain: str, name: str, tier: str = "free"
) -> Tenant:
    """Create a tenant and make it the transaction's tenant, so its first rows can be written."""
    check_subdomain(subdomain)
    if tier not in SEAT_LIMITS:
        raise ValidationFailed(f"Unknown tier '{tier}'", details={"field": "tier"})
    if await repo.subdomain_exists(conn, subdomain):
        raise Conflict(f"Subdomain '{subdomain}' is taken", code="SUBDOMAIN_TAKEN")
    tenant = await repo.insert(conn, subdomain=subdomain, name=name.strip(), tier=tier)
    await set_tenant(conn, tenant.id)
    await credits_service.do_open_pool(conn, tenant_id=tenant.id, tier=tier)  # AUTH-1
    return tenant


async def access_by_subdomain(conn: AsyncConnection, *, subdomain: str) -> Tenant:
    """Any tenant, suspended or not (operators and super admins); 404 if unknown."""
    tenant = await repo.get_by_subdomain(conn, subdomain.strip().lower())
    if tenant is None:
        raise NotFound(f"Workspace '{subdomain}' does not exist", code="TENANT_NOT_FOUND")
    return tenant


async def do_set_status(
    conn: AsyncConnection, *, tenant: Tenant, status: str, actor: Actor, reason: str = ""
) -> Tenant:
    """Suspend or resume a workspace (OPS-9). Suspension refuses every request with 403
    TENANT_SUSPENDED at once and tells live connections (collab sockets) to close.

    Enters the tenant: the audit entry belongs to the workspace's own log."""
    if status not in ("active", "suspended"):
        raise ValidationFailed(f"Unknown status '{status}'", details={"field": "status"})
    await set_tenant(conn, tenant.id)
    if status != tenant.status:
        await repo.set_status(conn, tenant.id, status)
        await announce_access_change(conn, reason=f"tenant {status}", tenant_id=tenant.id)
    await audit_service.record(
        conn,
        action=audit_actions.TENANT_SUSPENDED
        if status == "suspended"
        else audit_actions.TENANT_RESUMED,
        actor=actor,
        tenant_id=tenant.id,
        target_type="tenant",
        target_id=tenant.id,
        details={"subdomain": tenant.subdomain, "before": tenant.status, "reason": reason},
    )
    updated = await repo.get_by_id(conn, tenant.id)
    assert updated is not None
    return updated


async def do_set_tier(conn: AsyncConnection, *, tenant: Tenant, tier: str, actor: Actor) -> Tenant:
    """Change the plan: seat limits and storage quota follow at once. Enters the tenant."""
    if tier not in SEAT_LIMITS:
        raise ValidationFailed(
            f"Unknown tier '{tier}' (one of {', '.join(SEAT_LIMITS)})", details={"field": "tier"}
        )
    await set_tenant(conn, tenant.id)
    await repo.set_tier(conn, tenant.id, tier)
    await audit_service.record(
        conn,
        action=audit_actions.TENANT_TIER_CHANGED,
        actor=actor,
        tenant_id=tenant.id,
        target_type="tenant",
        target_id=tenant.id,
        details={"subdomain": tenant.subdomain, "before": tenant.tier, "after": tier},
    )
    updated = await repo.get_by_id(conn, tenant.id)
    assert updated is not None
    return updated
