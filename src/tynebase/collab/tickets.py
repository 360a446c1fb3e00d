"""Socket tickets (COL-2): issued by the API for one document, redeemed once by a collab process.

A ticket reads `tb_c<tenant hex>_<secret>`: the tenant part lets the collab process enter the
right tenant (RLS) before it looks the hash up, and a forged tenant part finds nothing because
the hash covers the whole ticket. Only the hash is stored; redeeming marks it used in the same
statement that finds it, so two sockets can never share one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal, capped_role
from tynebase.auth.tokens import new_token, token_hash
from tynebase.collab import repo
from tynebase.collab.codes import CloseCode, Refused
from tynebase.documents import access
from tynebase.documents import service as documents_service
from tynebase.errors import NotFound

_TICKET = re.compile(r"tb_c([0-9a-f]{32})_[A-Za-z0-9_-]{20,100}")
# Used and expired tickets are kept this long (they explain a refusal), then swept.
_KEEP_EXPIRED = timedelta(hours=1)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class IssuedTicket:
    ticket: str
    expires_at: datetime
    read_only: bool
    role: str


@dataclass(frozen=True)
class Grant:
    """What one socket may do: who holds it, for which document, and whether it may write."""

    tenant_id: UUID
    subdomain: str
    document_id: UUID
    principal: Principal
    writable: bool

    @property
    def room_key(self) -> tuple[UUID, UUID]:
        return (self.tenant_id, self.document_id)


async def do_issue(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    document_id: UUID,
    ttl_seconds: int,
) -> IssuedTicket:
    """A single-use ticket for a document the caller may read; read-only unless they may edit."""
    document = await documents_service.access_document(
        conn, principal=principal, document_id=document_id
    )
    read_only = not access.can_edit(principal, **document.rights)
    now = _now()
    ticket = f"tb_c{tenant_id.hex}_{new_token()}"
    await repo.delete_expired_tickets(conn, before=now - _KEEP_EXPIRED)
    await repo.insert_ticket(
        conn,
        tenant_id=tenant_id,
        token_hash=token_hash(ticket),
        document_id=document_id,
        user_id=principal.user_id,
        session_id=principal.session_id,
        api_key_id=principal.api_key_id,
        role=principal.role,
        read_only=read_only,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    return IssuedTicket(
        ticket=ticket,
        expires_at=now + timedelta(seconds=ttl_seconds),
        read_only=read_only,
        role=principal.role,
    )


def tenant_of(ticket: str | None) -> UUID:
    """The tenant a ticket names (not yet proof of anything), or TICKET_INVALID."""
    match = _TICKET.fullmatch(ticket or "")
    if match is None:
        raise Refused(CloseCode.TICKET_INVALID, "no ticket, or not a ticket")
    return UUID(match.group(1))


async def do_redeem(
    conn: AsyncConnection,
    *,
    ticket: str,
    tenant_id: UUID,
    document_id: UUID,
    subdomain: str | None,
) -> Grant:
    """Use the ticket (once) and check that its holder may still open the document.

    `conn` is a unit of work already entered for `tenant_of(ticket)`.
    """
    now = _now()
    row = await repo.use_ticket(conn, token_hash(ticket), now=now)
    if row is None:
        raise Refused(CloseCode.TICKET_INVALID, "unknown or already used ticket")
    if row.expires_at <= now:
        raise Refused(CloseCode.TICKET_EXPIRED)
    if row.document_id != document_id:
        raise Refused(CloseCode.WRONG_TENANT, "the ticket is for another document")
    principal = Principal(
        user_id=row.user_id,
        email="",
        name="",
        role=row.role,
        is_superadmin=False,
        session_id=row.session_id,
        api_key_id=row.api_key_id,
    )
    grant = Grant(
        tenant_id=tenant_id,
        subdomain="",
        document_id=document_id,
        principal=principal,
        writable=not row.read_only,
    )
    grant = await check_access(conn, grant)
    if subdomain is not None and subdomain != grant.subdomain:
        raise Refused(CloseCode.WRONG_TENANT, "the ticket belongs to another workspace")
    return grant


async def check_access(conn: AsyncConnection, grant: Grant) -> Grant:
    """The grant as it stands now (current role, still writable?), or Refused with the reason.

    Used when a ticket is redeemed and again whenever an access change is announced (COL-5).
    `conn` must be a unit of work for the grant's tenant.
    """
    principal = grant.principal
    state = await repo.access_state(
        conn,
        tenant_id=grant.tenant_id,
        user_id=principal.user_id,
        session_id=principal.session_id,
        api_key_id=principal.api_key_id,
    )
    if state is None:
        raise Refused(CloseCode.ACCESS_REVOKED, "user or workspace gone")
    if state.tenant_status != "active":
        raise Refused(CloseCode.TENANT_SUSPENDED)
    # Suspension also revokes the sessions: check it first so it gets its own code.
    if state.user_status != "active" or state.role is None or state.member_status != "active":
        raise Refused(CloseCode.ACCESS_REVOKED, "user suspended or no longer a member")
    if principal.session_id is not None and (
        state.revoked_at is not None or state.expires_at is None or state.expires_at <= _now()
    ):
        raise Refused(CloseCode.SESSION_REVOKED)
    if principal.api_key_id is not None and (
        state.revoked_at is not None
        or state.scope is None
        or (state.expires_at is not None and state.expires_at <= _now())
    ):
        raise Refused(CloseCode.ACCESS_REVOKED, "API key revoked or expired")
    role = state.role
    if principal.api_key_id is not None:
        role = capped_role(role, state.scope)
    current = replace(
        principal,
        email=state.email,
        name=state.name,
        role=role,
        is_superadmin=state.is_superadmin,
    )
    try:
        document = await documents_service.access_document(
            conn, principal=current, document_id=grant.document_id
        )
    except NotFound:
        raise Refused(CloseCode.DOCUMENT_NOT_FOUND) from None
    writable = grant.writable and access.can_edit(current, **document.rights)
    return replace(grant, subdomain=state.subdomain, principal=current, writable=writable)
