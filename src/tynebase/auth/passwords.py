"""Password policy (length + zxcvbn's common-password dictionaries) and argon2id hashing.

Hashing is deliberately slow, so callers run it in a worker thread, never on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from anyio import to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tynebase.errors import ValidationFailed
from tynebase.settings import Settings

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
MIN_STRENGTH_SCORE = 3  # zxcvbn 0..4; below 3 are common, breached or trivially patterned


@dataclass(frozen=True)
class HashCost:
    memory_kib: int = 64 * 1024  # RFC 9106's second recommended option (the settings' default)
    time_cost: int = 3
    parallelism: int = 4


_cost = HashCost()


def configure_hashing(settings: Settings) -> None:
    """Hash new passwords at the settings' cost in this process (called once at start).
    Verification reads the cost from each stored hash, so a change never locks anyone out."""
    global _cost
    cost = HashCost(
        settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism
    )
    if cost != _cost:
        _cost = cost
        _hasher.cache_clear()
        _dummy_hash.cache_clear()


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher(
        time_cost=_cost.time_cost, memory_cost=_cost.memory_kib, parallelism=_cost.parallelism
    )


def check_password_strength(password: str, *, email: str = "", name: str = "") -> None:
    """Raise WEAK_PASSWORD unless the password is long and not a common or derived one."""
    from zxcvbn import zxcvbn

    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"Password must have at least {MIN_PASSWORD_LENGTH} characters",
            code="WEAK_PASSWORD",
            details={"min_length": MIN_PASSWORD_LENGTH},
        )
    result = zxcvbn(password[:100], user_inputs=[email, email.split("@")[0], name])
    if result["score"] < MIN_STRENGTH_SCORE:
        feedback = result["feedback"]
        raise ValidationFailed(
            "Password is too common or too easy to guess",
            code="WEAK_PASSWORD",
            details={
                "warning": feedback.get("warning") or "",
                "suggestions": feedback.get("suggestions") or [],
            },
        )


async def hash_password(password: str) -> str:
    return await to_thread.run_sync(_hasher().hash, password)


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made at another cost than the configured one."""
    return _hasher().check_needs_rehash(password_hash)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the user exists, so timing does not reveal accounts."""
    return await to_thread.run_sync(_verify, password_hash or _dummy_hash(), password) and (
        password_hash is not None
    )


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("not-a-real-password-only-burns-time")
