"""A y-websocket client on pycrdt for the tests: syncs a Doc over the real wire format,
sends local edits as updates, keeps presence, and reconnects with a fresh ticket."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from pycrdt import Doc, Text, TransactionEvent
from websockets.asyncio.client import ClientConnection

from tynebase.collab import protocol
from tynebase.collab.protocol import AwarenessEntry, MessageType, SyncStep

TicketSource = Callable[[], Awaitable[str]]


class YClient:
    def __init__(self, base_url: str, document_id: str, tickets: TicketSource) -> None:
        self.url = f"{base_url.rstrip('/')}/{document_id}"
        self.tickets = tickets
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get("markdown", type=Text)
        self.ws: ClientConnection | None = None
        self.synced = asyncio.Event()
        self.close_codes: list[int] = []
        self.denied = 0  # permission-denied (auth) messages received
        self.awareness: dict[int, str] = {}
        self._remote = False
        self._reader: asyncio.Task[None] | None = None
        self._subscription = self.doc.observe(self._on_local_change)
        self.keep_running = False
        self._runner: asyncio.Task[None] | None = None
        self.connections = 0
        self._sending: set[asyncio.Task[None]] = set()

    # --- one connection -------------------------------------------------------------------------

    async def connect(self, ticket: str | None = None, *, wait_synced: bool = True) -> None:
        ticket = ticket if ticket is not None else await self.tickets()
        self.synced.clear()
        self.ws = await websockets.connect(f"{self.url}?ticket={ticket}", max_size=None)
        self.connections += 1
        self._reader = asyncio.create_task(self._read(self.ws))
        presence = AwarenessEntry(self.doc.client_id, self.connections, json.dumps({"u": 1}))
        # A refused socket may already be closed by the server: the reader records its code.
        await self._send(self.ws, protocol.sync_message(SyncStep.STEP1, self.doc.get_state()))
        await self._send(self.ws, protocol.awareness_message(protocol.encode_awareness([presence])))
        if wait_synced:
            await asyncio.wait_for(self._synced_or_closed(), timeout=15)

    async def _synced_or_closed(self) -> None:
        assert self._reader is not None
        synced = asyncio.create_task(self.synced.wait())
        _done, _ = await asyncio.wait({synced, self._reader}, return_when=asyncio.FIRST_COMPLETED)
        synced.cancel()
        if not self.synced.is_set():
            raise ConnectionError(f"closed before sync: {self.close_codes[-1:]}")

    async def closed_code(self, within: float = 15) -> int:
        """Wait for the server to close this connection; its close code."""
        assert self._reader is not None
        await asyncio.wait_for(asyncio.shield(self._reader), timeout=within)
        return self.close_codes[-1]

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                assert isinstance(message, bytes)
                await self._handle(ws, message)
        except websockets.ConnectionClosed:
            pass
        finally:
            code = ws.close_code if ws.close_code is not None else 1006
            self.close_codes.append(code)

    async def _handle(self, ws: ClientConnection, data: bytes) -> None:
        reader = protocol.Reader(data)
        kind = reader.uint()
        if kind == MessageType.SYNC:
            step = reader.uint()
            payload = reader.bytes()
            if step == SyncStep.STEP1:
                await ws.send(protocol.sync_message(SyncStep.STEP2, self.doc.get_update(payload)))
            else:
                self._remote = True
                try:
                    self.doc.apply_update(payload)
                finally:
                    self._remote = False
                if step == SyncStep.STEP2:
                    self.synced.set()
        elif kind == MessageType.AWARENESS:
            for entry in protocol.parse_awareness(reader.bytes()):
                if entry.removed:
                    self.awareness.pop(entry.client_id, None)
                else:
                    self.awareness[entry.client_id] = entry.state
        elif kind == MessageType.AUTH:
            self.denied += 1

    def _on_local_change(self, event: TransactionEvent) -> None:
        if self._remote or self.ws is None:
            return
        update = event.update
        ws = self.ws
        task = asyncio.get_running_loop().create_task(
            self._send(ws, protocol.update_message(update))
        )
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def flush(self) -> None:
        """Wait until every local edit made so far was handed to the socket."""
        while self._sending:
            await asyncio.gather(*list(self._sending), return_exceptions=True)

    @staticmethod
    async def _send(ws: ClientConnection, data: bytes) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(data)

    async def send_raw(self, data: bytes) -> None:
        assert self.ws is not None
        await self.ws.send(data)

    async def close(self) -> None:
        await self.flush()
        self.keep_running = False
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)

    # --- editing --------------------------------------------------------------------------------

    def type(self, chars: str) -> None:
        """Append at the end (local edit: sent to the server as an update)."""
        self.text += chars

    def insert(self, index: int, chars: str) -> None:
        self.text.insert(index, chars)

    def value(self) -> str:
        return str(self.text)

    # --- staying connected (crash tests) ------------------------------------------------------

    def stay_connected(self) -> None:
        """Reconnect after every close, with a new ticket each time (backoff 0.1 s .. 1 s)."""
        self.keep_running = True
        self._runner = asyncio.create_task(self._stay())

    async def _stay(self) -> None:
        delay = 0.1
        while self.keep_running:
            if self._reader is None or self._reader.done():
                try:
                    await self.connect()
                    delay = 0.1
                except (OSError, ConnectionError, TimeoutError, websockets.InvalidHandshake):
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
            assert self._reader is not None
            await asyncio.wait({self._reader})
