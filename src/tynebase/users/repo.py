"""Queries on users (platform table), memberships and invites (tenant-scoped by RLS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.db.metadata import AnyRow
from tynebase.users.models import invites, memberships, users


@dataclass(frozen=True)
class User:
    id: UUID
    email: str
    name: str
    password_hash: str | None
    email_confirmed_at: datetime | None
    status: str
    is_superadmin: bool
    failed_logins: int
    first_failed_login_at: datetime | None
    locked_until: datetime | None


@dataclass(frozen=True)
class Member:
    user_id: UUID
    email: str
    name: str
    role: str
    status: str
    joined_at: datetime


def _user(row: AnyRow) -> User:
    return User(**{field: getattr(row, field) for field in User.__dataclass_fields__})


async def get_user_by_email(conn: AsyncConnection, email: str) -> User | None:
    row = (await conn.execute(sa.select(users).where(users.c.email == email.lower()))).first()
    return _user(row) if row else None


async def get_user(conn: AsyncConnection, user_id: UUID) -> User | None:
    row = (await conn.execute(sa.select(users).where(users.c.id == user_id))).first()
    return _user(row) if row else None


async def count_users(conn: AsyncConnection) -> int:
    return int((await conn.execute(sa.select(sa.func.count()).select_from(users))).scalar_one())


async def insert_user(
    conn: AsyncConnection,
    *,
    email: str,
    name: str,
    password_hash: str | None,
    confirmed_at: datetime | None,
    is_superadmin: bool = False,
) -> User:
    row = (
        await conn.execute(
            users.insert()
            .values(
                email=email.lower(),
                name=name,
                password_hash=password_hash,
                email_confirmed_at=confirmed_at,
                is_superadmin=is_superadmin,
            )
            .returning(users)
        )
    ).one()
    return _user(row)


async def update_user(conn: AsyncConnection, user_id: UUID, **values: Any) -> None:
    await conn.execute(users.update().where(users.c.id == user_id).values(**values))


async def record_failed_login(
    conn: AsyncConnection,
    user_id: UUID,
    *,
    now: datetime,
    window_start: datetime,
    threshold: int,
    locked_until: datetime,
) -> datetime | None:
    """Count a failure atomically (concurrent attempts must all count) and lock at the threshold;
    returns the account's `locked_until` afterwards."""
    in_window = users.c.first_failed_login_at > window_start
    count = sa.case((in_window, users.c.failed_logins + 1), else_=1)
    result = await conn.execute(
        users.update()
        .where(users.c.id == user_id)
        .values(
            failed_logins=count,
            first_failed_login_at=sa.case((in_window, users.c.first_failed_login_at), else_=now),
            locked_until=sa.case((count >= threshold, locked_until), else_=users.c.locked_until),
        )
        .returning(users.c.locked_until)
    )
    locked: datetime | None = result.scalar_one_or_none()
    return locked


_MEMBER_COLUMNS = (
    users.c.id.label("user_id"),
    users.c.email,
    users.c.name,
    memberships.c.role,
    memberships.c.status,
    memberships.c.created_at.label("joined_at"),
)


def _member(row: AnyRow) -> Member:
    return Member(
        user_id=row.user_id,
        email=row.email,
        name=row.name,
        role=row.role,
        status=row.status,
        joined_at=row.joined_at,
    )


async def list_members(conn: AsyncConnection) -> list[Member]:
    query = (
        sa.select(*_MEMBER_COLUMNS)
        .select_from(memberships.join(users))
        .order_by(memberships.c.created_at, users.c.id)
    )
    return [_member(row) for row in (await conn.execute(query)).all()]


async def get_member(conn: AsyncConnection, user_id: UUID) -> Member | None:
    query = (
        sa.select(*_MEMBER_COLUMNS)
        .select_from(memberships.join(users))
        .where(memberships.c.user_id == user_id)
    )
    row = (await conn.execute(query)).first()
    return _member(row) if row else None


async def insert_membership(
    conn: AsyncConnection, *, tenant_id: UUID, user_id: UUID, role: str
) -> None:
    await conn.execute(memberships.insert().values(tenant_id=tenant_id, user_id=user_id, role=role))


async def update_membership(conn: AsyncConnection, user_id: UUID, **values: Any) -> None:
    await conn.execute(
        memberships.update().where(memberships.c.user_id == user_id).values(**values)
    )


async def delete_membership(conn: AsyncConnection, user_id: UUID) -> None:
    await conn.execute(memberships.delete().where(memberships.c.user_id == user_id))


async def count_active_admins(conn: AsyncConnection) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(memberships)
        .where(memberships.c.role == "admin", memberships.c.status == "active")
    )
    return int((await conn.execute(query)).scalar_one())


async def count_seats_taken(conn: AsyncConnection, *, now: datetime) -> int:
    """Members plus pending invites: each holds a seat."""
    members = sa.select(sa.func.count()).select_from(memberships).scalar_subquery()
    pending = (
        sa.select(sa.func.count())
        .select_from(invites)
        .where(
            invites.c.accepted_at.is_(None),
            invites.c.revoked_at.is_(None),
            invites.c.expires_at > now,
        )
        .scalar_subquery()
    )
    return int((await conn.execute(sa.select(members + pending))).scalar_one())


async def count_members(conn: AsyncConnection) -> int:
    return int(
        (await conn.execute(sa.select(sa.func.count()).select_from(memberships))).scalar_one()
    )


async def user_tenant_ids(conn: AsyncConnection, user_id: UUID) -> list[UUID]:
    """Needs `set_user(user_id)` in the transaction (own-rows policy)."""
    query = sa.select(memberships.c.tenant_id).where(memberships.c.user_id == user_id)
    return list((await conn.execute(query)).scalars())


async def insert_invite(conn: AsyncConnection, **values: Any) -> AnyRow:
    row: AnyRow = (await conn.execute(invites.insert().values(**values).returning(invites))).one()
    return row


async def list_pending_invites(conn: AsyncConnection, *, now: datetime) -> list[AnyRow]:
    query = (
        sa.select(invites)
        .where(
            invites.c.accepted_at.is_(None),
            invites.c.revoked_at.is_(None),
            invites.c.expires_at > now,
        )
        .order_by(invites.c.created_at)
    )
    return list((await conn.execute(query)).all())


async def get_invite(conn: AsyncConnection, invite_id: UUID) -> AnyRow | None:
    return (await conn.execute(sa.select(invites).where(invites.c.id == invite_id))).first()


async def get_invite_by_hash(conn: AsyncConnection, token_hash: bytes) -> AnyRow | None:
    query = sa.select(invites).where(invites.c.token_hash == token_hash).with_for_update()
    return (await conn.execute(query)).first()


async def revoke_pending_invites_for(conn: AsyncConnection, email: str, *, now: datetime) -> None:
    await conn.execute(
        invites.update()
        .where(
            invites.c.email == email,
            invites.c.accepted_at.is_(None),
            invites.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


async def update_invite(conn: AsyncConnection, invite_id: UUID, **values: Any) -> None:
    await conn.execute(invites.update().where(invites.c.id == invite_id).values(**values))
