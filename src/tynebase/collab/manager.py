"""The collaboration server of one process: admission, limits, message handling, rooms'
lifecycle, projection, revocation and shutdown (COL-1..6).

Runs inside `tynebase collab` (its own small app) and inside `tynebase serve` (the API app).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any
from uuid import UUID

from prometheus_client import CollectorRegistry
from starlette.datastructures import Headers

from tynebase.auth.revocation import AccessChange
from tynebase.collab import protocol, tickets
from tynebase.collab.codes import CloseCode, Refused
from tynebase.collab.listener import Listener
from tynebase.collab.metrics import CollabMetrics
from tynebase.collab.projection import project_room
from tynebase.collab.protocol import MessageType, ProtocolError, SyncStep
from tynebase.collab.revocation import recheck_access
from tynebase.collab.room import Connection, Room, Socket, Stats
from tynebase.collab.store import Announcement, Store
from tynebase.collab.tickets import Grant
from tynebase.db.engine import Database, libpq_url
from tynebase.errors import NotFound
from tynebase.ops.maintenance import MaintenanceCache
from tynebase.settings import Settings
from tynebase.tenants.service import subdomain_of

log = logging.getLogger(__name__)
PROJECTOR_TICK = 0.2
# Debounced projections run at once: rooms dirty since the same moment fall due in one tick, and
# 50 transactions at once stalled the loop for ~0.5 s (the fan-out's tail: docs/PERFORMANCE.md).
PROJECTIONS_AT_ONCE = 2
# A turn slower than this (a projection waiting on a row lock, up to the statement timeout) lets
# the next turn start; the slow one goes on in the background, its room skipped while busy.
PROJECTION_TURN_SECONDS = 2.0
_MESSAGE_NAMES = {t.value: t.name.lower() for t in MessageType}


class CollabManager:
    def __init__(self, settings: Settings, db: Database, registry: CollectorRegistry) -> None:
        self.settings = settings
        self.db = db
        self.origin = uuid.uuid4().hex
        self.rooms: dict[tuple[UUID, UUID], Room] = {}
        self.connections = 0
        self._admitting = 0
        self.stats = Stats()
        self.projections: dict[str, int] = {}
        self.closing = False
        self.metrics = CollabMetrics(registry)
        self.store = Store(
            db,
            origin=self.origin,
            interval=settings.collab_persist_interval_ms / 1000,
            observe_lag=self.metrics.store_lag.observe,
            on_stored=self._stored,
            on_gone=self._gone,
        )
        self.listener = Listener(
            libpq_url(db.urls.app),
            on_collab=self._on_announcement,
            on_access=self._on_access_change,
            on_reconnect=self._catch_up,
        )
        self.metrics.watch(self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._compacting = asyncio.Semaphore(1)  # one merge at a time: it holds the GIL
        # Maintenance mode (OPS-8) makes every socket read-only, as it refuses the API's writes.
        self.maintenance = False
        self._maintenance = MaintenanceCache(settings.maintenance_cache_seconds)

    # --- lifecycle ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[CollabManager]:
        """Run the background loops; on exit flush everything and close every socket."""
        loops = [
            asyncio.create_task(self.store.run(), name="collab-store"),
            asyncio.create_task(self.listener.run(), name="collab-listener"),
            asyncio.create_task(self._projector(), name="collab-projector"),
            asyncio.create_task(self._idle_sweeper(), name="collab-idle"),
            asyncio.create_task(self._maintenance_watcher(), name="collab-maintenance"),
        ]
        try:
            # Fan-out must be listening before any room loads (or an update could slip between).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.listener.ready.wait(), timeout=10)
            yield self
        finally:
            await self.shutdown()
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)

    async def shutdown(self) -> None:
        """Stop admitting, store and project everything, then close every socket (SIGTERM)."""
        if self.closing:
            return
        self.closing = True
        deadline = self.settings.collab_shutdown_seconds
        try:
            async with asyncio.timeout(deadline):
                await self.store.drain()
                await asyncio.gather(
                    *(self._project(room) for room in list(self.rooms.values())),
                    return_exceptions=True,
                )
        except Exception:
            log.exception("collab shutdown could not flush everything")
        writers = []
        for room in list(self.rooms.values()):
            for connection in list(room.connections):
                connection.close(CloseCode.SHUTTING_DOWN)
                if connection.writer is not None:
                    writers.append(connection.writer)
        if writers:
            await asyncio.wait(writers, timeout=max(deadline, 0.1))
        with contextlib.suppress(Exception):
            await self.store.drain()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def health(self) -> dict[str, Any]:
        """The `collab` readiness check (also usable by the API's /readyz)."""
        soft = self.settings.collab_soft_connection_limit
        status, output = "pass", f"{self.connections} sockets, {len(self.rooms)} documents"
        if not self.listener.connected:
            status, output = "fail", "not listening to Postgres (fan-out and revocation)"
        elif self.closing:
            status, output = "fail", "shutting down"
        elif self.connections >= soft:
            status, output = "fail", f"soft connection limit reached ({self.connections}/{soft})"
        elif self.store.oldest_pending_age() > 5:
            status, output = "warn", "updates wait more than 5 s to be stored"
        return {
            "status": status,
            "observedValue": self.connections,
            "observedUnit": "connections",
            "output": output,
        }

    # --- one socket ---------------------------------------------------------------------------

    async def serve(
        self,
        socket: Socket,
        receive: Callable[[], Awaitable[bytes | str | None]],
        *,
        document_id: str,
        ticket: str | None,
        headers: Headers,
    ) -> None:
        """Admit the socket (nothing is sent before the ticket is accepted), then serve it."""
        try:
            connection, room = await self._admit(socket, document_id, ticket, headers)
        except Refused as refusal:
            await self._refuse(socket, refusal.code)
            return
        except Exception:
            log.exception("admitting a collaboration socket failed")
            await self._refuse(socket, CloseCode.SERVER_ERROR)
            return
        deliver_to = socket.deliver_to
        try:
            for message in room.greeting():
                connection.send(message)
            connection.writer = asyncio.create_task(connection.write())
            if deliver_to is not None:
                deliver_to(functools.partial(self._receive_bytes, connection, room))
            await self._read(connection, room, receive)
        finally:
            if deliver_to is not None:
                deliver_to(None)
            self._leave(connection, room)
            writer = connection.writer
            if writer is not None and connection.closing and not writer.done():
                # Closed by us: let the writer send what is queued and the close frame before
                # the handler returns (uvicorn would otherwise drop the socket: 1006).
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(writer, timeout=5)

    async def _refuse(self, socket: Socket, code: CloseCode) -> None:
        self.stats.refused(code.name)
        with contextlib.suppress(Exception):
            await socket.close(int(code), code.reason)

    async def _admit(
        self, socket: Socket, raw_document_id: str, ticket: str | None, headers: Headers
    ) -> tuple[Connection, Room]:
        settings = self.settings
        if self.closing:
            raise Refused(CloseCode.SHUTTING_DOWN)
        if self.connections + self._admitting >= settings.collab_hard_connection_limit:
            raise Refused(CloseCode.SERVER_FULL)
        try:
            document_id = UUID(raw_document_id)
        except ValueError:
            raise Refused(CloseCode.PROTOCOL_ERROR, "not a document id") from None
        tenant_id = tickets.tenant_of(ticket)
        assert ticket is not None
        key = (tenant_id, document_id)
        self._check_room_limits(key)
        self._admitting += 1
        try:
            subdomain = subdomain_of(headers, settings.base_domain)
            async with self.db.unit_of_work(tenant_id) as conn:
                grant = await tickets.do_redeem(
                    conn,
                    ticket=ticket,
                    tenant_id=tenant_id,
                    document_id=document_id,
                    subdomain=subdomain,
                )
            room = await self._open_room(grant)
            self._check_room_limits(key)
            if self.closing:
                raise Refused(CloseCode.SHUTTING_DOWN)
            connection = Connection(socket, grant, self.stats)
            room.connections.add(connection)
            self.connections += 1
            return connection, room
        finally:
            self._admitting -= 1

    def _check_room_limits(self, key: tuple[UUID, UUID]) -> None:
        room = self.rooms.get(key)
        if room is None:
            if self.connections + self._admitting >= self.settings.collab_soft_connection_limit:
                raise Refused(CloseCode.SERVER_BUSY)
        elif len(room.connections) >= self.settings.collab_max_clients_per_document:
            raise Refused(CloseCode.ROOM_FULL)

    async def _open_room(self, grant: Grant) -> Room:
        room = self.rooms.get(grant.room_key)
        if room is None:
            room = Room(grant.tenant_id, grant.document_id)
            self.rooms[grant.room_key] = room
            try:
                await self.store.load(room, principal=grant.principal)
            except BaseException as exc:
                room.load_failure = exc
                self.rooms.pop(grant.room_key, None)
                room.loaded.set()
                if isinstance(exc, NotFound):
                    raise Refused(CloseCode.DOCUMENT_NOT_FOUND) from None
                raise
            room.loaded.set()
        else:
            await room.loaded.wait()
            if room.load_failure is not None:
                raise Refused(CloseCode.SERVER_ERROR, "the document could not be loaded")
        return room

    async def _read(
        self,
        connection: Connection,
        room: Room,
        receive: Callable[[], Awaitable[bytes | str | None]],
    ) -> None:
        """What the ASGI receive brings: the disconnect, text frames, and binary messages where
        the server has no direct receive path (or queued them before it was taken)."""
        while not connection.closing:
            data = await receive()
            if data is None:
                return
            if isinstance(data, str):
                if not connection.closing:
                    connection.close(CloseCode.PROTOCOL_ERROR, "text frames are not part of it")
                continue
            self._receive_bytes(connection, room, data)

    def _receive_bytes(self, connection: Connection, room: Room, data: bytes) -> None:
        if connection.closing:
            return
        self.stats.bytes_in += len(data)
        if len(data) > self.settings.collab_max_message_bytes:
            connection.close(CloseCode.MESSAGE_TOO_LARGE)
            return
        connection.last_received = time.monotonic()
        try:
            self._handle(connection, room, data)
        except (ProtocolError, ValueError, KeyError, IndexError) as exc:
            log.info("collab protocol error: %s", exc)
            connection.close(CloseCode.PROTOCOL_ERROR)
        except Exception:
            log.exception("collab message failed")
            connection.close(CloseCode.SERVER_ERROR)

    def _handle(self, connection: Connection, room: Room, data: bytes) -> None:
        reader = protocol.Reader(data)
        kind = reader.uint()
        name = _MESSAGE_NAMES.get(kind, "unknown")
        self.stats.messages_in[name] = self.stats.messages_in.get(name, 0) + 1
        if kind == MessageType.SYNC:
            step = reader.uint()
            payload = reader.bytes()
            if step == SyncStep.STEP1:
                connection.send(room.answer_step1(payload))
            elif step in (SyncStep.STEP2, SyncStep.UPDATE):
                if payload == protocol.EMPTY_UPDATE:
                    return
                if not connection.grant.writable or self.maintenance:
                    # Refused, never applied, stored or relayed (COL-2). The client keeps its
                    # text and sends it again when it next syncs (after maintenance).
                    reason = "MAINTENANCE" if connection.grant.writable else "READ_ONLY"
                    self.stats.refused(reason)
                    text = "maintenance" if reason == "MAINTENANCE" else "read-only"
                    connection.send(protocol.permission_denied_message(text))
                    return
                room.apply_local(connection, payload)
                self.store.append(room, payload)
            else:
                raise ProtocolError(f"unknown sync step {step}")
        elif kind == MessageType.AWARENESS:
            room.relay_awareness(connection, reader.bytes())
        elif kind == MessageType.QUERY_AWARENESS:
            connection.send(room.awareness_query())
        elif kind != MessageType.AUTH:
            raise ProtocolError(f"unknown message type {kind}")

    def _leave(self, connection: Connection, room: Room) -> None:
        if connection in room.connections:
            self.connections -= 1
        room.leave(connection)
        if not connection.closing and connection.writer is not None:
            connection.writer.cancel()  # the client left; nothing more to send
        if not room.connections:
            self._spawn(self._retire(room))

    async def _retire(self, room: Room) -> None:
        """Last socket gone: store, project and compact, then forget the room if still empty."""
        try:
            await self.store.drain()
            await self._project(room)
            if room.log_rows and not room.connections:
                async with room.busy:
                    await self.store.compact(room)
        except Exception:
            log.exception("flushing a closed collaboration room failed")
            return  # keep the room (and its dirty flag): the projector retries
        if not room.connections and self.rooms.get(room.key) is room and not self.closing:
            del self.rooms[room.key]
            room.closed = True

    # --- store, projection, compaction --------------------------------------------------------

    def _stored(self, room: Room) -> None:
        due = room.compaction_due(self.settings.collab_compact_after_updates)
        if due and not room.busy.locked():
            self._spawn(self._compact(room))

    def _gone(self, room: Room) -> None:
        """The document was deleted: its sockets learn it and the room is dropped."""
        room.dirty_since = None
        for connection in list(room.connections):
            connection.close(CloseCode.DOCUMENT_NOT_FOUND)

    async def _compact(self, room: Room) -> None:
        try:
            async with room.busy, self._compacting:
                await self.store.compact(room)
        except Exception:
            log.exception("compacting collaboration updates failed")

    async def _projector(self) -> None:
        debounce = self.settings.collab_projection_debounce_seconds
        max_delay = self.settings.collab_projection_max_delay_seconds
        while True:
            await asyncio.sleep(PROJECTOR_TICK)
            now = time.monotonic()
            due = [
                room
                for room in list(self.rooms.values())
                if (since := room.dirty_since) is not None
                and not room.busy.locked()
                and (now - room.last_change >= debounce or now - since >= max_delay)
            ]
            for start in range(0, len(due), PROJECTIONS_AT_ONCE):
                turn = [
                    self._spawn(self._project(room))
                    for room in due[start : start + PROJECTIONS_AT_ONCE]
                ]
                await asyncio.wait(turn, timeout=PROJECTION_TURN_SECONDS)

    async def _project(self, room: Room) -> None:
        outcome = await project_room(self.db, room)
        if outcome is not None:
            self.projections[outcome] = self.projections.get(outcome, 0) + 1

    # --- other processes and access changes ---------------------------------------------------

    def _on_announcement(self, payload: str) -> None:
        announcement = Announcement.parse(payload)
        if announcement.origin == self.origin:
            return
        room = self.rooms.get((announcement.tenant_id, announcement.document_id))
        if room is None:
            return
        if announcement.updates is not None:
            room.apply_remote(announcement.updates)
        else:
            self._spawn(self._fetch_remote(room, announcement))

    async def _fetch_remote(self, room: Room, announcement: Announcement) -> None:
        try:
            room.apply_remote(await self.store.fetch(room.tenant_id, announcement.ids))
        except Exception:
            log.exception("reading another process's updates failed; reloading the room")
            await self._reload(room)

    async def _reload(self, room: Room) -> None:
        """Re-read a room's whole state (idempotent) and relay what local clients miss."""
        before = room.doc.get_state()
        shadow = Room(room.tenant_id, room.document_id)
        if room.last_writer is None and not room.connections:
            return
        grant = room.last_writer or next(iter(room.connections)).grant
        try:
            await self.store.load(shadow, principal=grant.principal)
        except Exception:
            log.exception("reloading a collaboration room failed")
            return
        missing = shadow.doc.get_update(before)
        if missing != protocol.EMPTY_UPDATE:
            room.apply_remote([missing])

    async def _catch_up(self) -> None:
        """After the listener reconnects: reload rooms and re-check every socket's access."""
        await asyncio.gather(
            *(self._reload(room) for room in list(self.rooms.values())), return_exceptions=True
        )
        await recheck_access(self.db, [c for r in self.rooms.values() for c in r.connections])

    def _on_access_change(self, payload: str) -> None:
        change = AccessChange.parse(payload)
        affected = [
            connection
            for room in self.rooms.values()
            for connection in room.connections
            if change.affects(
                tenant_id=connection.grant.tenant_id,
                user_id=connection.grant.principal.user_id,
                session_id=connection.grant.principal.session_id,
            )
        ]
        if affected:
            self._spawn(recheck_access(self.db, affected))

    async def _maintenance_watcher(self) -> None:
        while True:
            was_on = self.maintenance
            self.maintenance = (await self._maintenance.get(self.db)).active is not None
            if was_on and not self.maintenance:
                # Ask every socket for what we refused meanwhile: our state vector makes the
                # clients answer with the edits they kept (sync step 2).
                for room in list(self.rooms.values()):
                    step1 = protocol.sync_message(protocol.SyncStep.STEP1, room.doc.get_state())
                    for connection in list(room.connections):
                        if connection.grant.writable:
                            connection.send(step1)
            await asyncio.sleep(max(self._maintenance.ttl, 0.2))

    async def _idle_sweeper(self) -> None:
        timeout = self.settings.collab_idle_timeout_seconds
        while True:
            await asyncio.sleep(min(max(timeout / 4, 0.05), 5.0))
            cutoff = time.monotonic() - timeout
            for room in list(self.rooms.values()):
                for connection in list(room.connections):
                    if connection.last_received < cutoff:
                        connection.close(CloseCode.IDLE_TIMEOUT)
