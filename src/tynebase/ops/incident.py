"""Incident response across workspaces (OPS-9): revoke sessions by user, tenant or everyone.

Each revocation announces on `tynebase_access_changed` (collab servers close the sockets) and
leaves an audit entry in every workspace it touched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit import actions as audit_actions
from tynebase.audit import service as audit_service
from tynebase.audit.service import Actor
from tynebase.auth import repo as auth_repo
from tynebase.auth.revocation import announce_access_change
from tynebase.db.engine import set_tenant, set_user
from tynebase.db.rls import TENANT_SETTING
from tynebase.errors import NotFound
from tynebase.tenants import repo as tenants_repo
from tynebase.tenants import service as tenants_service
from tynebase.users import repo as users_repo

_LEAVE_TENANT = sa.text("SELECT set_config(:name, '', true)").bindparams(name=TENANT_SETTING)


@dataclass(frozen=True)
class Revoked:
    sessions: int
    tenants: int


async def do_revoke_user(
    conn: AsyncConnection, *, email: str, actor: Actor, reason: str
) -> Revoked:
    """Every session of one account, in every workspace it belongs to."""
    user = await users_repo.get_user_by_email(conn, email)
    if user is None:
        raise NotFound(f"No user with email {email}", code="USER_NOT_FOUND")
    await set_user(conn, user.id)
    total, tenant_ids = 0, await users_repo.user_tenant_ids(conn, user.id)
    for tenant_id in tenant_ids:
        await set_tenant(conn, tenant_id)
        count = await auth_repo.revoke_sessions(
            conn, now=datetime.now(UTC), reason=reason, user_id=user.id
        )
        total += count
        await audit_service.record(
            conn,
            action=audit_actions.SESSIONS_REVOKED,
            actor=actor,
            target_type="user",
            target_id=user.id,
            details={"email": user.email, "sessions": count, "reason": reason},
        )
    return Revoked(sessions=total, tenants=len(tenant_ids))


async def _revoke_tenant(
    conn: AsyncConnection, *, tenant_id: object, actor: Actor, reason: str
) -> int:
    count = await auth_repo.revoke_sessions(conn, now=datetime.now(UTC), reason=reason)
    await audit_service.record(
        conn,
        action=audit_actions.SESSIONS_REVOKED,
        actor=actor,
        target_type="tenant",
        target_id=str(tenant_id),
        details={"sessions": count, "reason": reason},
    )
    return count


async def do_revoke_tenant(
    conn: AsyncConnection, *, subdomain: str, actor: Actor, reason: str
) -> Revoked:
    """Every session in one workspace (its members must log in again)."""
    tenant = await tenants_service.access_by_subdomain(conn, subdomain=subdomain)
    await set_tenant(conn, tenant.id)
    count = await _revoke_tenant(conn, tenant_id=tenant.id, actor=actor, reason=reason)
    return Revoked(sessions=count, tenants=1)


async def do_revoke_all(conn: AsyncConnection, *, actor: Actor, reason: str) -> Revoked:
    """Every session of every workspace (e.g. after a signing-key or database leak)."""
    total = 0
    all_tenants = await tenants_repo.list_all(conn)
    for tenant in all_tenants:
        await set_tenant(conn, tenant.id)
        total += await _revoke_tenant(conn, tenant_id=tenant.id, actor=actor, reason=reason)
    # One announcement for everyone (no tenant): listeners drop every connection.
    await conn.execute(_LEAVE_TENANT)
    await announce_access_change(conn, reason=reason)
    await audit_service.record(
        conn,
        action=audit_actions.SESSIONS_REVOKED,
        actor=actor,
        tenant_id=None,
        target_type="platform",
        details={"sessions": total, "tenants": len(all_tenants), "reason": reason},
    )
    return Revoked(sessions=total, tenants=len(all_tenants))
