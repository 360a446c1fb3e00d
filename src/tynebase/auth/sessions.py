"""A user's sessions: list, revoke one, log out, revoke everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit import actions as audit_actions
from tynebase.audit import service as audit_service
from tynebase.audit.service import Actor
from tynebase.auth import repo
from tynebase.auth.principal import Principal
from tynebase.db.engine import set_tenant, set_user
from tynebase.db.metadata import AnyRow
from tynebase.errors import NotFound
from tynebase.users import repo as users_repo


def _now() -> datetime:
    return datetime.now(UTC)


async def do_logout(conn: AsyncConnection, *, principal: Principal) -> None:
    if principal.session_id is not None:
        await repo.revoke_sessions(
            conn, now=_now(), reason="logout", session_id=principal.session_id
        )


async def list_own_sessions(conn: AsyncConnection, *, principal: Principal) -> list[AnyRow]:
    return await repo.list_sessions(conn, user_id=principal.user_id, now=_now())


async def do_revoke_own_session(
    conn: AsyncConnection, *, principal: Principal, session_id: UUID
) -> None:
    session = await repo.get_session_for_update(conn, session_id)
    if session is None or session.user_id != principal.user_id:
        raise NotFound("Session not found", code="SESSION_NOT_FOUND")
    await repo.revoke_sessions(conn, now=_now(), reason="revoked by user", session_id=session_id)
    await audit_service.record(
        conn,
        action=audit_actions.SESSION_REVOKED,
        actor=Actor.of(principal),
        target_type="session",
        target_id=session_id,
    )


async def do_revoke_user_sessions_everywhere(
    conn: AsyncConnection, *, user_id: UUID, reason: str
) -> int:
    """Revoke a user's sessions in every workspace they belong to (password reset, security)."""
    await set_user(conn, user_id)
    revoked = 0
    for tenant_id in await users_repo.user_tenant_ids(conn, user_id):
        await set_tenant(conn, tenant_id)
        revoked += await repo.revoke_sessions(conn, now=_now(), reason=reason, user_id=user_id)
    return revoked
