"""One pure-ASGI middleware for every request: request id, per-tenant rate limit, metrics by
route template, a JSON log line, and a clean 500 envelope if anything escapes."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tynebase.api.ratelimit import RateLimiter
from tynebase.logging import request_id_var
from tynebase.ops.metrics import Metrics

log = logging.getLogger("tynebase.request")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
UNMATCHED_ROUTE = "<unmatched>"


def subdomain_of(headers: Headers, base_domain: str) -> str | None:
    """The tenant named by `X-Tenant-Subdomain`, else by a `{sub}.{base_domain}` Host."""
    explicit = headers.get("x-tenant-subdomain")
    if explicit:
        return explicit.strip().lower()
    host = headers.get("host", "").split(":", 1)[0].lower()
    suffix = "." + base_domain.lower()
    if host.endswith(suffix) and host != suffix[1:]:
        sub = host[: -len(suffix)]
        return sub if "." not in sub else None
    return None


def _error_body(code: str, message: str) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "details": {}}})


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, limiter: RateLimiter,
                 base_domain: str) -> None:
        self.app = app
        self.metrics = metrics
        self.limiter = limiter
        self.base_domain = base_domain

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
        extra_headers = {"X-Request-ID": request_id}
        response = {"status": 500, "started": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["started"] = True
                mutable = MutableHeaders(scope=message)
                for name, value in extra_headers.items():
                    mutable[name] = value
            await send(message)

        try:
            subdomain = subdomain_of(headers, self.base_domain)
            if subdomain and scope["path"].startswith("/api/"):
                verdict = await self.limiter.hit(self.limiter.api_per_tenant, "tenant", subdomain)
                extra_headers.update(verdict.headers())
                if not verdict.allowed:
                    self.metrics.rate_limited.labels("api_per_tenant").inc()
                    await self._send_error(send_with_headers, 429, "RATE_LIMITED",
                                           "This workspace is sending too many requests")
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
    async def _send_error(send: Send, status: int, code: str, message: str) -> None:
        body = _error_body(code, message)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _observe(self, scope: Scope, state: dict[str, Any], status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or UNMATCHED_ROUTE
        method = scope["method"]
        self.metrics.http_requests.labels(method, template, str(status)).inc()
        self.metrics.http_duration.labels(method, template).observe(seconds)
        log.info("request", extra={
            "method": method, "route": template, "path": scope["path"], "status": status,
            "duration_ms": round(seconds * 1000, 2), "tenant": state.get("tenant"),
            "user": state.get("user"), "client": (scope.get("client") or ("", 0))[0],
        })
