"""The direct frame path of the fan-out (collab/transport.py) and its fallback to the outbox."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import uvicorn
import websockets
from pycrdt import Doc, Text
from websockets.frames import Frame, Opcode

from tests.collab.conftest import async_wait_for, free_port
from tynebase.auth.principal import Principal
from tynebase.collab import protocol
from tynebase.collab.codes import CloseCode
from tynebase.collab.room import TEXT_NAME, Connection, Room, Stats
from tynebase.collab.tickets import Grant
from tynebase.collab.transport import (
    FRAME_EXTENSION,
    binary_frame,
    frame_writer,
    message_deliverer,
    ws_protocol,
)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_binary_frame_is_what_websockets_sends(size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    assert binary_frame(data) == Frame(Opcode.BINARY, data).serialize(mask=False, extensions=[])


def test_frame_writer_comes_from_the_scope() -> None:
    def write(frame: bytes) -> bool:
        return True

    assert frame_writer({"extensions": {FRAME_EXTENSION: {"write": write}}}) is write
    assert frame_writer({"extensions": {"websocket.http.response": {}}}) is None
    assert frame_writer({}) is None


def _unframe(frame: bytes) -> bytes:
    assert frame[0] == 0x82
    size, offset = frame[1], 2
    if size == 126:
        size, offset = int.from_bytes(frame[2:4], "big"), 4
    elif size == 127:
        size, offset = int.from_bytes(frame[2:10], "big"), 10
    assert len(frame) == offset + size
    return frame[offset:]


def _clocks(state_vector: bytes) -> dict[int, int]:
    """A Yjs state vector as {client: clock} (its byte order follows a hash map)."""
    reader = protocol.Reader(state_vector)
    return dict((reader.uint(), reader.uint()) for _ in range(reader.uint()))


class FakeSocket:
    """Records what reaches the client, by either path; `accept` decides whether the frame
    path takes a message now (a transport that asked us to stop writing declines)."""

    def __init__(self, accept: Callable[[], bool] | None) -> None:
        self.received: list[bytes] = []
        self.frames = 0
        self.closed: int | None = None
        self._accept = accept
        self.write_frame = self._write if accept is not None else None

    def _write(self, frame: bytes) -> bool:
        assert self._accept is not None
        if not self._accept():
            return False
        self.frames += 1
        self.received.append(_unframe(frame))
        return True

    async def send(self, data: bytes) -> None:
        await asyncio.sleep(0)  # the ASGI send yields: later sends must not overtake it
        self.received.append(data)

    async def close(self, code: int, reason: str) -> None:
        self.closed = code


def _grant() -> Grant:
    principal = Principal(uuid.uuid4(), "t@example.com", "T", "editor", False)
    return Grant(uuid.uuid4(), "t", uuid.uuid4(), principal, writable=True)


async def _fan_out(seed: int) -> None:
    rng = random.Random(seed)
    room = Room(uuid.uuid4(), uuid.uuid4())
    stats = Stats()
    # Always taken, taken in bursts, no frame path (ASGI only), never taken (outbox only).
    accepts: list[Callable[[], bool] | None] = [
        lambda: True,
        lambda: rng.random() < 0.5,
        None,
        lambda: False,
    ]
    sockets = [FakeSocket(accept) for accept in accepts]
    connections = [Connection(socket, _grant(), stats) for socket in sockets]
    clients: list[Doc[Any]] = []
    for connection in connections:
        room.connections.add(connection)
        connection.writer = asyncio.create_task(connection.write())
        clients.append(Doc())
    expected: list[list[bytes]] = [[] for _ in connections]
    for _ in range(300):
        index = rng.randrange(len(connections))
        client = clients[index]
        text = client.get(TEXT_NAME, type=Text)
        before = client.get_state()
        text.insert(rng.randint(0, len(text)), f"<{index}:{rng.random():.3f}>")
        update = client.get_update(before)
        room.apply_local(connections[index], update)
        for other in range(len(connections)):
            if other != index:
                expected[other].append(protocol.update_message(update))
        for _ in range(rng.randrange(4)):  # sometimes let the writers drain
            await asyncio.sleep(0)
    for connection in connections:
        connection.close(CloseCode.SHUTTING_DOWN)
    await asyncio.wait_for(asyncio.gather(*(c.writer for c in connections if c.writer)), 5)

    assert sockets[0].frames == len(expected[0])  # nothing queued: every message as a frame
    assert 0 < sockets[1].frames < len(expected[1])
    assert sockets[2].frames == sockets[3].frames == 0
    for socket, messages, client in zip(sockets, expected, clients, strict=True):
        assert socket.closed == int(CloseCode.SHUTTING_DOWN)
        assert socket.received == messages  # none lost, none reordered
        for message in socket.received:
            reader = protocol.Reader(message)
            assert (reader.uint(), reader.uint()) == (protocol.MessageType.SYNC, 2)
            client.apply_update(reader.bytes())
        assert _clocks(client.get_state()) == _clocks(room.doc.get_state())
        assert str(client.get(TEXT_NAME, type=Text)) == room.markdown()
    assert stats.messages_out == sum(len(m) for m in expected)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fan_out_by_frames_and_outbox_keeps_order_and_converges(seed: int) -> None:
    asyncio.run(_fan_out(seed))


async def _deliveries() -> list[tuple[str, bytes | str]]:
    """A real uvicorn with `FrameProtocol`; the app takes the direct receive path only after
    the client's first messages have queued up, and gives it back before the last ones."""
    got: list[tuple[str, bytes | str]] = []
    taken, given_back = asyncio.Event(), asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        deliver_to = message_deliverer(scope)
        assert deliver_to is not None
        await asyncio.sleep(0.3)  # the first messages wait in uvicorn's queue meanwhile
        deliver_to(lambda data: got.append(("direct", data)))
        taken.set()
        while (message := await receive())["type"] == "websocket.receive":
            got.append(("queued", message.get("bytes") or message["text"]))
            if message.get("text") == "give back":
                deliver_to(None)
                given_back.set()

    port = free_port()
    config = uvicorn.Config(app, port=port, ws=ws_protocol("websockets-sansio"), lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    await async_wait_for(lambda: server.started, what="uvicorn")
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/") as client:
            for n in range(5):
                await client.send(bytes([n]))
            await taken.wait()
            await asyncio.sleep(0.1)
            for n in range(5, 10):
                await client.send(bytes([n]))
            await client.send("give back")
            await given_back.wait()
            await client.send(bytes([10]))
            await asyncio.sleep(0.1)
    finally:
        server.should_exit = True
        await serving
    return got


def test_direct_receive_keeps_order_with_what_was_queued() -> None:
    got = asyncio.run(_deliveries())
    assert [data for _, data in got] == [*(bytes([n]) for n in range(10)), "give back", b"\n"]
    paths = [path for path, _ in got]
    assert paths[:5] == ["queued"] * 5  # arrived before the receiver: read from the queue
    assert paths[5:10] == ["direct"] * 5  # straight from the transport once the queue was empty
    assert paths[10:] == ["queued", "queued"]  # text frames, and everything after giving it back
