"""The verified-token cache of KeyRing never outlives the key or the token it vouches for."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import pytest

from tynebase.auth.signing import KeyRing
from tynebase.errors import Unauthenticated


def ring_with(keys: dict[str, bytes], signing: str, *, ttl: int = 900) -> KeyRing:
    ring = KeyRing(master_secret=b"m" * 40, access_ttl=ttl, refresh_interval=30)
    ring._keys, ring._signing_kid = dict(keys), signing  # as load() leaves them
    ring._loaded_at = time.monotonic()
    return ring


def test_second_use_of_a_token_is_served_from_the_cache() -> None:
    ring = ring_with({"k1": b"s" * 32}, "k1")
    token, _ = ring.issue(user_id=uuid.uuid4(), tenant_id=uuid.uuid4(), session_id=uuid.uuid4())
    assert ring.cached_claims(token) is None
    claims = ring.verify(token, kid=KeyRing.kid_of(token))
    assert ring.cached_claims(token) == claims


def test_a_key_dropped_from_the_ring_invalidates_its_cached_tokens() -> None:
    ring = ring_with({"k1": b"s" * 32}, "k1")
    token, _ = ring.issue(user_id=uuid.uuid4(), tenant_id=uuid.uuid4(), session_id=uuid.uuid4())
    ring.verify(token, kid="k1")
    ring._keys = {"k2": b"t" * 32}  # an emergency rotation, as the next load() sees it
    assert ring.cached_claims(token) is None
    with pytest.raises(Unauthenticated) as caught:
        ring.verify(token, kid="k1")
    assert caught.value.code == "INVALID_TOKEN"


def test_an_expired_token_is_not_served_from_the_cache() -> None:
    ring = ring_with({"k1": b"s" * 32}, "k1")
    token, _ = ring.issue(user_id=uuid.uuid4(), tenant_id=uuid.uuid4(), session_id=uuid.uuid4())
    claims = ring.verify(token, kid="k1")
    # The same token, cached, once its expiry (plus the allowed clock skew) has passed.
    ring._verified[token] = ("k1", replace(claims, expires_at=int(time.time()) - 60))
    assert ring.cached_claims(token) is None
    assert token not in ring._verified
