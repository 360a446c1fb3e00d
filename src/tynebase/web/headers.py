"""Security headers on every response; a strict Content-Security-Policy on pages.

No inline script anywhere (CSP `script-src 'self'`): page behaviour lives in static files. Style
*attributes* are allowed (`style-src-attr`) because the editor's live cursors colour themselves
with them; style elements and sheets must come from this origin."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def content_security_policy(extra_connect: str = "") -> str:
    connect = " ".join(filter(None, ["'self'", extra_connect]))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "style-src-attr 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; "
        f"connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, collab_origin: str = "") -> None:
        self.app = app
        self.collab_origin = collab_origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The API's own docs page (/api/docs) loads its UI from a CDN; JSON needs no CSP.
        page = not scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS.items():
                    if name not in headers:
                        headers[name] = value
                if page and "content-security-policy" not in headers:
                    host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
                    ws = f"ws://{host} wss://{host}" if host else ""
                    extra = " ".join(filter(None, [ws, self.collab_origin]))
                    headers["Content-Security-Policy"] = content_security_policy(extra)
            await send(message)

        await self.app(scope, receive, send_with_headers)
