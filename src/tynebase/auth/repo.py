"""Queries on sessions, refresh tokens, API keys and email tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.models import api_keys, auth_sessions, email_tokens, refresh_tokens
from tynebase.auth.revocation import announce_access_change
from tynebase.db.engine import HotQuery
from tynebase.db.metadata import AnyRow
from tynebase.users.models import memberships, users

_PRINCIPAL_COLUMNS = (
    users.c.id.label("user_id"),
    users.c.email,
    users.c.name,
    users.c.status.label("user_status"),
    users.c.is_superadmin,
    memberships.c.role,
    memberships.c.status.label("member_status"),
)


# Built once (hot path: every request with an access token).
_SESSION_PRINCIPAL = HotQuery(
    sa.select(*_PRINCIPAL_COLUMNS, auth_sessions.c.revoked_at, auth_sessions.c.expires_at)
    .select_from(
        auth_sessions.join(users, users.c.id == auth_sessions.c.user_id).outerjoin(
            memberships, memberships.c.user_id == users.c.id
        )
    )
    .where(
        auth_sessions.c.id == sa.bindparam("session_id"),
        auth_sessions.c.user_id == sa.bindparam("user_id"),
    )
)


async def session_principal_row(
    conn: AsyncConnection, *, session_id: UUID, user_id: UUID
) -> AnyRow | None:
    """User, membership and session state for an access token, in one round trip."""
    params = {"session_id": session_id, "user_id": user_id}
    row: AnyRow | None = await _SESSION_PRINCIPAL.first(conn, params)
    return row


async def api_key_principal_row(conn: AsyncConnection, *, prefix: str) -> AnyRow | None:
    query = (
        sa.select(
            *_PRINCIPAL_COLUMNS,
            api_keys.c.id.label("api_key_id"),
            api_keys.c.key_hash,
            api_keys.c.scope,
            api_keys.c.expires_at,
            api_keys.c.revoked_at,
            api_keys.c.last_used_at,
        )
        .select_from(
            api_keys.join(users, users.c.id == api_keys.c.user_id).outerjoin(
                memberships, memberships.c.user_id == users.c.id
            )
        )
        .where(api_keys.c.prefix == prefix)
    )
    return (await conn.execute(query)).first()


async def insert_session(conn: AsyncConnection, **values: Any) -> UUID:
    query = auth_sessions.insert().values(**values).returning(auth_sessions.c.id)
    return UUID(str((await conn.execute(query)).scalar_one()))


async def get_session_for_update(conn: AsyncConnection, session_id: UUID) -> AnyRow | None:
    query = sa.select(auth_sessions).where(auth_sessions.c.id == session_id).with_for_update()
    return (await conn.execute(query)).first()


async def list_sessions(conn: AsyncConnection, *, user_id: UUID, now: datetime) -> list[AnyRow]:
    query = (
        sa.select(auth_sessions)
        .where(
            auth_sessions.c.user_id == user_id,
            auth_sessions.c.revoked_at.is_(None),
            auth_sessions.c.expires_at > now,
        )
        .order_by(auth_sessions.c.created_at.desc())
    )
    return list((await conn.execute(query)).all())


async def revoke_sessions(
    conn: AsyncConnection,
    *,
    now: datetime,
    reason: str,
    session_id: UUID | None = None,
    user_id: UUID | None = None,
) -> int:
    """Revoke one session, or all of a user's, or (neither given) all in the tenant."""
    query = auth_sessions.update().where(auth_sessions.c.revoked_at.is_(None))
    if session_id is not None:
        query = query.where(auth_sessions.c.id == session_id)
    if user_id is not None:
        query = query.where(auth_sessions.c.user_id == user_id)
    result = await conn.execute(query.values(revoked_at=now, revoked_reason=reason))
    await announce_access_change(conn, reason=reason, user_id=user_id, session_id=session_id)
    return int(result.rowcount)


async def touch_session(conn: AsyncConnection, session_id: UUID, *, now: datetime) -> None:
    await conn.execute(
        auth_sessions.update().where(auth_sessions.c.id == session_id).values(last_used_at=now)
    )


async def insert_refresh_token(
    conn: AsyncConnection, *, tenant_id: UUID, session_id: UUID, token_hash: bytes
) -> None:
    await conn.execute(
        refresh_tokens.insert().values(
            tenant_id=tenant_id, session_id=session_id, token_hash=token_hash
        )
    )


async def get_refresh_token_for_update(conn: AsyncConnection, token_hash: bytes) -> AnyRow | None:
    query = (
        sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash).with_for_update()
    )
    return (await conn.execute(query)).first()


async def session_token_used_since(
    conn: AsyncConnection, session_id: UUID, moment: datetime
) -> bool:
    """Whether a refresh token of the session was used after `moment`."""
    query = sa.select(refresh_tokens.c.id).where(
        refresh_tokens.c.session_id == session_id, refresh_tokens.c.used_at > moment
    )
    return (await conn.execute(query.limit(1))).first() is not None


async def mark_refresh_token_used(conn: AsyncConnection, token_id: UUID, *, now: datetime) -> None:
    await conn.execute(
        refresh_tokens.update().where(refresh_tokens.c.id == token_id).values(used_at=now)
    )


async def insert_api_key(conn: AsyncConnection, **values: Any) -> AnyRow:
    row: AnyRow = (await conn.execute(api_keys.insert().values(**values).returning(api_keys))).one()
    return row


async def list_api_keys(conn: AsyncConnection, *, user_id: UUID | None) -> list[AnyRow]:
    query = (
        sa.select(api_keys).where(api_keys.c.revoked_at.is_(None)).order_by(api_keys.c.created_at)
    )
    if user_id is not None:
        query = query.where(api_keys.c.user_id == user_id)
    return list((await conn.execute(query)).all())


async def get_api_key(conn: AsyncConnection, key_id: UUID) -> AnyRow | None:
    return (await conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id))).first()


async def update_api_key(conn: AsyncConnection, key_id: UUID, **values: Any) -> None:
    await conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(**values))


async def insert_email_token(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(email_tokens.insert().values(**values))


async def get_email_token_for_update(
    conn: AsyncConnection, token_hash: bytes, purpose: str
) -> AnyRow | None:
    query = (
        sa.select(email_tokens)
        .where(email_tokens.c.token_hash == token_hash, email_tokens.c.purpose == purpose)
        .with_for_update()
    )
    return (await conn.execute(query)).first()


async def use_email_tokens(
    conn: AsyncConnection, *, user_id: UUID, purpose: str, now: datetime
) -> None:
    """Spend every open token of this purpose: one use ends them all."""
    await conn.execute(
        email_tokens.update()
        .where(
            email_tokens.c.user_id == user_id,
            email_tokens.c.purpose == purpose,
            email_tokens.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
