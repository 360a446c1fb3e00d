"""Signup, login, token refresh with reuse detection, logout, sessions, and request principals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit import actions as audit_actions
from tynebase.audit import service as audit_service
from tynebase.audit.service import Actor
from tynebase.auth import repo
from tynebase.auth.email_flows import do_send_confirmation
from tynebase.auth.passwords import (
    check_password_strength,
    hash_password,
    needs_rehash,
    verify_password,
)
from tynebase.auth.principal import Principal, capped_role
from tynebase.auth.signing import KeyRing
from tynebase.auth.tokens import new_token, same_hash, split_api_key, token_hash
from tynebase.errors import (
    Conflict,
    Forbidden,
    RateLimited,
    TynebaseError,
    Unauthenticated,
)
from tynebase.settings import Settings
from tynebase.tenants import service as tenants_service
from tynebase.tenants.repo import Tenant
from tynebase.users import repo as users_repo
from tynebase.users.repo import User

# Touching last_used_at on every API-key call would turn reads into writes; once a minute is enough.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)
# How long after its rotation a browser session's refresh token may come back from a request that
# was already on its way (see `do_refresh_raced`).
RACE_GRACE = timedelta(seconds=10)


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    access_expires_at: int
    refresh_token: str
    session_id: UUID


@dataclass(frozen=True)
class AccessOnly:
    """A new access token for a session whose refresh token another request just rotated: the
    refresh token that request received stays the only live one."""

    access_token: str
    access_expires_at: int
    session_id: UUID


@dataclass(frozen=True)
class Refusal:
    """A refused request whose side effects (a failed-login count, a revoked token family)
    must be committed before the error is returned."""

    error: TynebaseError


@dataclass(frozen=True)
class SignupResult:
    user: User
    tenant: Tenant
    confirmation_required: bool


def _now() -> datetime:
    return datetime.now(UTC)


async def do_signup(
    conn: AsyncConnection,
    *,
    settings: Settings,
    email: str,
    password: str,
    name: str,
    tenant_name: str,
    subdomain: str,
) -> SignupResult:
    """Create the user, their workspace and its admin membership; send the confirmation mail."""
    email = email.lower()
    tenants_service.check_subdomain(subdomain)
    check_password_strength(password, email=email, name=name)
    if await users_repo.get_user_by_email(conn, email) is not None:
        raise Conflict(
            "An account with this email exists; log in to create another workspace",
            code="EMAIL_TAKEN",
        )
    first_user = await users_repo.count_users(conn) == 0
    tenant = await tenants_service.do_create(conn, subdomain=subdomain, name=tenant_name)
    confirm_now = first_user and settings.confirm_first_admin
    user = await users_repo.insert_user(
        conn,
        email=email,
        name=name.strip(),
        password_hash=await hash_password(password),
        confirmed_at=_now() if confirm_now else None,
    )
    await users_repo.insert_membership(conn, tenant_id=tenant.id, user_id=user.id, role="admin")
    if not confirm_now:
        await do_send_confirmation(conn, settings=settings, user=user)
    return SignupResult(user=user, tenant=tenant, confirmation_required=not confirm_now)


def _check_member(*, user_status: str, role: str | None, member_status: str | None) -> str:
    if user_status != "active":
        raise Forbidden("This account is suspended", code="USER_SUSPENDED")
    if role is None:
        raise Forbidden("This account is not a member of this workspace", code="NOT_A_MEMBER")
    if member_status != "active":
        raise Forbidden("This account is suspended in this workspace", code="USER_SUSPENDED")
    return role


async def _start_session(
    conn: AsyncConnection,
    *,
    settings: Settings,
    keyring: KeyRing,
    tenant: Tenant,
    user_id: UUID,
    ip: str | None,
    user_agent: str | None,
) -> IssuedTokens:
    session_id = await repo.insert_session(
        conn,
        tenant_id=tenant.id,
        user_id=user_id,
        ip=ip,
        user_agent=(user_agent or "").replace("\x00", "")[:300],
        expires_at=_now() + timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    return await _issue(
        conn, keyring=keyring, tenant=tenant, user_id=user_id, session_id=session_id
    )


async def _issue(
    conn: AsyncConnection, *, keyring: KeyRing, tenant: Tenant, user_id: UUID, session_id: UUID
) -> IssuedTokens:
    refresh = new_token()
    await repo.insert_refresh_token(
        conn, tenant_id=tenant.id, session_id=session_id, token_hash=token_hash(refresh)
    )
    if keyring.needs_refresh():
        await keyring.load(conn)
    access, expires_at = keyring.issue(user_id=user_id, tenant_id=tenant.id, session_id=session_id)
    return IssuedTokens(
        access_token=access,
        access_expires_at=expires_at,
        refresh_token=refresh,
        session_id=session_id,
    )


async def do_login(
    conn: AsyncConnection,
    *,
    settings: Settings,
    keyring: KeyRing,
    tenant: Tenant,
    email: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
) -> IssuedTokens | Refusal:
    """Password login into `tenant`; failures count towards the account's lockout."""
    now = _now()
    user = await users_repo.get_user_by_email(conn, email.lower())
    if user is not None and user.locked_until is not None and user.locked_until > now:
        retry_after = int((user.locked_until - now).total_seconds()) + 1
        raise RateLimited(
            "Too many failed logins; this account is locked for a while",
            code="ACCOUNT_LOCKED",
            details={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        actor = Actor.user(user.id if user else None, email.lower())
        await audit_service.record(
            conn,
            action=audit_actions.LOGIN_FAILED,
            actor=actor,
            tenant_id=tenant.id,
            outcome="failure",
            details={"reason": "INVALID_CREDENTIALS", "email": email.lower()},
        )
        if user is not None:
            locked = await users_repo.record_failed_login(
                conn,
                user.id,
                now=now,
                window_start=now - timedelta(seconds=settings.lockout_window_seconds),
                threshold=settings.lockout_threshold,
                locked_until=now + timedelta(seconds=settings.lockout_duration_seconds),
            )
            if locked is not None and locked > now:
                await audit_service.record(
                    conn,
                    action=audit_actions.ACCOUNT_LOCKED,
                    actor=actor,
                    tenant_id=tenant.id,
                    target_type="user",
                    target_id=user.id,
                    outcome="failure",
                    details={"until": locked.isoformat()},
                )
        return Refusal(Unauthenticated("Email or password is wrong", code="INVALID_CREDENTIALS"))
    if user.failed_logins:
        await users_repo.update_user(
            conn, user.id, failed_logins=0, first_failed_login_at=None, locked_until=None
        )
    member = await users_repo.get_member(conn, user.id)
    _check_member(
        user_status=user.status,
        role=member.role if member else None,
        member_status=member.status if member else None,
    )
    if user.email_confirmed_at is None:
        raise Forbidden(
            "Confirm your email address first (see the mail we sent)", code="EMAIL_NOT_CONFIRMED"
        )
    if user.password_hash is not None and needs_rehash(user.password_hash):
        # The configured cost changed (TYNEBASE_ARGON2_*): a login is the one moment the
        # password is known, so the stored hash moves to the new cost now.
        await users_repo.update_user(conn, user.id, password_hash=await hash_password(password))
    issued = await _start_session(
        conn,
        settings=settings,
        keyring=keyring,
        tenant=tenant,
        user_id=user.id,
        ip=ip,
        user_agent=user_agent,
    )
    await audit_service.record(
        conn,
        action=audit_actions.LOGIN_SUCCEEDED,
        actor=Actor.user(user.id, user.email),
        tenant_id=tenant.id,
        target_type="session",
        target_id=issued.session_id,
    )
    return issued


async def do_refresh(
    conn: AsyncConnection, *, keyring: KeyRing, tenant: Tenant, refresh_token: str
) -> IssuedTokens | Refusal:
    """Rotate a refresh token. A token used twice means it leaked: its whole session is revoked."""
    outcome = await _rotate(
        conn, keyring=keyring, tenant=tenant, refresh_token=refresh_token, grace=None
    )
    assert not isinstance(outcome, AccessOnly)  # only given with a grace
    return outcome


async def do_refresh_raced(
    conn: AsyncConnection, *, keyring: KeyRing, tenant: Tenant, refresh_token: str
) -> IssuedTokens | AccessOnly | Refusal:
    """`do_refresh` for browser sessions, whose requests race: when a page and its scripts find
    the access token expired together and reach two API processes, both present the same
    refresh token. The second, within RACE_GRACE of the rotation and while the token it was
    rotated into is still unused, gets a new access token only (AccessOnly). Any other reuse
    (later, or of an older token) still revokes the session."""
    return await _rotate(
        conn, keyring=keyring, tenant=tenant, refresh_token=refresh_token, grace=RACE_GRACE
    )


async def _rotate(
    conn: AsyncConnection,
    *,
    keyring: KeyRing,
    tenant: Tenant,
    refresh_token: str,
    grace: timedelta | None,
) -> IssuedTokens | AccessOnly | Refusal:
    now = _now()
    row = await repo.get_refresh_token_for_update(conn, token_hash(refresh_token))
    if row is None:
        raise Unauthenticated("Refresh token is not valid", code="INVALID_REFRESH_TOKEN")
    session = await repo.get_session_for_update(conn, row.session_id)
    assert session is not None  # FK, same tenant
    if session.revoked_at is not None:
        raise Unauthenticated("This session was revoked; log in again", code="SESSION_REVOKED")
    # The session row is locked: rotations of one session are serialised, so "nothing used
    # since" means the token this one was rotated into is still the live one.
    raced = (
        grace is not None
        and row.used_at is not None
        and now - row.used_at <= grace
        and not await repo.session_token_used_since(conn, session.id, row.used_at)
    )
    if row.used_at is not None and not raced:
        await repo.revoke_sessions(
            conn, now=now, reason="refresh token reuse", session_id=session.id
        )
        await audit_service.record(
            conn,
            action=audit_actions.REFRESH_TOKEN_REUSED,
            actor=Actor.user(session.user_id, None),
            tenant_id=tenant.id,
            target_type="session",
            target_id=session.id,
            outcome="failure",
        )
        return Refusal(
            Unauthenticated(
                "Refresh token was already used; the session is revoked for safety",
                code="REFRESH_TOKEN_REUSED",
            )
        )
    if session.expires_at <= now:
        raise Unauthenticated("This session has expired; log in again", code="SESSION_EXPIRED")
    user = await users_repo.get_user(conn, session.user_id)
    member = await users_repo.get_member(conn, session.user_id)
    assert user is not None
    _check_member(
        user_status=user.status,
        role=member.role if member else None,
        member_status=member.status if member else None,
    )
    if raced:
        if keyring.needs_refresh():
            await keyring.load(conn)
        access, expires_at = keyring.issue(
            user_id=user.id, tenant_id=tenant.id, session_id=session.id
        )
        return AccessOnly(access_token=access, access_expires_at=expires_at, session_id=session.id)
    await repo.mark_refresh_token_used(conn, row.id, now=now)
    await repo.touch_session(conn, session.id, now=now)
    return await _issue(
        conn, keyring=keyring, tenant=tenant, user_id=user.id, session_id=session.id
    )


async def access_principal(
    conn: AsyncConnection, *, keyring: KeyRing, tenant: Tenant, credential: str
) -> Principal:
    """The caller behind a bearer credential (access JWT or API key) in `tenant`, or 401/403."""
    if credential.startswith("tb_"):
        return await _api_key_principal(conn, tenant=tenant, key=credential)
    if keyring.needs_refresh():
        await keyring.load(conn)
    claims = keyring.cached_claims(credential)
    if claims is None:
        kid = KeyRing.kid_of(credential)
        if keyring.needs_refresh(kid):
            await keyring.load(conn)
        claims = keyring.verify(credential, kid=kid)
    if claims.tenant_id != tenant.id:
        raise Unauthenticated("This token belongs to another workspace", code="INVALID_TOKEN")
    row = await repo.session_principal_row(
        conn, session_id=claims.session_id, user_id=claims.user_id
    )
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("This session was revoked; log in again", code="SESSION_REVOKED")
    if row.expires_at <= _now():
        raise Unauthenticated("This session has expired; log in again", code="SESSION_EXPIRED")
    role = _check_member(
        user_status=row.user_status, role=row.role, member_status=row.member_status
    )
    return Principal(
        user_id=row.user_id,
        email=row.email,
        name=row.name,
        role=role,
        is_superadmin=row.is_superadmin,
        session_id=claims.session_id,
    )


async def _api_key_principal(conn: AsyncConnection, *, tenant: Tenant, key: str) -> Principal:
    prefix = split_api_key(key)
    row = await repo.api_key_principal_row(conn, prefix=prefix) if prefix else None
    if row is None or not same_hash(key, row.key_hash):
        raise Unauthenticated("API key is not valid for this workspace", code="INVALID_API_KEY")
    now = _now()
    if row.revoked_at is not None:
        raise Unauthenticated("API key was revoked", code="API_KEY_REVOKED")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthenticated("API key has expired", code="API_KEY_EXPIRED")
    role = _check_member(
        user_status=row.user_status, role=row.role, member_status=row.member_status
    )
    if row.last_used_at is None or now - row.last_used_at > API_KEY_TOUCH_INTERVAL:
        await repo.update_api_key(conn, row.api_key_id, last_used_at=now)
    return Principal(
        user_id=row.user_id,
        email=row.email,
        name=row.name,
        role=capped_role(role, row.scope),
        is_superadmin=row.is_superadmin,
        api_key_id=row.api_key_id,
    )
