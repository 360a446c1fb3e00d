"""Platform-wide reads. Tenant tables are behind RLS for every role the app uses, so usage is
counted one tenant at a time, each inside its own tenant setting (never by bypassing RLS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.credits.models import credit_charges, credit_pools
from tynebase.db.engine import set_tenant
from tynebase.db.metadata import AnyRow
from tynebase.documents.models import documents
from tynebase.files.models import files
from tynebase.tenants.models import tenants
from tynebase.users.models import memberships, users


@dataclass(frozen=True)
class Usage:
    members: int
    documents: int
    storage_bytes: int
    credits_used_millis: int  # charged this month
    credits_allowance_millis: int | None  # None: no AI use (no pool) this month yet


_PERIOD = sa.bindparam("period", type_=sa.Date)
_USAGE = sa.select(
    sa.select(sa.func.count()).select_from(memberships).scalar_subquery().label("members"),
    sa.select(sa.func.count()).select_from(documents).scalar_subquery().label("documents"),
    sa.select(sa.func.coalesce(sa.func.sum(files.c.size_bytes), 0))
    .scalar_subquery()
    .label("storage_bytes"),
    sa.select(sa.func.coalesce(sa.func.sum(credit_charges.c.charged_millis), 0))
    .where(credit_charges.c.period_start == _PERIOD, credit_charges.c.status == "committed")
    .scalar_subquery()
    .label("credits_used"),
    sa.select(credit_pools.c.allowance_millis)
    .where(credit_pools.c.period_start == _PERIOD)
    .scalar_subquery()
    .label("credits_allowance"),
)


async def usage(conn: AsyncConnection, tenant_id: UUID, *, period: date) -> Usage:
    """Counts of one tenant and its AI credits in the month `period` (its first day); leaves the
    transaction in that tenant."""
    await set_tenant(conn, tenant_id)
    row = (await conn.execute(_USAGE, {"period": period})).one()
    return Usage(
        members=int(row.members),
        documents=int(row.documents),
        storage_bytes=int(row.storage_bytes),
        credits_used_millis=int(row.credits_used),
        credits_allowance_millis=row.credits_allowance,
    )


async def tenant_row(conn: AsyncConnection, tenant_id: UUID) -> AnyRow:
    return (await conn.execute(sa.select(tenants).where(tenants.c.id == tenant_id))).one()


async def tenants_page(
    conn: AsyncConnection, *, after: str | None, limit: int, status: str | None
) -> list[AnyRow]:
    """Tenants by subdomain (a stable keyset order)."""
    query = sa.select(tenants).order_by(tenants.c.subdomain).limit(limit)
    if after is not None:
        query = query.where(tenants.c.subdomain > after)
    if status is not None:
        query = query.where(tenants.c.status == status)
    return list((await conn.execute(query)).all())


async def users_page(
    conn: AsyncConnection, *, after: str | None, limit: int, email_contains: str | None
) -> list[AnyRow]:
    query = (
        sa.select(
            users.c.id,
            users.c.email,
            users.c.name,
            users.c.status,
            users.c.is_superadmin,
            users.c.email_confirmed_at,
            users.c.locked_until,
            users.c.created_at,
        )
        .order_by(users.c.email)
        .limit(limit)
    )
    if after is not None:
        query = query.where(users.c.email > after)
    if email_contains:
        query = query.where(users.c.email.contains(email_contains.lower(), autoescape=True))
    return list((await conn.execute(query)).all())


async def overview_counts(conn: AsyncConnection) -> dict[str, dict[str, int]]:
    tenant_rows = (
        await conn.execute(
            sa.select(tenants.c.tier, tenants.c.status, sa.func.count()).group_by(
                tenants.c.tier, tenants.c.status
            )
        )
    ).all()
    by_tier: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for tier, status, count in tenant_rows:
        by_tier[tier] = by_tier.get(tier, 0) + count
        by_status[status] = by_status.get(status, 0) + count
    user_row = (
        await conn.execute(
            sa.select(
                sa.func.count().label("total"),
                sa.func.count().filter(users.c.status == "active").label("active"),
                sa.func.count().filter(users.c.is_superadmin).label("superadmins"),
                sa.func.count().filter(users.c.email_confirmed_at.is_(None)).label("unconfirmed"),
            )
        )
    ).one()
    return {
        "tenants": {"total": sum(by_status.values()), **by_status},
        "tenants_by_tier": by_tier,
        "users": {
            "total": user_row.total,
            "active": user_row.active,
            "superadmins": user_row.superadmins,
            "unconfirmed": user_row.unconfirmed,
        },
    }
