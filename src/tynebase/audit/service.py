"""Record audit entries in the caller's transaction, and read them back for tenant admins.

Call `record` inside the same unit of work as the change it describes: the entry commits with
the change or not at all. Example::

    await audit_service.record(
        conn, action=actions.MEMBER_UPDATED, actor=Actor.of(principal),
        target_type="user", target_id=str(user_id), details={"role": "editor"},
    )
"""

from __future__ import annotations

import getpass
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit import repo
from tynebase.audit.context import client_ip_var
from tynebase.audit.repo import CURRENT_TENANT, Filters
from tynebase.db.metadata import AnyRow
from tynebase.documents import cursor as cursors
from tynebase.logging import request_id_var

MAX_PAGE = 200


class _Caller(Protocol):
    """What an audit actor needs of a principal (kept structural: auth imports audit)."""

    @property
    def user_id(self) -> UUID: ...
    @property
    def email(self) -> str: ...
    @property
    def api_key_id(self) -> UUID | None: ...


@dataclass(frozen=True)
class Actor:
    """Who did it: a user (session), an API key, an operator at the CLI, or the system."""

    kind: str
    user_id: UUID | None = None
    label: str | None = None

    @classmethod
    def of(cls, principal: _Caller) -> Actor:
        return cls(
            kind="api_key" if principal.api_key_id else "user",
            user_id=principal.user_id,
            label=principal.email,
        )

    @classmethod
    def user(cls, user_id: UUID | None, email: str | None) -> Actor:
        return cls(kind="user" if user_id else "anonymous", user_id=user_id, label=email)

    @classmethod
    def operator(cls) -> Actor:
        """The person at the command line (incident response leaves a trail too)."""
        try:
            name = os.environ.get("TYNEBASE_OPERATOR") or getpass.getuser()
        except (KeyError, OSError):  # no passwd entry in some containers
            name = "unknown"
        return cls(kind="operator", label=f"cli:{name}")


SYSTEM = Actor(kind="system", label="tynebase")


async def record(
    conn: AsyncConnection,
    *,
    action: str,
    actor: Actor,
    tenant_id: UUID | Literal["current"] | None = "current",
    target_type: str | None = None,
    target_id: str | UUID | None = None,
    outcome: str = "success",
    details: dict[str, Any] | None = None,
) -> None:
    """Append an entry; `tenant_id` defaults to the transaction's tenant, None = platform."""
    if tenant_id is None:
        await repo.enter_platform(conn)
    await repo.insert(
        conn,
        tenant_id=CURRENT_TENANT if tenant_id == "current" else tenant_id,
        # clock_timestamp, not now(): entries of one transaction keep their order.
        occurred_at=sa.func.clock_timestamp(),
        action=action,
        outcome=outcome,
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        ip=client_ip_var.get(),
        request_id=request_id_var.get() or None,
        details=details or {},
    )


@dataclass(frozen=True)
class Page:
    rows: list[AnyRow]
    next_cursor: str | None


async def list_page(
    conn: AsyncConnection,
    *,
    filters: Filters,
    cursor_token: str | None,
    limit: int,
    platform: bool = False,
) -> Page:
    """The workspace's entries (or the platform's), newest first; callers check the role."""
    after = cursors.decode_time_id(cursor_token) if cursor_token else None
    limit = max(1, min(limit, MAX_PAGE))
    rows = await repo.list_page(
        conn, filters=filters, after=after, limit=limit + 1, platform=platform
    )
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more and rows else None
    return Page(
        rows=rows, next_cursor=cursors.encode_time_id(last.occurred_at, last.id) if last else None
    )


def entry_dict(row: AnyRow) -> dict[str, Any]:
    """One entry as plain JSON-able data (API, exports, evidence)."""
    return {
        "id": str(row.id),
        "tenant_id": str(row.tenant_id) if row.tenant_id else None,
        "occurred_at": row.occurred_at.isoformat(),
        "action": row.action,
        "outcome": row.outcome,
        "actor_kind": row.actor_kind,
        "actor_user_id": str(row.actor_user_id) if row.actor_user_id else None,
        "actor_label": row.actor_label,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "ip": row.ip,
        "request_id": row.request_id,
        "details": row.details,
    }


def stream_entries(
    conn: AsyncConnection, *, filters: Filters, platform: bool = False
) -> AsyncIterator[AnyRow]:
    return repo.stream(conn, filters=filters, platform=platform)


async def do_pseudonymise_user(conn: AsyncConnection, *, user_id: UUID, email: str | None) -> int:
    """GDPR erasure: pseudonymise the user in the transaction's tenant's entries."""
    return await repo.pseudonymise(conn, user_id=user_id, email=email)
