"""Opaque tokens (refresh, email, invite, API keys): random, shown once, stored as SHA-256.

SHA-256 suffices here: the tokens carry 256 bits of randomness, unlike passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

_ALPHANUMERIC = string.ascii_letters + string.digits


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def same_hash(token: str, stored: bytes) -> bool:
    return hmac.compare_digest(token_hash(token), stored)


def new_api_key() -> tuple[str, str]:
    """(prefix, full key); the key reads `tb_<prefix>_<secret>` so leaks are recognisable."""
    prefix = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(10))
    secret = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(40))
    return prefix, f"tb_{prefix}_{secret}"


def split_api_key(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    parts = key.split("_")
    if len(parts) != 3 or parts[0] != "tb" or not parts[1].isalnum() or not parts[2].isalnum():
        return None
    return parts[1]
