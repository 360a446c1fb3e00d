"""Maintenance mode and windows (OPS-8).

`tynebase maintenance on` makes the API read-only: writes under /api answer 503 MAINTENANCE with
Retry-After, reads keep working, `GET /api/status` shows the message. The state lives in the
database (every API process sees it) and each process keeps a copy for
`TYNEBASE_MAINTENANCE_CACHE_SECONDS`. Scheduled windows are announcements: listed in
`/api/status` as upcoming and mailed once to every active user when scheduled; the operator
switches read-only mode on when the work starts (`maintenance on` picks up the window's message
and end).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit import actions as audit_actions
from tynebase.audit import service as audit_service
from tynebase.audit.service import Actor
from tynebase.db.engine import Database
from tynebase.db.metadata import AnyRow
from tynebase.errors import NotFound, ValidationFailed
from tynebase.mail.models import outbox
from tynebase.ops.models import maintenance_windows as mw
from tynebase.users.models import users

log = logging.getLogger(__name__)
DEFAULT_MESSAGE = "TyneBase is under maintenance; changes are paused for a while."
MAX_MESSAGE_CHARS = 500


@dataclass(frozen=True)
class Window:
    id: UUID
    message: str
    starts_at: datetime
    ends_at: datetime | None
    read_only: bool
    created_by: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "message": self.message,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
        }


@dataclass(frozen=True)
class MaintenanceState:
    active: Window | None = None  # read-only now
    upcoming: list[Window] = field(default_factory=list)  # announced, not (yet) switched on

    def retry_after(self, *, now: datetime, default: int) -> int:
        """Seconds a refused client should wait: until the announced end, else `default`."""
        if self.active is None or self.active.ends_at is None or self.active.ends_at <= now:
            return default
        return max(1, math.ceil((self.active.ends_at - now).total_seconds()))


def _window(row: AnyRow) -> Window:
    return Window(
        id=row.id,
        message=row.message,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        read_only=row.read_only,
        created_by=row.created_by,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def check_message(message: str | None) -> str:
    text = (message or "").strip() or DEFAULT_MESSAGE
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValidationFailed(
            f"The message is limited to {MAX_MESSAGE_CHARS} characters",
            details={"field": "message"},
        )
    return text


async def get_state(conn: AsyncConnection) -> MaintenanceState:
    """What is on now and what is announced (windows not ended whose end is still ahead)."""
    now = _now()
    rows = (
        await conn.execute(
            sa.select(mw)
            .where(mw.c.ended_at.is_(None))
            .where(sa.or_(mw.c.read_only, mw.c.ends_at.is_(None), mw.c.ends_at > now))
            .order_by(mw.c.starts_at, mw.c.created_at)
        )
    ).all()
    windows = [_window(row) for row in rows]
    active = next((w for w in reversed(windows) if w.read_only and w.starts_at <= now), None)
    return MaintenanceState(active=active, upcoming=[w for w in windows if not w.read_only])


async def do_switch_on(
    conn: AsyncConnection, *, message: str | None, until: datetime | None, actor: Actor
) -> Window:
    """Read-only mode from now; `message` and `until` default to a current scheduled window's."""
    now = _now()
    state = await get_state(conn)
    # A window that has started or starts within the hour is the one being switched on.
    current = next((w for w in state.upcoming if w.starts_at - now <= timedelta(hours=1)), None)
    if until is not None and until <= now:
        raise ValidationFailed("--until must be in the future", details={"field": "until"})
    text = check_message(message if message or current is None else current.message)
    ends_at = until or (current.ends_at if current else None)
    # One active switch at a time: switching on again replaces the message and the end; the
    # scheduled window it realises is no longer "upcoming".
    ended = mw.c.read_only if current is None else sa.or_(mw.c.read_only, mw.c.id == current.id)
    await conn.execute(mw.update().where(ended, mw.c.ended_at.is_(None)).values(ended_at=now))
    row = (
        await conn.execute(
            mw.insert()
            .values(
                message=text, starts_at=now, ends_at=ends_at, read_only=True, created_by=actor.label
            )
            .returning(mw)
        )
    ).one()
    await audit_service.record(
        conn,
        action=audit_actions.MAINTENANCE_ON,
        actor=actor,
        tenant_id=None,
        target_type="maintenance",
        target_id=row.id,
        details={"message": text, "until": ends_at.isoformat() if ends_at else None},
    )
    return _window(row)


