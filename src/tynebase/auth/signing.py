"""Access-token signing keys: stored encrypted in the database, each with a `kid`, rotated with
overlap (a retired key keeps verifying until every token it signed has expired).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.models import signing_keys
from tynebase.errors import Unauthenticated

log = logging.getLogger(__name__)
ALGORITHM = "HS256"
CLOCK_SKEW_SECONDS = 30
VERIFIED_CACHE_SIZE = 4096


@dataclass(frozen=True)
class AccessClaims:
    user_id: UUID
    tenant_id: UUID
    session_id: UUID
    expires_at: int


def _fernet(master_secret: bytes) -> Fernet:
    digest = hashlib.sha256(b"tynebase-signing-keys:" + master_secret).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


async def rotate_signing_key(
    conn: AsyncConnection, *, master_secret: bytes, overlap: timedelta
) -> str:
    """Retire the current key (it verifies for `overlap` more) and make a new signing key."""
    now = datetime.now(UTC)
    await conn.execute(
        signing_keys.update()
        .where(signing_keys.c.retires_at.is_(None))
        .values(retires_at=now + overlap)
    )
    kid = f"k{int(now.timestamp())}-{secrets.token_hex(4)}"
    encrypted = _fernet(master_secret).encrypt(secrets.token_bytes(32))
    await conn.execute(signing_keys.insert().values(kid=kid, secret_encrypted=encrypted))
    return kid


class KeyRing:
    """In-memory view of the signing keys, refreshed from the database periodically and on an
    unknown `kid` (another process may have rotated)."""

    def __init__(self, *, master_secret: bytes, access_ttl: int, refresh_interval: float) -> None:
        self._fernet = _fernet(master_secret)
        self._master_secret = master_secret
        self.access_ttl = access_ttl
        self._refresh_interval = refresh_interval
        self._keys: dict[str, bytes] = {}
        self._signing_kid: str | None = None
        self._loaded_at = 0.0
        # token -> (kid, claims) of tokens already verified: a client sends the same token for
        # its whole lifetime, and HS256 decoding is the largest CPU cost of authenticating.
        self._verified: dict[str, tuple[str, AccessClaims]] = {}

    async def load(self, conn: AsyncConnection) -> None:
        """Read the keys; creates the first one on a fresh database."""
        now = datetime.now(UTC)
        rows = (
            await conn.execute(
                sa.select(
                    signing_keys.c.kid, signing_keys.c.secret_encrypted, signing_keys.c.retires_at
                )
                .where(sa.or_(signing_keys.c.retires_at.is_(None), signing_keys.c.retires_at > now))
                .order_by(signing_keys.c.created_at)
            )
        ).all()
        if not any(row.retires_at is None for row in rows):
            await conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext('tynebase-signing-key'))")
            )
            await rotate_signing_key(
                conn,
                master_secret=self._master_secret,
                overlap=timedelta(seconds=self.access_ttl + CLOCK_SKEW_SECONDS),
            )
            return await self.load(conn)
        keys: dict[str, bytes] = {}
        for row in rows:
            try:
                keys[row.kid] = self._fernet.decrypt(row.secret_encrypted)
            except InvalidToken:
                log.warning("signing key %s cannot be decrypted with this secret; ignored", row.kid)
            if row.retires_at is None and row.kid in keys:
                self._signing_kid = row.kid
        self._keys = keys
        self._loaded_at = time.monotonic()

    def needs_refresh(self, kid: str | None = None) -> bool:
        stale = time.monotonic() - self._loaded_at > self._refresh_interval
        return stale or (kid is not None and kid not in self._keys)

    def issue(self, *, user_id: UUID, tenant_id: UUID, session_id: UUID) -> tuple[str, int]:
        """(access JWT, expiry as unix time)."""
        if self._signing_kid is None or self._signing_kid not in self._keys:
            raise RuntimeError("no usable signing key: was KeyRing.load() called?")
        now = int(time.time())
        exp = now + self.access_ttl
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "tid": str(tenant_id),
            "sid": str(session_id),
            "iat": now,
            "exp": exp,
            "typ": "access",
        }
        token = jwt.encode(
            claims,
            self._keys[self._signing_kid],
            algorithm=ALGORITHM,
            headers={"kid": self._signing_kid},
        )
        return token, exp

    @staticmethod
    def kid_of(token: str) -> str | None:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        return kid if isinstance(kid, str) else None

    def cached_claims(self, token: str) -> AccessClaims | None:
        """Claims of a token this process already verified, while its key and expiry still hold.

        A key dropped from the ring (retired past its overlap, or rotated away in an emergency)
        invalidates its cached tokens at the next refresh, as it would a fresh verification.
        """
        hit = self._verified.get(token)
        if hit is None:
            return None
        kid, claims = hit
        if kid not in self._keys or time.time() > claims.expires_at + CLOCK_SKEW_SECONDS:
            del self._verified[token]
            return None
        return claims

    def verify(self, token: str, *, kid: str | None) -> AccessClaims:
        """Verify `token` whose header names `kid` (read once by the caller: parsing is costly)."""
        claims = self._decode(token, kid=kid)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()  # bounded; refilled by the tokens still in use
        self._verified[token] = (kid or "", claims)
        return claims

    def _decode(self, token: str, *, kid: str | None) -> AccessClaims:
        key = self._keys.get(kid or "")
        if key is None:
            raise Unauthenticated(
                "Access token is malformed or signed by an unknown key", code="INVALID_TOKEN"
            )
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "sub", "tid", "sid"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated(
                "Access token has expired; refresh it", code="TOKEN_EXPIRED"
            ) from None
        except jwt.PyJWTError:
            raise Unauthenticated("Access token is invalid", code="INVALID_TOKEN") from None
        try:
            if claims.get("typ") != "access":
                raise ValueError("not an access token")
            return AccessClaims(
                user_id=UUID(claims["sub"]),
                tenant_id=UUID(claims["tid"]),
                session_id=UUID(claims["sid"]),
                expires_at=int(claims["exp"]),
            )
        except (ValueError, TypeError):
            raise Unauthenticated("Access token is invalid", code="INVALID_TOKEN") from None
