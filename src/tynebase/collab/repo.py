"""Queries of the collaboration tables; every function runs in its caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.models import api_keys, auth_sessions
from tynebase.collab.models import collab_documents, collab_tickets, collab_updates
from tynebase.db.metadata import AnyRow
from tynebase.tenants.models import tenants
from tynebase.users.models import memberships, users

# --- tickets -------------------------------------------------------------------------------------


async def insert_ticket(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(collab_tickets.insert().values(**values))


async def delete_expired_tickets(conn: AsyncConnection, *, before: datetime) -> None:
    """Tickets live seconds; the issuing transaction sweeps its tenant's old ones (indexed)."""
    await conn.execute(collab_tickets.delete().where(collab_tickets.c.expires_at < before))


async def use_ticket(conn: AsyncConnection, token_hash: bytes, *, now: datetime) -> AnyRow | None:
    """Mark the ticket used and return it; None if unknown or already used (single use)."""
    query = (
        collab_tickets.update()
        .where(collab_tickets.c.token_hash == token_hash, collab_tickets.c.used_at.is_(None))
        .values(used_at=now)
        .returning(collab_tickets)
    )
    row: AnyRow | None = (await conn.execute(query)).first()
    return row


# --- who may still hold a socket -----------------------------------------------------------------


async def access_state(
    conn: AsyncConnection,
    *,
    tenant_id: UUID,
    user_id: UUID,
    session_id: UUID | None,
    api_key_id: UUID | None,
) -> AnyRow | None:
    """Tenant, user, membership and session (or API key) state in one round trip."""
    columns: list[Any] = [
        tenants.c.subdomain,
        tenants.c.status.label("tenant_status"),
        users.c.email,
        users.c.name,
        users.c.status.label("user_status"),
        users.c.is_superadmin,
        memberships.c.role,
        memberships.c.status.label("member_status"),
    ]
    source = tenants.join(users, users.c.id == user_id).outerjoin(
        memberships,
        sa.and_(memberships.c.user_id == users.c.id, memberships.c.tenant_id == tenants.c.id),
    )
    if session_id is not None:
        columns += [auth_sessions.c.revoked_at, auth_sessions.c.expires_at]
        source = source.outerjoin(auth_sessions, auth_sessions.c.id == session_id)
    elif api_key_id is not None:
        columns += [api_keys.c.revoked_at, api_keys.c.expires_at, api_keys.c.scope]
        source = source.outerjoin(api_keys, api_keys.c.id == api_key_id)
    query = sa.select(*columns).select_from(source).where(tenants.c.id == tenant_id)
    return (await conn.execute(query)).first()


# --- Yjs state -----------------------------------------------------------------------------------


async def lock_state(conn: AsyncConnection, document_id: UUID) -> AnyRow | None:
    query = (
        sa.select(collab_documents.c.snapshot, collab_documents.c.compacted_updates)
        .where(collab_documents.c.document_id == document_id)
        .with_for_update()
    )
    return (await conn.execute(query)).first()


async def get_snapshot(conn: AsyncConnection, document_id: UUID) -> bytes | None:
    query = sa.select(collab_documents.c.snapshot).where(
        collab_documents.c.document_id == document_id
    )
    snapshot = (await conn.execute(query)).scalar()
    return bytes(snapshot) if snapshot is not None else None


async def insert_seed(
    conn: AsyncConnection, *, tenant_id: UUID, document_id: UUID, snapshot: bytes
) -> bool:
    """The first snapshot; False if another process seeded first (its seed wins)."""
    query = (
        pg_insert(collab_documents)
        .values(tenant_id=tenant_id, document_id=document_id, snapshot=snapshot)
        .on_conflict_do_nothing(index_elements=["document_id"])
        .returning(collab_documents.c.document_id)
    )
    return (await conn.execute(query)).first() is not None


async def update_rows(conn: AsyncConnection, document_id: UUID) -> list[AnyRow]:
    query = (
        sa.select(collab_updates.c.id, collab_updates.c.update)
        .where(collab_updates.c.document_id == document_id)
        .order_by(collab_updates.c.id)
    )
    return list((await conn.execute(query)).all())


async def updates_by_id(conn: AsyncConnection, ids: Sequence[int]) -> list[bytes]:
    query = (
        sa.select(collab_updates.c.update)
        .where(collab_updates.c.id.in_(ids))
        .order_by(collab_updates.c.id)
    )
    return [bytes(row) for row in (await conn.execute(query)).scalars()]


async def append_updates(
    conn: AsyncConnection, *, tenant_id: UUID, document_id: UUID, updates: Sequence[bytes]
) -> list[int]:
    rows = [{"tenant_id": tenant_id, "document_id": document_id, "update": u} for u in updates]
    query = collab_updates.insert().returning(collab_updates.c.id, sort_by_parameter_order=True)
    return [int(i) for i in (await conn.execute(query, rows)).scalars()]


# One statement for a whole batch (every document of one tenant): the batch writer runs this
# every `collab_persist_interval_ms` while anyone types, so round trips count. The arrays go in
# psycopg's binary format (`%b`): its text format escapes bytea arrays byte by byte in Python
# (~3 ms for 20 small updates against ~15 us).
_APPEND_MANY = (
    'INSERT INTO collab_updates (tenant_id, document_id, "update") '
    "SELECT %(tenant_id)s, d, u FROM unnest(%(documents)b::uuid[], %(updates)b::bytea[]) "
    "AS t(d, u) RETURNING document_id, id"
)


async def append_many(
    conn: AsyncConnection, *, tenant_id: UUID, rows: Sequence[tuple[UUID, bytes]]
) -> dict[UUID, list[int]]:
    """Append (document, update) rows; the new ids of each document, ascending."""
    result = await conn.exec_driver_sql(
        _APPEND_MANY,
        {
            "tenant_id": tenant_id,
            "documents": [document_id for document_id, _ in rows],
            "updates": [update for _, update in rows],
        },
    )
    ids: dict[UUID, list[int]] = {}
    for document_id, row_id in cast("list[tuple[UUID, int]]", result.all()):
        ids.setdefault(document_id, []).append(row_id)
    for values in ids.values():
        values.sort()
    return ids


async def count_updates(conn: AsyncConnection, document_id: UUID) -> int:
    query = sa.select(sa.func.count()).where(collab_updates.c.document_id == document_id)
    return int((await conn.execute(query)).scalar_one())


_DELETE_MERGED = "DELETE FROM collab_updates WHERE id = ANY(%(ids)b::bigint[])"


async def replace_snapshot(
    conn: AsyncConnection, *, document_id: UUID, snapshot: bytes, merged_ids: Sequence[int]
) -> None:
    """Store the merged snapshot and drop exactly the log rows merged into it."""
    await conn.execute(
        collab_documents.update()
        .where(collab_documents.c.document_id == document_id)
        .values(
            snapshot=snapshot,
            compacted_updates=collab_documents.c.compacted_updates + len(merged_ids),
            updated_at=sa.func.now(),
        )
    )
    if merged_ids:
        # Exactly these ids (a row with a lower id may commit later: `id <= max` would drop it
        # unmerged), as one binary array: an IN list of ~500 parameters cost ~3.6 ms of loop
        # CPU per compaction (psycopg re-parses long queries), this ~0.8 ms.
        await conn.exec_driver_sql(_DELETE_MERGED, {"ids": list(merged_ids)})
