"""Durable Yjs state in Postgres (COL-4) and fan-out between processes (COL-6).

- Client updates are relayed to the room's other sockets at once and appended to
  `collab_updates` by a batch writer within `collab_persist_interval_ms` (plus one commit), so a
  crash loses at most that window, and the clients that made those edits still hold them and
  send them again when they reconnect (sync step 2).
- The commit that stores a batch also announces it on the `tynebase_collab` channel (NOTIFY is
  delivered on commit): other processes with the document open apply the updates to their copy.
  Postgres is the only shared service needed; Yjs updates are idempotent and commute, so the
  order in which processes see them does not matter.
- Compaction merges the snapshot with the log rows it read and deletes exactly those rows, under
  a row lock, so concurrent writers and compactors never lose a row.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa
from pycrdt import Doc, Text, merge_updates
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.collab import repo
from tynebase.collab.room import TEXT_NAME, Room
from tynebase.db.engine import Database
from tynebase.documents import service as documents_service

log = logging.getLogger(__name__)

CHANNEL = "tynebase_collab"
# NOTIFY payloads are limited to 8000 bytes: larger batches are announced by row id.
INLINE_PAYLOAD_BYTES = 7000
# The seed is written by this fixed Yjs client id, so the seed of a given body is always the
# same update (and two processes could never produce two different seeds for one document).
SEED_CLIENT_ID = 1
_NOTIFY = sa.text("SELECT pg_notify(:channel, :payload)")
# Binary array parameter: see repo.append_many.
_NOTIFY_MANY = "SELECT pg_notify(%(channel)s, p) FROM unnest(%(payloads)b::text[]) AS t(p)"
RETRY_SECONDS = (0.05, 0.2, 1.0, 2.0, 5.0)


def seed_update(body: str) -> bytes:
    doc: Doc[Any] = Doc(client_id=SEED_CLIENT_ID)
    text = doc.get(TEXT_NAME, type=Text)
    if body:
        text += body
    return doc.get_update()


@dataclass(frozen=True, slots=True)
class Announcement:
    """A batch another process stored for one document."""

    origin: str
    tenant_id: UUID
    document_id: UUID
    updates: list[bytes] | None  # inline, or None: read `ids` from the table
    ids: list[int]

    @classmethod
    def parse(cls, payload: str) -> Announcement:
        data = orjson.loads(payload)
        inline = data.get("u")
        return cls(
            origin=data["o"],
            tenant_id=UUID(data["t"]),
            document_id=UUID(data["d"]),
            updates=[base64.b64decode(u) for u in inline] if inline is not None else None,
            ids=[int(i) for i in data.get("i", ())],
        )


def announcement_payload(
    origin: str, tenant_id: UUID, document_id: UUID, updates: list[bytes], ids: list[int]
) -> str:
    body = {"o": origin, "t": str(tenant_id), "d": str(document_id)}
    inline = [base64.b64encode(u).decode() for u in updates]
    if sum(len(u) for u in inline) + 200 <= INLINE_PAYLOAD_BYTES:
        body["u"] = inline  # type: ignore[assignment]
    else:
        body["i"] = ids  # type: ignore[assignment]
    return orjson.dumps(body).decode()


async def announce(conn: AsyncConnection, payload: str) -> None:
    """Tell every process (delivered when the caller's transaction commits)."""
    await conn.execute(_NOTIFY, {"channel": CHANNEL, "payload": payload})


async def announce_many(conn: AsyncConnection, payloads: list[str]) -> None:
    """`announce` each payload, in one round trip."""
    await conn.exec_driver_sql(_NOTIFY_MANY, {"channel": CHANNEL, "payloads": payloads})


async def read_state(conn: AsyncConnection, document_id: UUID) -> bytes | None:
    """The stored Yjs state (snapshot + log, merged), locked against compaction until the
    caller's transaction ends; None if the document was never opened for collaboration."""
    state = await repo.lock_state(conn, document_id)
    if state is None:
        return None
    rows = await repo.update_rows(conn, document_id)
    if not rows:
        return bytes(state.snapshot)
    updates = [bytes(state.snapshot), *(bytes(row.update) for row in rows)]
    return await asyncio.to_thread(merge_updates, *updates)


class Store:
    """The batch writer, loading, seeding and compaction of rooms."""

    def __init__(
        self,
        db: Database,
        *,
        origin: str,
        interval: float,
        observe_lag: Callable[[float], None],
        on_stored: Callable[[Room], None],
        on_gone: Callable[[Room], None],
    ) -> None:
        self.db = db
        self.origin = origin
        self.interval = interval
        self._observe_lag = observe_lag
        self._on_stored = on_stored
        self._on_gone = on_gone
        self._pending: dict[Room, list[tuple[bytes, float]]] = {}
        self._wake = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self.failures = 0
        self.stored = 0

    # --- the update log ---------------------------------------------------------------------

    def append(self, room: Room, update: bytes) -> None:
        self._pending.setdefault(room, []).append((update, time.monotonic()))
        self._wake.set()

    @property
    def pending(self) -> int:
        return sum(len(items) for items in self._pending.values())

    def oldest_pending_age(self) -> float:
        now = time.monotonic()
        return max((now - items[0][1] for items in self._pending.values() if items), default=0.0)

    async def run(self) -> None:
        """Flush every `interval` while there is something to store; back off on failures."""
        failures = 0
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
                failures = 0
            except Exception:
                # The database is down or refusing: keep the batch, retry with backoff.
                self.failures += 1
                log.exception("storing collaboration updates failed; retrying")
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
                self._wake.set()

    async def flush(self) -> None:
        """Store everything pending now (one transaction per tenant, all tenants at once)."""
        async with self._flush_lock:
            batch, self._pending = self._pending, {}
            self._wake.clear()
            if not batch:
                return
            by_tenant: dict[UUID, list[Room]] = {}
            for room in batch:
                by_tenant.setdefault(room.tenant_id, []).append(room)
            results = await asyncio.gather(
                *(self._store_tenant(tenant, rooms, batch) for tenant, rooms in by_tenant.items()),
                return_exceptions=True,
            )
            failed = [
                room
                for result, rooms in zip(results, by_tenant.values(), strict=True)
                if isinstance(result, BaseException)
                for room in rooms
            ]
            if failed:
                # Put failed batches back in front of anything that arrived meanwhile.
                for room in failed:
                    self._pending[room] = batch[room] + self._pending.get(room, [])
                self._wake.set()
                error = next(r for r in results if isinstance(r, BaseException))
                raise error

    async def _store_tenant(
        self, tenant_id: UUID, rooms: list[Room], batch: dict[Room, list[tuple[bytes, float]]]
    ) -> None:
        try:
            stored = await self._append(tenant_id, rooms, batch)
        except sa.exc.IntegrityError:
            # A document was deleted under an open room (its rows cascade away): store the
            # others one by one and give up on the deleted one's updates.
            stored = []
            for room in rooms:
                try:
                    stored += await self._append(tenant_id, [room], batch)
                except sa.exc.IntegrityError:
                    self._on_gone(room)
        self._done(stored, batch)

    async def _append(
        self, tenant_id: UUID, rooms: list[Room], batch: dict[Room, list[tuple[bytes, float]]]
    ) -> list[tuple[Room, int]]:
        """One transaction, two statements: every room's updates, then every announcement."""
        updates = {room: [update for update, _ in batch[room]] for room in rooms}
        async with self.db.unit_of_work(tenant_id) as conn:
            ids = await repo.append_many(
                conn,
                tenant_id=tenant_id,
                rows=[(room.document_id, u) for room in rooms for u in updates[room]],
            )
            payloads = [
                announcement_payload(
                    self.origin, tenant_id, room.document_id, updates[room], ids[room.document_id]
                )
                for room in rooms
            ]
            await announce_many(conn, payloads)
        return [(room, len(updates[room])) for room in rooms]

    def _done(
        self, stored: list[tuple[Room, int]], batch: dict[Room, list[tuple[bytes, float]]]
    ) -> None:
        now = time.monotonic()
        for room, count in stored:
            for _, received in batch[room]:
                self._observe_lag(now - received)
            room.log_rows += count
            self.stored += count
            self._on_stored(room)

    async def drain(self) -> None:
        """Store everything pending (last disconnect, shutdown); raises if it cannot."""
        while True:
            async with self._flush_lock:  # let a flush started by `run` finish (or fail)
                pass
            if not self._pending:
                return
            await self.flush()

    # --- loading, seeding, compaction -------------------------------------------------------

    async def load(self, room: Room, *, principal: Principal) -> None:
        """Fill a new room from the snapshot and the log; seed it from the Markdown body the
        first time the document is opened (under the document's row lock)."""
        async with self.db.unit_of_work(room.tenant_id) as conn:
            snapshot = await repo.get_snapshot(conn, room.document_id)
            if snapshot is None:
                document = await documents_service.access_document(
                    conn, principal=principal, document_id=room.document_id, for_update=True
                )
                snapshot = await repo.get_snapshot(conn, room.document_id)
                if snapshot is None:
                    snapshot = seed_update(document.editing_body)
                    await repo.insert_seed(
                        conn,
                        tenant_id=room.tenant_id,
                        document_id=room.document_id,
                        snapshot=snapshot,
                    )
            rows = await repo.update_rows(conn, room.document_id)
        updates = [snapshot, *(bytes(row.update) for row in rows)]
        merged = await asyncio.to_thread(merge_updates, *updates) if rows else snapshot
        room.doc.apply_update(merged)
        room.log_rows = len(rows)
        room.base = room.markdown()

    async def fetch(self, tenant_id: UUID, ids: list[int]) -> list[bytes]:
        async with self.db.unit_of_work(tenant_id) as conn:
            return await repo.updates_by_id(conn, ids)

    async def compact(self, room: Room) -> int:
        """Merge the log into the snapshot; returns how many rows were merged."""
        async with self.db.unit_of_work(room.tenant_id) as conn:
            state = await repo.lock_state(conn, room.document_id)
            if state is None:
                return 0
            rows = await repo.update_rows(conn, room.document_id)
            if not rows:
                return 0
            updates = [bytes(state.snapshot), *(bytes(row.update) for row in rows)]
            merged = await asyncio.to_thread(merge_updates, *updates)
            await repo.replace_snapshot(
                conn,
                document_id=room.document_id,
                snapshot=merged,
                merged_ids=[row.id for row in rows],
            )
        room.log_rows = max(0, room.log_rows - len(rows))
        return len(rows)
