"""A real HTTP/1.1 server on 127.0.0.1 (a free port) in a background thread, scriptable per test.

Each request gets the next queued `Reply` (FIFO), else the server's default handler's answer.
Replies can be slow (`delay`), stream chunks with pauses, stop a stream without its end, or
announce a body longer than they send (truncated): enough to produce every failure a provider
client must classify, over a real socket.

    with FakeServer(lambda request: Reply.json({"ok": True})) as server:
        server.enqueue(Reply.json({"error": "busy"}, status=503, headers={"Retry-After": "1"}))
        httpx.post(server.url + "/x")   # 503
        httpx.post(server.url + "/x")   # 200 {"ok": true}
        server.requests[0].json
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    529: "Overloaded",
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # Streamed with chunked transfer encoding when set; a float item pauses that many seconds.
    chunks: list[bytes | float] | None = None
    delay: float = 0.0  # seconds before anything is sent (a slow upstream)
    truncate_at: int | None = None  # send only this many body bytes, then close (body only)
    end_stream: bool = True  # False: close a chunked stream without its final chunk

    @classmethod
    def json(cls, data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(
            status=status,
            headers={"content-type": "application/json", **(headers or {})},
            body=orjson.dumps(data),
        )

    @classmethod
    def sse(
        cls,
        events: list[str | float],
        *,
        end_stream: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Server-sent events: each str is one event's text (e.g. 'data: {...}'), sent as its own
        chunk followed by a blank line; floats pause."""
        chunks: list[bytes | float] = [
            e if isinstance(e, float) else (e + "\n\n").encode() for e in events
        ]
        return cls(
            status=200,
            headers={"content-type": "text/event-stream", **(headers or {})},
            chunks=chunks,
            end_stream=end_stream,
        )


Handler = Callable[[Request], Reply]


class FakeServer:
    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler or (lambda _request: Reply(status=404))
        self.requests: list[Request] = []
        self._queue: deque[Reply | Handler] = deque()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="fake-ai-server", daemon=True)
        self._ready = threading.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        future.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- scripting ------------------------------------------------------------------------------

    def enqueue(self, *replies: Reply | Handler) -> None:
        """Answer the next requests with these, in order (then the default handler again)."""
        with self._lock:
            self._queue.extend(replies)

    def _next(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            scripted = self._queue.popleft() if self._queue else None
        if scripted is None:
            return self.handler(request)
        return scripted if isinstance(scripted, Reply) else scripted(request)

    # --- the server -----------------------------------------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            request = await _read_request(reader)
            if request is not None:
                await _send(writer, self._next(request))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away (e.g. it timed out): nothing to answer
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0]:
        return None
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    parts = urlsplit(target)
    return Request(method, parts.path, dict(parse_qsl(parts.query)), headers, body)


async def _send(writer: asyncio.StreamWriter, reply: Reply) -> None:
    if reply.delay:
        await asyncio.sleep(reply.delay)
    headers = {"connection": "close", **{k.lower(): v for k, v in reply.headers.items()}}
    if reply.chunks is not None:
        headers["transfer-encoding"] = "chunked"
    else:
        headers.setdefault("content-length", str(len(reply.body)))
    status_line = f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}\r\n"
    head = status_line + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode("latin-1"))
    await writer.drain()
    if reply.chunks is None:
        body = reply.body if reply.truncate_at is None else reply.body[: reply.truncate_at]
        writer.write(body)
        await writer.drain()
        return
    for chunk in reply.chunks:
        if isinstance(chunk, float):
            await asyncio.sleep(chunk)
            continue
        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        await writer.drain()
    if reply.end_stream:
        writer.write(b"0\r\n\r\n")
        await writer.drain()
