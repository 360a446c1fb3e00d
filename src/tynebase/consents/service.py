"""Consent checks and changes (see the package docstring for the contract)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.consents.models import CONSENT_KINDS, user_consent_events, user_consents
from tynebase.errors import Forbidden

ConsentKind = Literal["ai_processing", "knowledge_indexing", "analytics"]
_WHAT = {
    "ai_processing": "AI processing",
    "knowledge_indexing": "knowledge indexing",
    "analytics": "analytics",
}


class ConsentRequired(Forbidden):
    code = "CONSENT_REQUIRED"


@dataclass(frozen=True)
class Consents:
    ai_processing: bool
    knowledge_indexing: bool
    analytics: bool
    updated_at: datetime | None  # None: never changed (the defaults)


async def get_consents(conn: AsyncConnection, user_id: UUID) -> Consents:
    row = (
        await conn.execute(sa.select(user_consents).where(user_consents.c.user_id == user_id))
    ).first()
    if row is None:
        return Consents(True, True, True, None)
    return Consents(
        ai_processing=row.ai_processing,
        knowledge_indexing=row.knowledge_indexing,
        analytics=row.analytics,
        updated_at=row.updated_at,
    )


async def check_consent(conn: AsyncConnection, user_id: UUID, kind: ConsentKind) -> bool:
    """Whether `user_id` allows `kind` (True unless they refused it)."""
    if kind not in CONSENT_KINDS:
        raise ValueError(f"unknown consent {kind!r}")
    value = (
        await conn.execute(
            sa.select(user_consents.c[kind]).where(user_consents.c.user_id == user_id)
        )
    ).scalar()
    return True if value is None else bool(value)


async def require_consent(conn: AsyncConnection, user_id: UUID, kind: ConsentKind) -> None:
    """403 CONSENT_REQUIRED unless `user_id` allows `kind`."""
    if not await check_consent(conn, user_id, kind):
        raise ConsentRequired(
            f"You have refused {_WHAT[kind]}; allow it in your consents (PUT /api/me/consents) "
            "to use this feature",
            details={"consent": kind},
        )


async def do_update(conn: AsyncConnection, *, user_id: UUID, changes: dict[str, bool]) -> Consents:
    """Set some consents; each real change is recorded as an event."""
    unknown = set(changes) - set(CONSENT_KINDS)
    if unknown:
        raise ValueError(f"unknown consents {sorted(unknown)}")
    before = await get_consents(conn, user_id)
    changed = {kind: value for kind, value in changes.items() if getattr(before, kind) != value}
    if not changed:
        return before
    await conn.execute(
        pg_insert(user_consents)
        .values(user_id=user_id, **changed)
        .on_conflict_do_update(
            index_elements=[user_consents.c.user_id],
            set_={**changed, "updated_at": sa.func.now()},
        )
    )
    await conn.execute(
        user_consent_events.insert(),
        [{"user_id": user_id, "kind": kind, "granted": value} for kind, value in changed.items()],
    )
    return await get_consents(conn, user_id)
