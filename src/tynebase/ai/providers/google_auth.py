"""Vertex AI with a Google service account (OAuth 2.0 JWT bearer grant, RFC 7523).

The service account's key signs a short JWT (RS256) naming the account, the cloud-platform scope
and the token endpoint; the endpoint answers an access token valid for about an hour. Tokens are
cached per provider (shared by every event loop of the process) and renewed a few minutes before
they expire; a 401 from Vertex (a token revoked or rotated early) drops the cached one, and the
HTTP layer tries once more with a fresh one (`http.HttpClient`).

The token endpoint's refusals are credential problems: `invalid_grant` (a deleted or disabled
key, a clock far off) and `invalid_client` become AI_INVALID_CREDENTIALS with the OAuth error as
the reason, so the operator sees which of their settings is wrong.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tynebase.ai.providers.config import ProviderConfig
from tynebase.ai.providers.errors import AIBadResponse, AIError, AIInvalidCredentials
from tynebase.ai.providers.http import (
    ERROR_BODY_LIMIT,
    Endpoint,
    HttpClient,
    status_error,
    transport_error,
)

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SECONDS = 3600  # the longest Google accepts
# Renew this long before expiry, so a token never expires in the middle of a long call.
REFRESH_MARGIN_SECONDS = 300.0
TOKEN_STEP = {"step": "token"}  # in error details: getting a token failed, not the model call


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    private_key: RSAPrivateKey = field(repr=False)
    private_key_id: str | None
    token_uri: str | None


def load_service_account(config: ProviderConfig) -> ServiceAccount | None:
    """The configured service account (read from its file now, at start), or None. Raises
    ValueError with a message naming the provider when the key is unusable."""
    where = f"provider {config.name!r}"
    if config.service_account_json is not None:
        text = config.service_account_json.get_secret_value()
    elif config.service_account_file is not None:
        try:
            text = Path(config.service_account_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(
                f"{where}: cannot read service_account_file {config.service_account_file!r}: "
                f"{exc.strerror}"
            ) from None
        where += f" (service_account_file {config.service_account_file!r})"
    else:
        return None
    try:
        info: Any = json.loads(text)
        email, pem = info["client_email"], info["private_key"]
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError(
            f"{where}: not a service account key (JSON with client_email and an unencrypted "
            "PEM private_key)"
        ) from None
    if not isinstance(key, RSAPrivateKey) or not isinstance(email, str):
        raise ValueError(f"{where}: the service account key must be an RSA key")
    key_id, token_uri = info.get("private_key_id"), info.get("token_uri")
    return ServiceAccount(
        client_email=email,
        private_key=key,
        private_key_id=key_id if isinstance(key_id, str) else None,
        token_uri=token_uri if isinstance(token_uri, str) else None,
    )


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float  # on the provider's clock


class ServiceAccountAuth:
    """Bearer headers for Vertex calls from a service account (`http.RequestAuth`)."""

    def __init__(
        self,
        account: ServiceAccount,
        *,
        provider: str,
        token_url: str,
        timeout: float,
        connect_timeout: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.account = account
        self.provider = provider
        self.token_url = token_url
        self.clock = clock
        self.wall_clock = wall_clock  # JWTs carry real times (iat/exp)
        self.http = HttpClient(
            Endpoint(
                provider=provider, headers={}, timeout=timeout, connect_timeout=connect_timeout
            )
        )
        self._token: _Token | None = None
        # One exchange at a time per event loop: concurrent first calls wait for one token.
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
        self._locks = weakref.WeakKeyDictionary()

    async def headers(self) -> Mapping[str, str]:
        token = self._token
        if token is None or self.clock() >= token.renew_at:
            loop = asyncio.get_running_loop()
            lock = self._locks.setdefault(loop, asyncio.Lock())
            async with lock:
                token = self._token
                if token is None or self.clock() >= token.renew_at:
                    token = self._token = await self._exchange()
        return {"Authorization": f"Bearer {token.value}"}

    def invalidate(self, headers: Mapping[str, str]) -> None:
        """The token in `headers` was refused: forget it (unless a newer one replaced it)."""
        token = self._token
        if token is not None and headers.get("Authorization") == f"Bearer {token.value}":
            self._token = None

    def assertion(self) -> str:
        """The signed JWT that asks for an access token."""
        now = int(self.wall_clock())
        claims = {
            "iss": self.account.client_email,
            "scope": SCOPE,
            "aud": self.token_url,
            "iat": now,
            "exp": now + ASSERTION_SECONDS,
        }
        key_id = self.account.private_key_id
        return jwt.encode(
            claims,
            self.account.private_key,
            algorithm="RS256",
            headers={"kid": key_id} if key_id else None,
        )

    async def _exchange(self) -> _Token:
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": self.assertion()}
        started = self.clock()
        try:
            async with asyncio.timeout(self.http.endpoint.timeout):
                response = await self.http.client().post(self.token_url, data=form)
        except (TimeoutError, httpx.TimeoutException, httpx.TransportError) as exc:
            error = transport_error(exc, provider=self.provider, model=None)
            raise self._token_step(error) from exc
        body = response.content[:ERROR_BODY_LIMIT]
        if response.status_code >= 400:
            raise self._refused(response, body)
        try:
            data = orjson.loads(body)
            value, lifetime = data["access_token"], float(data.get("expires_in", 3600))
            if not isinstance(value, str) or not value:
                raise TypeError("no access token")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            raise AIBadResponse(
                f"The token endpoint of AI provider {self.provider} sent no access token",
                provider=self.provider,
                reason="token_response",
                details=TOKEN_STEP,
            ) from None
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 2)
        return _Token(value=value, renew_at=started + lifetime - margin)

    def _refused(self, response: httpx.Response, body: bytes) -> AIError:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
        oauth_error = data.get("error") if isinstance(data, dict) else None
        description = data.get("error_description") if isinstance(data, dict) else None
        if response.status_code in (400, 401, 403) and (
            isinstance(oauth_error, str) or response.status_code != 400
        ):
            reason = oauth_error if isinstance(oauth_error, str) else "token_refused"
            error: AIError = AIInvalidCredentials(
                f"The token endpoint of AI provider {self.provider} refused the service account "
                f"{self.account.client_email} ({reason}); check the key in its settings",
                provider=self.provider,
                upstream_status=response.status_code,
                reason=reason,
                details=TOKEN_STEP,
            )
            error.upstream_message = str(description or "")[:300]
            return error
        return self._token_step(status_error(response, body, provider=self.provider, model=None))

    def _token_step(self, error: AIError) -> AIError:
        error.details.update(TOKEN_STEP)
        return error

    async def aclose(self) -> None:
        await self.http.aclose()
