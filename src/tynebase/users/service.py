"""Members and invites: roles, suspension, removal, seat limits by tier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit import actions as audit_actions
from tynebase.audit import service as audit_service
from tynebase.audit.service import Actor
from tynebase.auth import repo as auth_repo
from tynebase.auth.passwords import check_password_strength, hash_password
from tynebase.auth.principal import Principal
from tynebase.auth.revocation import announce_access_change
from tynebase.auth.tokens import new_token, token_hash
from tynebase.db.metadata import AnyRow
from tynebase.errors import Conflict, Forbidden, Gone, NotFound, ValidationFailed
from tynebase.mail import service as mail_service
from tynebase.settings import Settings
from tynebase.tenants import service as tenants_service
from tynebase.tenants.repo import Tenant
from tynebase.users import repo
from tynebase.users.repo import Member, User


def _now() -> datetime:
    return datetime.now(UTC)


async def access_member(conn: AsyncConnection, *, user_id: UUID) -> Member:
    member = await repo.get_member(conn, user_id)
    if member is None:
        raise NotFound("Member not found", code="MEMBER_NOT_FOUND")
    return member


async def _check_keeps_an_admin(conn: AsyncConnection, member: Member) -> None:
    if (
        member.role == "admin"
        and member.status == "active"
        and await repo.count_active_admins(conn) <= 1
    ):
        raise Conflict("A workspace needs at least one active admin", code="LAST_ADMIN")


async def do_update_member(
    conn: AsyncConnection,
    *,
    principal: Principal,
    user_id: UUID,
    role: str | None,
    status: str | None,
) -> Member:
    """Change a member's role or status; suspension also revokes their sessions here."""
    principal.check_role("admin")
    member = await access_member(conn, user_id=user_id)
    demoted = role is not None and role != "admin"
    if (demoted or status == "suspended") and member.role == "admin":
        await _check_keeps_an_admin(conn, member)
    values = {k: v for k, v in {"role": role, "status": status}.items() if v is not None}
    if values:
        await repo.update_membership(conn, user_id, **values)
    if status == "suspended":
        await auth_repo.revoke_sessions(
            conn, now=_now(), reason="member suspended", user_id=user_id
        )
    elif role is not None and role != member.role:
        # Live connections hold the old role (a collab socket may still be writable).
        await announce_access_change(conn, reason="role changed", user_id=user_id)
    if values:
        await audit_service.record(
            conn,
            action=audit_actions.MEMBER_UPDATED,
            actor=Actor.of(principal),
            target_type="user",
            target_id=user_id,
            details={
                "email": member.email,
                "before": {"role": member.role, "status": member.status},
                "after": {k: values.get(k, getattr(member, k)) for k in ("role", "status")},
            },
        )
    return await access_member(conn, user_id=user_id)


async def do_remove_member(conn: AsyncConnection, *, principal: Principal, user_id: UUID) -> None:
    principal.check_role("admin")
    member = await access_member(conn, user_id=user_id)
    await _check_keeps_an_admin(conn, member)
    await auth_repo.revoke_sessions(conn, now=_now(), reason="member removed", user_id=user_id)
    await repo.delete_membership(conn, user_id)
    await audit_service.record(
        conn,
        action=audit_actions.MEMBER_REMOVED,
        actor=Actor.of(principal),
        target_type="user",
        target_id=user_id,
        details={"email": member.email, "role": member.role},
    )


async def _check_seat_available(conn: AsyncConnection, tenant: Tenant, *, taken: int) -> None:
    limit = tenants_service.seat_limit(tenant.tier)
    if limit is not None and taken >= limit:
        raise Forbidden(
            f"The {tenant.tier} plan has {limit} seat(s) and all are taken (pending invites count)",
            code="SEAT_LIMIT_REACHED",
            details={"tier": tenant.tier, "seats": limit},
        )


