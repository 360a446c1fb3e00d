"""Tenant rules: subdomains, tiers and their seat limits, resolution of the request's tenant."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.db.engine import set_tenant
from tynebase.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tynebase.tenants import repo
from tynebase.tenants.repo import Tenant

SUBDOMAIN_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$"
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
    return tenant
