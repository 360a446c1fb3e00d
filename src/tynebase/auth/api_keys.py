"""API keys for automation: shown once, stored hashed, scoped, expiring, revocable, rotatable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit import actions as audit_actions
from tynebase.audit import service as audit_service
from tynebase.audit.service import Actor
from tynebase.auth import repo
from tynebase.auth.principal import ROLE_RANK, SCOPE_CEILING, Principal
from tynebase.auth.tokens import new_api_key, token_hash
from tynebase.db.metadata import AnyRow
from tynebase.errors import Forbidden, NotFound


@dataclass(frozen=True)
class CreatedKey:
    row: AnyRow
    key: str  # the only time the full key exists outside its holder


def _check_scope_allowed(principal: Principal, scope: str) -> None:
    if ROLE_RANK[SCOPE_CEILING[scope]] > ROLE_RANK[principal.role]:
        raise Forbidden(
            f"Your role cannot create {scope}-scoped keys",
            code="INSUFFICIENT_ROLE",
            details={"scope": scope, "role": principal.role},
        )


async def do_create(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    name: str,
    scope: str,
    expires_at: datetime | None,
) -> CreatedKey:
    """A new key acting as `principal`, capped at `scope`."""
    _check_scope_allowed(principal, scope)
    prefix, key = new_api_key()
    row = await repo.insert_api_key(
        conn,
        tenant_id=tenant_id,
        user_id=principal.user_id,
        name=name.strip(),
        prefix=prefix,
        key_hash=token_hash(key),
        scope=scope,
        expires_at=expires_at,
    )
    await audit_service.record(
        conn,
        action=audit_actions.API_KEY_CREATED,
        actor=Actor.of(principal),
        tenant_id=tenant_id,
        target_type="api_key",
        target_id=row.id,
        details={"name": row.name, "scope": scope, "prefix": prefix},
    )
    return CreatedKey(row=row, key=key)


async def list_visible(conn: AsyncConnection, *, principal: Principal) -> list[AnyRow]:
    """Admins see every key of the workspace; others their own."""
    return await repo.list_api_keys(
        conn, user_id=None if principal.has_role("admin") else principal.user_id
    )


async def access_key(conn: AsyncConnection, *, principal: Principal, key_id: UUID) -> AnyRow:
    row = await repo.get_api_key(conn, key_id)
    if (
        row is None
        or row.revoked_at is not None
        or (row.user_id != principal.user_id and not principal.has_role("admin"))
    ):
        raise NotFound("API key not found", code="API_KEY_NOT_FOUND")
    return row


async def do_revoke(conn: AsyncConnection, *, principal: Principal, key_id: UUID) -> None:
    key = await access_key(conn, principal=principal, key_id=key_id)
    await repo.update_api_key(conn, key_id, revoked_at=datetime.now(UTC))
    await audit_service.record(
        conn,
        action=audit_actions.API_KEY_REVOKED,
        actor=Actor.of(principal),
        target_type="api_key",
        target_id=key_id,
        details={"name": key.name, "prefix": key.prefix},
    )


async def do_rotate(
    conn: AsyncConnection, *, principal: Principal, key_id: UUID, overlap: timedelta
) -> CreatedKey:
    """Issue a successor with the same name, scope and expiry; the old key works for `overlap`."""
    old = await access_key(conn, principal=principal, key_id=key_id)
    # The successor carries the old scope: rotating must not mint more than creating could.
    _check_scope_allowed(principal, old.scope)
    old_end = datetime.now(UTC) + overlap
    if old.expires_at is None or old.expires_at > old_end:
        await repo.update_api_key(conn, key_id, expires_at=old_end)
    prefix, key = new_api_key()
    row = await repo.insert_api_key(
        conn,
        tenant_id=old.tenant_id,
        user_id=old.user_id,
        name=old.name,
        prefix=prefix,
        key_hash=token_hash(key),
        scope=old.scope,
        expires_at=old.expires_at,
    )
    await audit_service.record(
        conn,
        action=audit_actions.API_KEY_ROTATED,
        actor=Actor.of(principal),
        target_type="api_key",
        target_id=key_id,
        details={"successor": str(row.id), "overlap_seconds": int(overlap.total_seconds())},
    )
    return CreatedKey(row=row, key=key)
