"""Email confirmation and password reset: single-use, expiring tokens sent through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit import actions as audit_actions
from tynebase.audit import service as audit_service
from tynebase.audit.service import Actor
from tynebase.auth import repo
from tynebase.auth.passwords import check_password_strength, hash_password
from tynebase.auth.sessions import do_revoke_user_sessions_everywhere
from tynebase.auth.tokens import new_token, token_hash
from tynebase.errors import ValidationFailed
from tynebase.mail import service as mail_service
from tynebase.settings import Settings
from tynebase.users import repo as users_repo
from tynebase.users.repo import User


async def _send_token(
    conn: AsyncConnection,
    *,
    settings: Settings,
    user: User,
    purpose: str,
    ttl: int,
    subject: str,
    text: str,
    path: str,
) -> None:
    token = new_token()
    await repo.insert_email_token(
        conn,
        user_id=user.id,
        purpose=purpose,
        token_hash=token_hash(token),
        expires_at=datetime.now(UTC) + timedelta(seconds=ttl),
    )
    link = f"{settings.public_url.rstrip('/')}{path}?token={quote(token)}"
    body = f"Hello {user.name},\n\n{text}\n\n{link}\n\nToken: {token}\n"
    await mail_service.do_queue(conn, to=user.email, subject=subject, body=body)


async def do_send_confirmation(conn: AsyncConnection, *, settings: Settings, user: User) -> None:
    await _send_token(
        conn,
        settings=settings,
        user=user,
        purpose="confirm",
        ttl=settings.email_token_ttl_seconds,
        subject="Confirm your TyneBase account",
        text="Confirm your email address to start using TyneBase:",
        path="/confirm",
    )


async def do_resend_confirmation(conn: AsyncConnection, *, settings: Settings, email: str) -> None:
    """Says nothing about whether the account exists (no enumeration)."""
    user = await users_repo.get_user_by_email(conn, email)
    if user is not None and user.email_confirmed_at is None:
        await do_send_confirmation(conn, settings=settings, user=user)


async def _spend_token(conn: AsyncConnection, *, token: str, purpose: str) -> User:
    now = datetime.now(UTC)
    row = await repo.get_email_token_for_update(conn, token_hash(token), purpose)
    if row is None:
        raise ValidationFailed("This link is not valid", code="EMAIL_TOKEN_INVALID")
    if row.used_at is not None:
        raise ValidationFailed("This link was already used", code="EMAIL_TOKEN_USED")
    if row.expires_at <= now:
        raise ValidationFailed(
            "This link has expired; ask for a new one", code="EMAIL_TOKEN_EXPIRED"
        )
    await repo.use_email_tokens(conn, user_id=row.user_id, purpose=purpose, now=now)
    user = await users_repo.get_user(conn, row.user_id)
    assert user is not None  # FK with cascade
    return user


async def do_confirm(conn: AsyncConnection, *, token: str) -> User:
    user = await _spend_token(conn, token=token, purpose="confirm")
    if user.email_confirmed_at is None:
        await users_repo.update_user(conn, user.id, email_confirmed_at=datetime.now(UTC))
    return user


async def do_forgot_password(conn: AsyncConnection, *, settings: Settings, email: str) -> None:
    """Mails a reset link if the account exists; the answer is the same either way."""
    user = await users_repo.get_user_by_email(conn, email)
    if user is not None and user.status == "active":
        await _send_token(
            conn,
            settings=settings,
            user=user,
            purpose="reset",
            ttl=settings.password_reset_ttl_seconds,
            subject="Reset your TyneBase password",
            text="Someone asked to reset your password. If it was you, open:",
            path="/reset",
        )


async def do_reset_password(conn: AsyncConnection, *, token: str, password: str) -> User:
    """Set a new password, confirm the email (the link proved it) and lift any lockout."""
    user = await _spend_token(conn, token=token, purpose="reset")
    check_password_strength(password, email=user.email, name=user.name)
    await users_repo.update_user(
        conn,
        user.id,
        password_hash=await hash_password(password),
        failed_logins=0,
        first_failed_login_at=None,
        locked_until=None,
        email_confirmed_at=user.email_confirmed_at or datetime.now(UTC),
    )
    await do_revoke_user_sessions_everywhere(conn, user_id=user.id, reason="password reset")
    # A platform entry: the account (and its password) belongs to no single workspace.
    await audit_service.record(
        conn,
        action=audit_actions.PASSWORD_RESET,
        actor=Actor.user(user.id, user.email),
        tenant_id=None,
        target_type="user",
        target_id=user.id,
    )
    return user
