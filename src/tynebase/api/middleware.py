"""One pure-ASGI middleware for every request: request id, rate-limit headers, metrics by route
template, a JSON log line, and a clean 500 envelope if anything escapes."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tynebase.logging import request_id_var
from tynebase.ops.metrics import Metrics

log = logging.getLogger("tynebase.request")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
UNMATCHED_ROUTE = "<unmatched>"
RATE_LIMIT_HEADERS = "rate_limit_headers"  # key in the request state
MIB = 1024 * 1024
# JSON bodies are read whole before validation: refuse oversized ones before reading them.
# A 10 MB document body can grow up to ~2x when escaped as JSON.
MAX_BODY_BYTES = 24 * MIB
STREAMING_UPLOAD_PREFIXES = ("/api/files", "/api/imports")


def _error_body(code: str, message: str) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "details": {}}})


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = Headers(scope=scope)
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        reset_token = request_id_var.set(request_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        response = {"status": 500, "started": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["started"] = True
                mutable = MutableHeaders(scope=message)
                mutable["X-Request-ID"] = request_id
                # The tenant budget of an authenticated call (set by the auth dependency);
                # a refusal inside the app (per-IP limit) already carries its own.
                for name, value in state.get(RATE_LIMIT_HEADERS, {}).items():
                    if name not in mutable:
                        mutable[name] = value
            await send(message)

        try:
            if self._too_large(scope, headers):
                await self._send_error(
                    send_with_headers,
                    413,
                    "PAYLOAD_TOO_LARGE",
                    f"Request bodies are limited to {MAX_BODY_BYTES // MIB} MiB "
                    "(files go to /api/files, which streams them)",
                )
                return
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error")
            if not response["started"]:
                await self._send_error(send_with_headers, 500, "INTERNAL_ERROR", "Internal error")
        finally:
            self._observe(scope, state, response["status"], time.perf_counter() - started)
            request_id_var.reset(reset_token)

    @staticmethod
    def _too_large(scope: Scope, headers: Headers) -> bool:
        if scope["path"].startswith(STREAMING_UPLOAD_PREFIXES):
            return False
        length = headers.get("content-length", "")
        return length.isdigit() and int(length) > MAX_BODY_BYTES

    @staticmethod
    async def _send_error(send: Send, status: int, code: str, message: str) -> None:
        body = _error_body(code, message)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _observe(self, scope: Scope, state: dict[str, Any], status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or UNMATCHED_ROUTE
        method = scope["method"]
        self.metrics.http_requests.labels(method, template, str(status)).inc()
        self.metrics.http_duration.labels(method, template).observe(seconds)
        log.info(
            "request",
            extra={
                "method": method,
                "route": template,
                "path": scope["path"],
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "tenant": state.get("tenant"),
                "user": state.get("user"),
                "client": (scope.get("client") or ("", 0))[0],
            },
        )
