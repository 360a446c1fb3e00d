"""Browser sessions on top of the API's own auth sessions (no second session store).

A login stores the access JWT and the refresh token the API would have returned in two HttpOnly,
SameSite=Lax cookies whose Path is the workspace (`/w/{sub}`), so each workspace has its own
session. An expired access token is refreshed with `auth.service.do_refresh_raced` (rotation and
reuse detection included). Browsers fire parallel requests when a token expires; to keep that
from looking like refresh-token reuse, one process refreshes a token once and hands the same new
tokens to the racers for a short grace period. Racers that reach another process are given a new
access token only (`AccessOnly`, within seconds of the rotation): their response leaves the
refresh cookie alone, so the token the first response set stays the browser's one live token.

CSRF: a token bound to the session (HMAC of the secret and the session id), sent in a form field
or the X-CSRF-Token header and checked on every state-changing request. Anonymous forms (login,
signup) bind it to a random per-browser cookie instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from starlette.responses import Response

from tynebase.api.state import AppState
from tynebase.auth import service as auth_service
from tynebase.auth.service import AccessOnly, IssuedTokens, Refusal
from tynebase.auth.tokens import token_hash
from tynebase.errors import Forbidden, TynebaseError
from tynebase.tenants import service as tenants_service

ACCESS_COOKIE = "tb_access"
REFRESH_COOKIE = "tb_refresh"
ANON_COOKIE = "tb_anon"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFRESH_GRACE_SECONDS = 30.0
Renewed = IssuedTokens | AccessOnly


def workspace_path(subdomain: str) -> str:
    return f"/w/{subdomain}"


class CsrfSigner:
    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"tynebase-web-csrf|" + secret).digest()

    def _sign(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()

    def for_session(self, session_id: UUID | str) -> str:
        return self._sign("session", str(session_id))

    def for_anonymous(self, nonce: str) -> str:
        return self._sign("anon", nonce)

    def check(self, expected: str, given: str | None) -> None:
        if not given or not hmac.compare_digest(expected, given):
            raise Forbidden(
                "The form has expired or did not come from this site; reload and try again",
                code="CSRF_FAILED",
            )


def new_anon_nonce() -> str:
    return secrets.token_urlsafe(24)


def set_session_cookies(
    response: Response,
    *,
    subdomain: str,
    tokens: Renewed,
    secure: bool,
    refresh_ttl: int,
) -> None:
    path = workspace_path(subdomain)
    response.set_cookie(
        ACCESS_COOKIE, tokens.access_token, path=path, httponly=True, samesite="lax", secure=secure
    )
    if isinstance(tokens, AccessOnly):
        return
    response.set_cookie(
        REFRESH_COOKIE,
        tokens.refresh_token,
        max_age=refresh_ttl,
        path=path,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def clear_session_cookies(response: Response, *, subdomain: str, secure: bool) -> None:
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        response.delete_cookie(
            name, path=workspace_path(subdomain), httponly=True, samesite="lax", secure=secure
        )


def set_anon_cookie(response: Response, nonce: str, *, secure: bool) -> None:
    response.set_cookie(
        ANON_COOKIE, nonce, max_age=86400, path="/", httponly=True, samesite="lax", secure=secure
    )


def raw_set_cookie_headers(
    *, subdomain: str, tokens: Renewed, secure: bool, refresh_ttl: int
) -> Iterable[tuple[bytes, bytes]]:
    """The Set-Cookie headers of a refreshed session, for responses built outside Starlette."""
    scratch = Response()
    set_session_cookies(
        scratch, subdomain=subdomain, tokens=tokens, secure=secure, refresh_ttl=refresh_ttl
    )
    return [(k, v) for k, v in scratch.raw_headers if k == b"set-cookie"]


@dataclass
class _Refreshed:
    tokens: Renewed | None
    at: float


class Refresher:
    """Refreshes a browser's tokens once per refresh token, whatever the number of racers."""

    def __init__(self) -> None:
        self._done: dict[str, _Refreshed] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._done.items() if now - v.at > REFRESH_GRACE_SECONDS]:
            del self._done[key]
            self._locks.pop(key, None)

    async def refresh(
        self, state: AppState, *, subdomain: str, refresh_token: str
    ) -> Renewed | None:
        """New tokens, or None when the session is over (revoked, expired, reused, suspended)."""
        key = f"{subdomain}|{token_hash(refresh_token).hex()}"
        now = time.monotonic()
        self._prune(now)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            done = self._done.get(key)
            if done is not None:
                return done.tokens
            tokens = await self._refresh(state, subdomain=subdomain, refresh_token=refresh_token)
            self._done[key] = _Refreshed(tokens, time.monotonic())
            return tokens

    @staticmethod
    async def _refresh(state: AppState, *, subdomain: str, refresh_token: str) -> Renewed | None:
        try:
            async with state.db.unit_of_work() as conn:
                tenant = await tenants_service.access_and_enter(conn, subdomain=subdomain)
                outcome = await auth_service.do_refresh_raced(
                    conn, keyring=state.keyring, tenant=tenant, refresh_token=refresh_token
                )
        except TynebaseError as exc:
            state.metrics.auth_failures.labels(exc.code).inc()
            return None
        if isinstance(outcome, Refusal):  # committed (the family is revoked)
            state.metrics.auth_failures.labels(outcome.error.code).inc()
            return None
        return outcome
