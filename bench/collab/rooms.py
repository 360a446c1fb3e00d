"""Micro-benchmark of the room alone: our `Room` (tynebase.collab.room) against pycrdt-websocket's
`YRoom`, the design choice recorded in docs/PERFORMANCE.md.

Each is served in memory by the same uvicorn (same WebSocket implementation), as a bare ASGI app
with no tickets, store or projection, and driven by the same Node load as `bench.collab.run`
(light writers plus one full verifier per document, tokens timed from send to receipt). One JSON
object comes out with both sides and the ratios.

    .venv/bin/python -m bench.collab.rooms [--clients 500] [--documents 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import psutil
import uvicorn
from bench.collab.run import ensure_node_modules, run_load
from tests.collab.conftest import free_port

from tynebase.auth.principal import Principal
from tynebase.collab import protocol
from tynebase.collab.protocol import MessageType, SyncStep
from tynebase.collab.room import Connection, Room, Stats
from tynebase.collab.tickets import Grant
from tynebase.collab.transport import WriteFrame, frame_writer, message_deliverer, ws_protocol

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class _AsgiSocket:
    deliver_to = None  # the app takes the direct receive path itself

    def __init__(self, send: Send, write_frame: WriteFrame | None) -> None:
        self._send = send
        self.write_frame = write_frame

    async def send(self, data: bytes) -> None:
        await self._send({"type": "websocket.send", "bytes": data})

    async def close(self, code: int, reason: str) -> None:
        await self._send({"type": "websocket.close", "code": code, "reason": reason})


def _ours() -> Callable[[dict[str, Any], Receive, Send], Awaitable[None]]:
    """Our room with what `CollabManager._handle` does per message, minus access and store."""
    rooms: dict[str, Room] = {}
    stats = Stats()
    principal = Principal(uuid.uuid4(), "bench@example.com", "Bench", "editor", False)
    grant = Grant(uuid.uuid4(), "bench", uuid.uuid4(), principal, writable=True)

    def handle(connection: Connection, room: Room, data: bytes) -> None:
        reader = protocol.Reader(data)
        kind = reader.uint()
        if kind == MessageType.SYNC:
            step, payload = reader.uint(), reader.bytes()
            if step == SyncStep.STEP1:
                connection.send(room.answer_step1(payload))
            elif payload != protocol.EMPTY_UPDATE:
                room.apply_local(connection, payload)
        elif kind == MessageType.AWARENESS:
            room.relay_awareness(connection, reader.bytes())

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        room = rooms.get(scope["path"])
        if room is None:
            room = rooms[scope["path"]] = Room(uuid.uuid4(), uuid.uuid4())
        connection = Connection(_AsgiSocket(send, frame_writer(scope)), grant, stats)
        room.connections.add(connection)
        for message in room.greeting():
            connection.send(message)
        connection.writer = asyncio.create_task(connection.write())
        deliver_to = message_deliverer(scope)
        if deliver_to is not None:  # as CollabManager.serve: messages straight from the transport
            deliver_to(functools.partial(handle, connection, room))
        try:
            while (message := await receive())["type"] == "websocket.receive":
                if message.get("bytes"):
                    handle(connection, room, message["bytes"])
        finally:
            if deliver_to is not None:
                deliver_to(None)
            room.leave(connection)
            connection.writer.cancel()

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _serve(impl: str, port: int, ws: str) -> None:
    config: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "log_config": None,
        "ws": ws_protocol(ws),
        "lifespan": "on",
    }
    if impl == "ours":
        await uvicorn.Server(uvicorn.Config(_ours(), **config)).serve()
        return
    from pycrdt.websocket import ASGIServer, WebsocketServer, YRoom

    class Server(WebsocketServer):
        """pycrdt-websocket 0.16 starts a new room once per connection that finds it stopped:
        two sockets arriving together make the second wait forever on the room's start lock.
        One room start at a time works around it (cost paid only when a room opens)."""

        lock = asyncio.Lock()

        async def get_room(self, name: str) -> YRoom:
            async with self.lock:
                return await super().get_room(name)

    server = Server(auto_clean_rooms=False)
    async with server:
        await uvicorn.Server(uvicorn.Config(ASGIServer(server), **config)).serve()


def _wait_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the room server exited")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError("the room server did not start")


def _measure(impl: str, clients: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    command = [sys.executable, "-m", "bench.collab.rooms", "--serve", impl, "--port", str(port)]
    command += ["--ws", args.ws]
    process = subprocess.Popen(command)
    try:
        _wait_port(port, process)
        result = run_load(
            "tynebase",
            f"ws://127.0.0.1:{port}",
            clients,
            psutil.Process(process.pid),
            args.seconds,
            args.generators,
        )
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    result.pop("_texts")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--documents", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--generators", type=int, default=2)
    parser.add_argument(
        "--ws", default="websockets-sansio", choices=["websockets", "websockets-sansio"]
    )
    parser.add_argument("--serve", choices=["ours", "yroom"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve, args.port, args.ws))
        return
    ensure_node_modules()
    per_doc = args.clients // args.documents
    rooms = [str(uuid.uuid4()) for _ in range(args.documents)]
    clients = [{"room": r, "ticket": "-", "full": i == 0} for r in rooms for i in range(per_doc)]
    ours = _measure("ours", clients, args)
    yroom = _measure("yroom", clients, args)

    def ratio(key: str) -> float | None:
        return float(f"{ours[key] / yroom[key]:.3g}") if ours.get(key) and yroom.get(key) else None

    keys = (
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "server_cpu_percent_of_a_core",
        "rss_per_idle_connection_kb",
    )
    print(
        json.dumps(
            {
                "load": {
                    "clients": args.clients,
                    "documents": args.documents,
                    "edits_per_client_per_second": 2,
                    "seconds": args.seconds,
                    "server": f"uvicorn ({args.ws}), in memory, no store",
                },
                "ours_room": ours,
                "pycrdt_websocket_yroom": yroom,
                "ratio_ours_to_yroom": {key: ratio(key) for key in keys},
                "valid_run": min(ours["edits_sent_share"], yroom["edits_sent_share"]) >= 0.99,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
