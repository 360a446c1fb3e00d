"""`/w/{sub}/api/...` → `/api/...` for the browser: the page's scripts call the real JSON API
(same routes, same permission checks, same errors) with the cookie session.

The middleware turns the workspace's session cookies into `Authorization: Bearer <access>` and
`X-Tenant-Subdomain`, refreshing the access token when it has expired (and setting the new
cookies on the response). Every non-GET call must carry the session's CSRF token in
X-CSRF-Token. Anything the client sent as Authorization/X-Tenant-Subdomain is dropped: on this
path only the cookie speaks."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tynebase.api.state import AppState
from tynebase.auth.signing import KeyRing
from tynebase.errors import TynebaseError, Unauthenticated
from tynebase.web.session import (
    ACCESS_COOKIE,
    CSRF_HEADER,
    REFRESH_COOKIE,
    SAFE_METHODS,
    raw_set_cookie_headers,
)
from tynebase.web.state import WebState

BRIDGE_PATH = re.compile(r"^/w/([a-z0-9][a-z0-9-]{1,61}[a-z0-9])(/api/.*)$")
_DROPPED = {b"authorization", b"x-tenant-subdomain", b"cookie"}


def _cookies(headers: Headers) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for raw in headers.getlist("cookie"):
        try:
            jar.load(raw)
        except Exception:  # noqa: S112 - a malformed cookie header is no cookie
            continue
    return {key: morsel.value for key, morsel in jar.items()}


async def _error(send: Send, status: int, code: str, message: str) -> None:
    body = orjson.dumps({"error": {"code": code, "message": message, "details": {}}})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _verified_session(keyring: KeyRing, access: str) -> str | None:
    """The session id of a still-valid access token (signature and expiry), else None."""
    claims = keyring.cached_claims(access)
    if claims is None:
        try:
            claims = keyring.verify(access, kid=KeyRing.kid_of(access))
        except Unauthenticated:
            return None
    return str(claims.session_id)


class ApiBridgeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = BRIDGE_PATH.match(scope["path"]) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        root = scope["app"]
        state: AppState = root.state.tynebase
        web: WebState = root.state.web
        subdomain, api_path = match.group(1), match.group(2)
        headers = Headers(scope=scope)
        cookies = _cookies(headers)
        access, refresh = cookies.get(ACCESS_COOKIE), cookies.get(REFRESH_COOKIE)
        if state.keyring.needs_refresh(KeyRing.kid_of(access) if access else None):
            async with state.db.unit_of_work() as conn:
                await state.keyring.load(conn)
        session_id = _verified_session(state.keyring, access) if access else None
        set_cookies: list[tuple[bytes, bytes]] = []
        if session_id is None and refresh:
            tokens = await web.refresher.refresh(state, subdomain=subdomain, refresh_token=refresh)
            if tokens is not None:
                access, session_id = tokens.access_token, str(tokens.session_id)
                set_cookies = list(
                    raw_set_cookie_headers(
                        subdomain=subdomain,
                        tokens=tokens,
                        secure=scope.get("scheme") == "https",
                        refresh_ttl=state.settings.refresh_token_ttl_seconds,
                    )
                )
        if session_id is None:
            await _error(send, 401, "UNAUTHENTICATED", "Log in to this workspace first")
            return
        if scope["method"] not in SAFE_METHODS:
            try:
                web.csrf.check(web.csrf.for_session(session_id), headers.get(CSRF_HEADER))
            except TynebaseError as exc:
                await _error(send, exc.status, exc.code, exc.message)
                return
        new_headers: list[tuple[bytes, bytes]] = [
            (k, v) for k, v in scope["headers"] if k not in _DROPPED
        ]
        new_headers.append((b"authorization", f"Bearer {access}".encode()))
        new_headers.append((b"x-tenant-subdomain", subdomain.encode()))
        scope["headers"] = new_headers
        scope["path"] = api_path
        scope["raw_path"] = api_path.encode()

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start" and set_cookies:
                message = {**message, "headers": [*message.get("headers", []), *set_cookies]}
            await send(message)

        await self.app(scope, receive, send_with_cookies)