async def do_switch_off(conn: AsyncConnection, *, actor: Actor) -> bool:
    """Writes are accepted again; also ends a scheduled window that has started. False if off."""
    now = _now()
    ended = (
        await conn.execute(
            mw.update().where(mw.c.read_only, mw.c.ended_at.is_(None)).values(ended_at=now)
        )
    ).rowcount
    await conn.execute(
        mw.update()
        .where(~mw.c.read_only, mw.c.ended_at.is_(None), mw.c.starts_at <= now)
        .values(ended_at=now)
    )
    if ended:
        await audit_service.record(
            conn, action=audit_actions.MAINTENANCE_OFF, actor=actor, tenant_id=None
        )
    return bool(ended)


async def do_schedule(
    conn: AsyncConnection,
    *,
    starts_at: datetime,
    ends_at: datetime,
    message: str | None,
    actor: Actor,
    notify: bool = True,
) -> tuple[Window, int]:
    """Announce a window; mails every active, confirmed user once. Returns (window, mails)."""
    now = _now()
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValidationFailed("Give times with a timezone (e.g. 2030-01-01T22:00:00Z)")
    if ends_at <= starts_at:
        raise ValidationFailed("--end must be after --start", details={"field": "end"})
    if ends_at <= now:
        raise ValidationFailed("This window is already over", details={"field": "end"})
    text = check_message(message)
    row = (
        await conn.execute(
            mw.insert()
            .values(
                message=text,
                starts_at=starts_at,
                ends_at=ends_at,
                read_only=False,
                created_by=actor.label,
                announced_at=now if notify else None,
            )
            .returning(mw)
        )
    ).one()
    mailed = 0
    if notify:
        subject = f"Planned maintenance: {starts_at:%Y-%m-%d %H:%M} UTC"
        body = (
            f"TyneBase will be in maintenance from {starts_at:%Y-%m-%d %H:%M} to "
            f"{ends_at:%Y-%m-%d %H:%M} UTC. You can read during this time; changes are "
            f"paused.\n\n{text}\n"
        )
        # One INSERT ... SELECT: every recipient, without loading them into this process.
        mailed = (
            await conn.execute(
                outbox.insert().from_select(
                    ["to_address", "subject", "body"],
                    sa.select(users.c.email, sa.literal(subject), sa.literal(body)).where(
                        users.c.status == "active", users.c.email_confirmed_at.is_not(None)
                    ),
                )
            )
        ).rowcount
    await audit_service.record(
        conn,
        action=audit_actions.MAINTENANCE_SCHEDULED,
        actor=actor,
        tenant_id=None,
        target_type="maintenance",
        target_id=row.id,
        details={
            "message": text,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "mailed": mailed,
        },
    )
    return _window(row), mailed


async def do_cancel(conn: AsyncConnection, *, window_id: UUID, actor: Actor) -> None:
    row = (
        await conn.execute(
            mw.update()
            .where(mw.c.id == window_id, ~mw.c.read_only, mw.c.ended_at.is_(None))
            .values(ended_at=_now())
            .returning(mw.c.id)
        )
    ).first()
    if row is None:
        raise NotFound("No such upcoming window", code="MAINTENANCE_WINDOW_NOT_FOUND")
    await audit_service.record(
        conn,
        action=audit_actions.MAINTENANCE_CANCELLED,
        actor=actor,
        tenant_id=None,
        target_type="maintenance",
        target_id=window_id,
    )


class MaintenanceCache:
    """A process's copy of the state, refreshed at most every `ttl` seconds (one query, shared
    by concurrent requests). If the database cannot be read, the last known state stays."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._state = MaintenanceState()
        self._loaded_at = -math.inf
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._loaded_at = -math.inf

    async def get(self, db: Database) -> MaintenanceState:
        if time.monotonic() - self._loaded_at < self.ttl:
            return self._state
        async with self._lock:
            if time.monotonic() - self._loaded_at < self.ttl:
                return self._state
            try:
                async with db.unit_of_work() as conn:
                    self._state = await get_state(conn)
            except Exception:  # the database's own checks report it; never block reads on it
                log.warning("could not read the maintenance state", exc_info=True)
            self._loaded_at = time.monotonic()
            return self._state
