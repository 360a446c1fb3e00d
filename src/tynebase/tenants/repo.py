"""Tenant queries. `tenants` is a platform table (no RLS); its children are tenant-scoped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.db.engine import HotQuery
from tynebase.db.metadata import AnyRow
from tynebase.db.rls import TENANT_SETTING
from tynebase.tenants.models import tenants


@dataclass(frozen=True)
class Tenant:
    id: UUID
    subdomain: str
    name: str
    tier: str
    status: str
    settings: dict[str, Any]


_COLUMNS = (
    tenants.c.id,
    tenants.c.subdomain,
    tenants.c.name,
    tenants.c.tier,
    tenants.c.status,
    tenants.c.settings,
)


# Built once: the per-request hot path then skips statement construction and cache-key work.
_GET_AND_ENTER = HotQuery(
    sa.select(
        *_COLUMNS,
        sa.func.set_config(TENANT_SETTING, sa.cast(tenants.c.id, sa.Text), True).label("entered"),
    ).where(tenants.c.subdomain == sa.bindparam("subdomain"))
)


def _tenant(row: AnyRow) -> Tenant:
    return Tenant(
        id=row.id,
        subdomain=row.subdomain,
        name=row.name,
        tier=row.tier,
        status=row.status,
        settings=row.settings,
    )


async def get_and_enter(conn: AsyncConnection, *, subdomain: str) -> Tenant | None:
    """Load the tenant by subdomain and, in the same statement, make it the transaction's tenant."""
    row = await _GET_AND_ENTER.first(conn, {"subdomain": subdomain})
    return _tenant(row) if row else None


async def get_by_id(conn: AsyncConnection, tenant_id: UUID) -> Tenant | None:
    row = (await conn.execute(sa.select(*_COLUMNS).where(tenants.c.id == tenant_id))).first()
    return _tenant(row) if row else None


async def get_by_subdomain(conn: AsyncConnection, subdomain: str) -> Tenant | None:
    row = (await conn.execute(sa.select(*_COLUMNS).where(tenants.c.subdomain == subdomain))).first()
    return _tenant(row) if row else None


async def subdomain_exists(conn: AsyncConnection, subdomain: str) -> bool:
    query = sa.select(sa.literal(1)).where(tenants.c.subdomain == subdomain)
    return (await conn.execute(query)).first() is not None


async def insert(conn: AsyncConnection, *, subdomain: str, name: str, tier: str) -> Tenant:
    row = (
        await conn.execute(
            tenants.insert().values(subdomain=subdomain, name=name, tier=tier).returning(*_COLUMNS)
        )
    ).one()
    return _tenant(row)


async def list_all(conn: AsyncConnection) -> list[Tenant]:
    rows = (await conn.execute(sa.select(*_COLUMNS).order_by(tenants.c.created_at))).all()
    return [_tenant(row) for row in rows]


async def set_status(conn: AsyncConnection, tenant_id: UUID, status: str) -> None:
    await conn.execute(tenants.update().where(tenants.c.id == tenant_id).values(status=status))


async def set_tier(conn: AsyncConnection, tenant_id: UUID, tier: str) -> None:
    await conn.execute(tenants.update().where(tenants.c.id == tenant_id).values(tier=tier))
