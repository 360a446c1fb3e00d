"""The WebSocket transport under collaboration sockets: uvicorn's sans-I/O protocol plus a direct
frame path for the fan-out (measured in docs/PERFORMANCE.md).

A room sends the same message to every other socket, and a server's frames are not masked, so
one encoded frame serves all of them. `FrameProtocol` offers the app a `write_frame` callable as
an ASGI scope extension: it writes such a frame to the transport at once, without the ASGI
send chain (Starlette, middleware, uvicorn's send coroutine) and without re-framing the message
per socket. It declines (returns False) when the socket is not open or its transport asked us
to stop writing; the caller then queues and sends through ASGI, which waits for the transport.
Frames written this way are never compressed; permessage-deflate lets a sender mix uncompressed
messages with compressed ones (RFC 7692, RSV1 unset).

The same extension offers `deliver_to(receiver)` for the other direction: once the app has read
what was already queued, each binary message goes to `receiver` straight from `data_received`,
instead of into uvicorn's queue (which pauses reading until the app task wakes up, takes it
through the ASGI receive chain and resumes reading: two system calls and a task switch per
message). Text frames, close and disconnect still arrive through the ASGI receive.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

# The scope extension's name; its value is {"write": write_frame, "deliver_to": deliver_to}.
FRAME_EXTENSION = "tynebase.websocket.frame"
WriteFrame = Callable[[bytes], bool]
Receiver = Callable[[bytes], None]
DeliverTo = Callable[[Receiver | None], None]
_FIN_BINARY = 0x82


def binary_frame(data: bytes) -> bytes:
    """One unmasked, final binary frame holding `data` (RFC 6455 5.2)."""
    size = len(data)
    if size < 126:
        return bytes((_FIN_BINARY, size)) + data
    if size < 1 << 16:
        return struct.pack("!BBH", _FIN_BINARY, 126, size) + data
    return struct.pack("!BBQ", _FIN_BINARY, 127, size) + data


def _offered(scope: Any, name: str) -> Any:
    extension = scope.get("extensions", {}).get(FRAME_EXTENSION)
    return extension[name] if extension else None


def frame_writer(scope: Any) -> WriteFrame | None:
    """The direct frame path of a WebSocket scope, if the server offers one."""
    writer: WriteFrame | None = _offered(scope, "write")
    return writer


def message_deliverer(scope: Any) -> DeliverTo | None:
    """The direct receive path of a WebSocket scope, if the server offers one."""
    deliverer: DeliverTo | None = _offered(scope, "deliver_to")
    return deliverer


class FrameProtocol(WebSocketsSansIOProtocol):
    """uvicorn's `websockets-sansio` protocol with the frame extension."""

    receiver: Receiver | None = None

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # unset when the handshake was refused
        if scope is not None:
            scope["extensions"][FRAME_EXTENSION] = {
                "write": self.write_frame,
                "deliver_to": self.deliver_to,
            }

    def deliver_to(self, receiver: Receiver | None) -> None:
        """Hand binary messages to `receiver` as they arrive (None: back to the ASGI queue)."""
        self.receiver = receiver

    def send_receive_event_to_app(self) -> None:
        receiver = self.receiver
        if (
            receiver is None
            or self.curr_msg_data_type != "bytes"
            or self.close_sent
            # Messages queued before the receiver came (or text ones) are read first.
            or not self.queue.empty()
        ):
            super().send_receive_event_to_app()
            return
        frames, self.frames = self.frames, []
        receiver(frames[0] if len(frames) == 1 else b"".join(frames))

    def write_frame(self, frame: bytes) -> bool:
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True


def ws_protocol(impl: str) -> str | type[asyncio.Protocol]:
    """The `ws` option for uvicorn: our subclass for `websockets-sansio`, else uvicorn's own."""
    return FrameProtocol if impl == "websockets-sansio" else impl
