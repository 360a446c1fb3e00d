"""Share links (DOC-6): a random token, view-only, expiring in 1-365 days, revocable.

The public read endpoint has no tenant header, so the token names its tenant:
`tb_s<tenant-uuid-hex>_<43 random URL-safe characters>`. The reader sets that tenant for its
transaction and looks the token up by hash under RLS: a token whose tenant part was swapped
finds nothing. Only the SHA-256 of the whole token is stored. The `tb_..._...` shape is the one
the log redaction (`tynebase.logging`) hides, so the token never reaches a log line, even as
part of a request path.

A share shows the published text only (never a pending draft), so only published documents can
be shared; whoever may edit a document may share it and revoke its links.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.auth.tokens import token_hash
from tynebase.db.metadata import AnyRow
from tynebase.documents import access, lineage
from tynebase.documents.models import documents, shares
from tynebase.documents.repo import Document
from tynebase.documents.service import access_document
from tynebase.errors import Conflict, Gone, NotFound, ValidationFailed
from tynebase.tenants import repo as tenants_repo
from tynebase.tenants import service as tenants_service

TOKEN_PATTERN = re.compile(r"^tb_s([0-9a-f]{32})_[A-Za-z0-9_-]{43}$")
MIN_DAYS, MAX_DAYS = 1, 365
# A view refreshes `last_viewed_at` at most this often: a popular link is not a write per read.
VIEW_STAMP_INTERVAL = timedelta(minutes=1)


def now() -> datetime:
    return datetime.now(UTC)


def new_share_token(tenant_id: UUID) -> str:
    return f"tb_s{tenant_id.hex}_{secrets.token_urlsafe(32)}"


def tenant_of_token(token: str) -> UUID:
    """The tenant a token names (not proof that the token exists)."""
    match = TOKEN_PATTERN.match(token)
    if match is None:
        raise _share_not_found()
    return UUID(hex=match.group(1))


def _share_not_found() -> NotFound:
    return NotFound("This share link does not exist", code="SHARE_NOT_FOUND")


def share_status(row: AnyRow, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if row.expires_at <= now else "active"


@dataclass(frozen=True)
class CreatedShare:
    row: AnyRow
    token: str  # the only time the token exists outside its holder


async def _document_to_share(
    conn: AsyncConnection, principal: Principal, document_id: UUID, *, for_update: bool = False
) -> Document:
    document = await access_document(
        conn, principal=principal, document_id=document_id, for_update=for_update
    )
    access.check_edit(principal, **document.rights)
    return document


async def do_create(
    conn: AsyncConnection, *, principal: Principal, document_id: UUID, expires_in_days: int
) -> CreatedShare:
    """A new view-only link to the document's published text."""
    if not MIN_DAYS <= expires_in_days <= MAX_DAYS:
        raise ValidationFailed(
            f"Links expire in {MIN_DAYS} to {MAX_DAYS} days",
            details={"field": "expires_in_days", "min": MIN_DAYS, "max": MAX_DAYS},
        )
    document = await _document_to_share(conn, principal, document_id, for_update=True)
    if document.status != "published":
        raise Conflict(
            "Only published documents can be shared; publish it first",
            code="DOCUMENT_NOT_PUBLISHED",
        )
    token = new_share_token(document.tenant_id)
    row = (
        await conn.execute(
            shares.insert()
            .values(
                tenant_id=document.tenant_id,
                document_id=document_id,
                token_hash=token_hash(token),
                created_by=principal.user_id,
                expires_at=now() + timedelta(days=expires_in_days),
            )
            .returning(shares)
        )
    ).one()
    await lineage.record(
        conn,
        tenant_id=document.tenant_id,
        document_id=document_id,
        event="shared",
        actor_id=principal.user_id,
        version=document.current_version,
        details={"share_id": str(row.id), "expires_at": row.expires_at.isoformat()},
    )
    return CreatedShare(row=row, token=token)


async def list_for_document(
    conn: AsyncConnection, *, principal: Principal, document_id: UUID
) -> list[AnyRow]:
    """Every link of the document (active, expired and revoked), newest first; no tokens."""
    await _document_to_share(conn, principal, document_id)
    query = (
        sa.select(shares)
        .where(shares.c.document_id == document_id)
        .order_by(shares.c.created_at.desc(), shares.c.id)
    )
    return list((await conn.execute(query)).all())


async def do_revoke(conn: AsyncConnection, *, principal: Principal, share_id: UUID) -> None:
    """Revoke an active or expired link (a revoked one is not found again)."""
    query = sa.select(shares).where(shares.c.id == share_id).with_for_update()
    row = (await conn.execute(query)).first()
    if row is None or row.revoked_at is not None:
        raise _share_not_found()
    try:
        document = await _document_to_share(conn, principal, row.document_id)
    except NotFound:
        raise _share_not_found() from None
    await conn.execute(shares.update().where(shares.c.id == share_id).values(revoked_at=now()))
    await lineage.record(
        conn,
        tenant_id=document.tenant_id,
        document_id=document.id,
        event="unshared",
        actor_id=principal.user_id,
        version=document.current_version,
        details={"share_id": str(share_id)},
    )


@dataclass(frozen=True)
class SharedDocument:
    title: str
    body: str
    tenant_subdomain: str  # for the request log, never for the reader


async def do_view(conn: AsyncConnection, *, token: str, tenant_id: UUID) -> SharedDocument:
    """What a link shows, in a transaction whose tenant is `tenant_of_token(token)`."""
    tenant = await tenants_repo.get_by_id(conn, tenant_id)
    if tenant is None:
        raise _share_not_found()
    moment = now()
    query = (
        sa.select(
            shares.c.id,
            shares.c.expires_at,
            shares.c.revoked_at,
            shares.c.last_viewed_at,
            documents.c.title,
            documents.c.body,
            documents.c.status,
        )
        .join(documents, documents.c.id == shares.c.document_id)
        .where(shares.c.token_hash == token_hash(token))
    )
    row = (await conn.execute(query)).first()
    # A document that is no longer published (by any future path) shows nothing either.
    if row is None or row.status != "published":
        raise _share_not_found()
    tenants_service.check_active(tenant)
    if row.revoked_at is not None:
        raise Gone("This share link was revoked", code="SHARE_REVOKED")
    if row.expires_at <= moment:
        raise Gone("This share link has expired", code="SHARE_EXPIRED")
    if row.last_viewed_at is None or row.last_viewed_at < moment - VIEW_STAMP_INTERVAL:
        await conn.execute(
            shares.update().where(shares.c.id == row.id).values(last_viewed_at=moment)
        )
    return SharedDocument(title=row.title, body=row.body, tenant_subdomain=tenant.subdomain)
