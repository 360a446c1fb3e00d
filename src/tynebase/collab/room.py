"""One open document in one process: its Yjs doc, its sockets and their awareness (COL-1).

A thin room on `pycrdt.Doc` rather than pycrdt-websocket's `YRoom` (measured in
docs/PERFORMANCE.md): the room relays each client update as received (Yjs updates are
idempotent and commutative), starts no task per message, and hands updates to the store itself.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, Protocol
from uuid import UUID

from pycrdt import Doc, Text

from tynebase.collab import protocol
from tynebase.collab.codes import CloseCode
from tynebase.collab.protocol import AwarenessEntry
from tynebase.collab.tickets import Grant
from tynebase.collab.transport import DeliverTo, WriteFrame, binary_frame

TEXT_NAME = "markdown"  # the shared Y.Text holding the Markdown body (decided with the web app)
# Messages queued for one socket before it counts as too slow to keep.
MAX_OUTBOX = 2000


class Socket(Protocol):
    """The transport under a connection (a Starlette WebSocket in production)."""

    # The direct frame paths (collab/transport.py), where the server offers them.
    write_frame: WriteFrame | None
    deliver_to: DeliverTo | None

    async def send(self, data: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class Stats:
    """Hot-path counters as plain ints (read by the metrics collector; no locks on one loop)."""

    __slots__ = ("bytes_in", "bytes_out", "messages_in", "messages_out", "refusals")

    def __init__(self) -> None:
        self.messages_in: dict[str, int] = {}
        self.messages_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.refusals: dict[str, int] = {}

    def refused(self, reason: str) -> None:
        self.refusals[reason] = self.refusals.get(reason, 0) + 1


class Connection:
    """One socket in a room. A message goes straight to the transport as a frame when nothing
    is queued before it and the transport takes it; otherwise into the outbox, drained by one
    writer task, so a broadcast never waits on a slow client."""

    __slots__ = (
        "awareness_ids",
        "close_code",
        "close_detail",
        "grant",
        "last_received",
        "outbox",
        "socket",
        "stats",
        "wakeup",
        "write_frame",
        "writer",
    )

    def __init__(self, socket: Socket, grant: Grant, stats: Stats) -> None:
        self.socket = socket
        self.write_frame = socket.write_frame
        self.grant = grant
        self.stats = stats
        self.outbox: deque[bytes] = deque()
        self.wakeup = asyncio.Event()
        self.close_code: CloseCode | None = None
        self.close_detail = ""
        self.awareness_ids: set[int] = set()
        self.last_received = time.monotonic()
        self.writer: asyncio.Task[None] | None = None

    @property
    def closing(self) -> bool:
        return self.close_code is not None

    def send(self, data: bytes, frame: bytes | None = None) -> None:
        """Send `data`; `frame` is its `binary_frame`, when the caller made it once for many."""
        if self.close_code is not None:
            return
        outbox, write_frame = self.outbox, self.write_frame
        if not outbox and write_frame is not None and write_frame(frame or binary_frame(data)):
            stats = self.stats
            stats.messages_out += 1
            stats.bytes_out += len(data)
            return
        if len(outbox) >= MAX_OUTBOX:
            self.close(CloseCode.SLOW_CONSUMER)
            return
        outbox.append(data)
        self.wakeup.set()

    def close(self, code: CloseCode, detail: str = "") -> None:
        """Ask the writer to send what is queued, then the close frame."""
        if self.close_code is None:
            self.close_code, self.close_detail = code, detail
            self.stats.refused(code.name)
            self.wakeup.set()

    async def write(self) -> None:
        """The writer task: drain the outbox; send the close frame when asked to close. A
        message leaves the outbox only once sent, so `send` cannot overtake it meanwhile."""
        outbox, socket, stats = self.outbox, self.socket, self.stats
        try:
            while True:
                await self.wakeup.wait()
                self.wakeup.clear()
                while outbox:
                    data = outbox[0]
                    await socket.send(data)
                    outbox.popleft()
                    stats.messages_out += 1
                    stats.bytes_out += len(data)
                if self.close_code is not None:
                    await socket.close(int(self.close_code), self.close_code.reason)
                    return
        except Exception:
            # The client went away mid-send: the reader sees the disconnect and cleans up.
            outbox.clear()


class Room:
    """The live Yjs document of (tenant, document) in this process."""

    def __init__(self, tenant_id: UUID, document_id: UUID) -> None:
        self.tenant_id = tenant_id
        self.document_id = document_id
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get(TEXT_NAME, type=Text)
        self.connections: set[Connection] = set()
        self.awareness: dict[int, AwarenessEntry] = {}
        self.loaded = asyncio.Event()
        self.load_failure: BaseException | None = None
        self.closed = False
        # Projection bookkeeping: set by local writes, cleared by a successful projection.
        self.dirty_since: float | None = None
        self.last_change = 0.0
        self.last_writer: Grant | None = None
        # The editing body as this room last saw it stored (loaded or projected): a different
        # body at projection time means someone else wrote it (see projection.do_project).
        self.base: str | None = None
        self.log_rows = 0  # update rows stored since the last compaction (approximate)
        self.busy = asyncio.Lock()  # one projection/compaction at a time

    @property
    def key(self) -> tuple[UUID, UUID]:
        return (self.tenant_id, self.document_id)

    def compaction_due(self, threshold: int) -> bool:
        """Whether the log has grown enough to merge. Each document has its own point between
        1x and 1.5x the threshold: documents edited together would otherwise all reach it, and
        merge, in the same second."""
        return self.log_rows >= threshold + self.document_id.int % (threshold // 2 + 1)

    # --- messages from local clients ----------------------------------------------------------

    def greeting(self) -> list[bytes]:
        """What a new socket gets once admitted: our state vector, and who is here."""
        messages = [protocol.sync_message(protocol.SyncStep.STEP1, self.doc.get_state())]
        if self.awareness:
            entries = list(self.awareness.values())
            messages.append(protocol.awareness_message(protocol.encode_awareness(entries)))
        return messages

    def answer_step1(self, state_vector: bytes) -> bytes:
        return protocol.sync_message(protocol.SyncStep.STEP2, self.doc.get_update(state_vector))

    def apply_local(self, sender: Connection, update: bytes) -> None:
        """A client's update: apply, relay to the other sockets, mark for projection."""
        self.doc.apply_update(update)
        message = protocol.update_message(update)
        frame = binary_frame(message)
        for connection in self.connections:
            if connection is not sender:
                connection.send(message, frame)
        now = time.monotonic()
        if self.dirty_since is None:
            self.dirty_since = now
        self.last_change = now
        self.last_writer = sender.grant

    def apply_remote(self, updates: list[bytes]) -> None:
        """Updates another process stored (COL-6): apply and relay to every local socket."""
        for update in updates:
            self.doc.apply_update(update)
            message = protocol.update_message(update)
            frame = binary_frame(message)
            for connection in self.connections:
                connection.send(message, frame)

    def relay_awareness(self, sender: Connection, update: bytes) -> None:
        """Remember the sender's presence and echo it to everyone, the sender included (a lone
        y-websocket client counts its own echoes as signs of life)."""
        for entry in protocol.parse_awareness(update):
            known = self.awareness.get(entry.client_id)
            if known is not None and known.clock > entry.clock:
                continue
            if entry.removed:
                self.awareness.pop(entry.client_id, None)
                sender.awareness_ids.discard(entry.client_id)
            else:
                self.awareness[entry.client_id] = entry
                sender.awareness_ids.add(entry.client_id)
        message = protocol.awareness_message(update)
        frame = binary_frame(message)
        for connection in self.connections:
            connection.send(message, frame)

    def awareness_query(self) -> bytes:
        return protocol.awareness_message(protocol.encode_awareness(list(self.awareness.values())))

    def leave(self, connection: Connection) -> None:
        """Drop a socket; tell the others its cursors are gone."""
        self.connections.discard(connection)
        gone = [
            AwarenessEntry(client_id, self.awareness[client_id].clock + 1, "null")
            for client_id in connection.awareness_ids
            if client_id in self.awareness
        ]
        for entry in gone:
            del self.awareness[entry.client_id]
        if gone and self.connections:
            message = protocol.awareness_message(protocol.encode_awareness(gone))
            for other in self.connections:
                other.send(message)

    def markdown(self) -> str:
        return str(self.text)