async def do_invite(
    conn: AsyncConnection,
    *,
    settings: Settings,
    principal: Principal,
    tenant: Tenant,
    email: str,
    role: str,
) -> AnyRow:
    """Invite by email; a pending invite holds a seat until accepted, revoked or expired."""
    principal.check_role("admin")
    email = email.lower()
    existing = await repo.get_user_by_email(conn, email)
    if existing is not None and await repo.get_member(conn, existing.id) is not None:
        raise Conflict("This person is already a member", code="ALREADY_MEMBER")
    now = _now()
    await repo.revoke_pending_invites_for(conn, email, now=now)
    await _check_seat_available(conn, tenant, taken=await repo.count_seats_taken(conn, now=now))
    token = new_token()
    invite = await repo.insert_invite(
        conn,
        tenant_id=tenant.id,
        email=email,
        role=role,
        token_hash=token_hash(token),
        invited_by=principal.user_id,
        expires_at=now + timedelta(seconds=settings.invite_ttl_seconds),
    )
    await audit_service.record(
        conn,
        action=audit_actions.INVITE_CREATED,
        actor=Actor.of(principal),
        tenant_id=tenant.id,
        target_type="invite",
        target_id=invite.id,
        details={"email": email, "role": role},
    )
    link = (
        f"{settings.public_url.rstrip('/')}/invite?tenant={quote(tenant.subdomain)}"
        f"&token={quote(token)}"
    )
    await mail_service.do_queue(
        conn,
        to=email,
        subject=f"You are invited to {tenant.name} on TyneBase",
        body=(
            f"{principal.name} invited you to join {tenant.name} as {role}.\n\n{link}\n\n"
            f"Token: {token}\n"
        ),
    )
    return invite


async def list_invites(conn: AsyncConnection, *, principal: Principal) -> list[AnyRow]:
    principal.check_role("admin")
    return await repo.list_pending_invites(conn, now=_now())


async def do_revoke_invite(conn: AsyncConnection, *, principal: Principal, invite_id: UUID) -> None:
    principal.check_role("admin")
    invite = await repo.get_invite(conn, invite_id)
    if invite is None or invite.revoked_at is not None or invite.accepted_at is not None:
        raise NotFound("Invite not found", code="INVITE_NOT_FOUND")
    await repo.update_invite(conn, invite_id, revoked_at=_now())
    await audit_service.record(
        conn,
        action=audit_actions.INVITE_REVOKED,
        actor=Actor.of(principal),
        target_type="invite",
        target_id=invite_id,
        details={"email": invite.email},
    )


async def do_accept_invite(
    conn: AsyncConnection, *, tenant: Tenant, token: str, name: str | None, password: str | None
) -> tuple[User, str]:
    """Join the workspace; a new account is created (email proven by the link) if needed."""
    now = _now()
    invite = await repo.get_invite_by_hash(conn, token_hash(token))
    if invite is None:
        raise NotFound("This invite is not valid", code="INVITE_INVALID")
    if invite.accepted_at is not None or invite.revoked_at is not None:
        raise Gone("This invite was already used or revoked", code="INVITE_USED")
    if invite.expires_at <= now:
        raise Gone("This invite has expired; ask for a new one", code="INVITE_EXPIRED")
    await _check_seat_available(conn, tenant, taken=await repo.count_members(conn))
    user = await repo.get_user_by_email(conn, invite.email)
    if user is None:
        if not name or not password:
            raise ValidationFailed(
                "New accounts need a name and a password", details={"fields": ["name", "password"]}
            )
        check_password_strength(password, email=invite.email, name=name)
        user = await repo.insert_user(
            conn,
            email=invite.email,
            name=name.strip(),
            password_hash=await hash_password(password),
            confirmed_at=now,
        )
    elif user.email_confirmed_at is None:
        await repo.update_user(conn, user.id, email_confirmed_at=now)
    if await repo.get_member(conn, user.id) is not None:
        raise Conflict("This person is already a member", code="ALREADY_MEMBER")
    await repo.insert_membership(conn, tenant_id=tenant.id, user_id=user.id, role=invite.role)
    await repo.update_invite(conn, invite.id, accepted_at=now)
    await audit_service.record(
        conn,
        action=audit_actions.INVITE_ACCEPTED,
        actor=Actor.user(user.id, user.email),
        tenant_id=tenant.id,
        target_type="invite",
        target_id=invite.id,
        details={"role": invite.role},
    )
    return user, invite.role
