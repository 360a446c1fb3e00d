"""A real HTTP server on 127.0.0.1 whose answers a test scripts per path, and which records what
it was asked (path and Host header)."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[[BaseHTTPRequestHandler], None]


def page(body: bytes, content_type: str = "text/html; charset=utf-8", **headers: str) -> Handler:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            request.send_header(name.replace("_", "-"), value)
        request.end_headers()
        request.wfile.write(body)

    return handle


def redirect(location: str, status: int = 302) -> Handler:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        request.send_header("Location", location)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return handle


def status(code: int) -> Handler:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(code)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return handle


def unbounded(total: int, chunk: int = 64 * 1024) -> Handler:
    """`total` bytes of HTML without a Content-Length (the size shows only while reading)."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.send_header("Connection", "close")
        request.end_headers()
        sent = 0
        while sent < total:
            piece = min(chunk, total - sent)
            request.wfile.write(b"a" * piece)
            sent += piece

    return handle


def gzip_bomb(expanded: int) -> Handler:
    body = gzip.compress(b"\0" * expanded, compresslevel=9)
    return page(body, "text/plain", Content_Encoding="gzip")


def trickle(pause: float, pieces: int) -> Handler:
    """Headers at once, then one byte every `pause` seconds (silence between bytes)."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/plain")
        request.send_header("Content-Length", str(pieces))
        request.end_headers()
        request.wfile.flush()
        for _ in range(pieces):
            time.sleep(pause)
            try:
                request.wfile.write(b"x")
                request.wfile.flush()
            except OSError:
                return  # the client gave up, as it should

    return handle


@dataclass
class LoopbackServer:
    port: int
    routes: dict[str, Handler]
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@contextmanager
def loopback_server() -> Iterator[LoopbackServer]:
    routes: dict[str, Handler] = {}
    seen: list[tuple[str, str]] = []

    class Request(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("Host", "")))
            handler = routes.get(self.path.split("?", 1)[0])
            (handler or status(404))(self)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Request)
    server.daemon_threads = True
    thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), daemon=True)
    thread.start()
    try:
        yield LoopbackServer(port=server.server_address[1], routes=routes, seen=seen)
    finally:
        server.shutdown()
        server.server_close()
