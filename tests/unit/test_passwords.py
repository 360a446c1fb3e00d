"""argon2id cost: production's default, the settings' floor, and changes that lock nobody out."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from tynebase.auth import passwords
from tynebase.settings import Settings


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def restore_cost() -> Iterator[None]:
    before = passwords._cost
    yield
    passwords._cost = before
    passwords._hasher.cache_clear()
    passwords._dummy_hash.cache_clear()


def hash_(password: str) -> str:
    return asyncio.run(passwords.hash_password(password))


def verify(stored: str | None, password: str) -> bool:
    return asyncio.run(passwords.verify_password(stored, password))


def test_default_settings_hash_at_rfc_9106_cost(restore_cost: None) -> None:
    passwords.configure_hashing(make())
    stored = hash_("mellow-otter-tuba-91")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify(stored, "mellow-otter-tuba-91")
    assert not verify(stored, "mellow-otter-tuba-92")


def test_a_cost_change_keeps_existing_hashes_valid(restore_cost: None) -> None:
    passwords.configure_hashing(make(environment="test", argon2_memory_kib=256, argon2_time_cost=1))
    cheap = hash_("mellow-otter-tuba-91")
    assert cheap.startswith("$argon2id$v=19$m=256,t=1,p=4$")
    passwords.configure_hashing(make(argon2_memory_kib=19 * 1024, argon2_time_cost=2))
    assert hash_("x").startswith("$argon2id$v=19$m=19456,t=2,p=4$")
    assert verify(cheap, "mellow-otter-tuba-91")
    assert not verify(None, "mellow-otter-tuba-91")  # no such user


@pytest.mark.parametrize("environment", ["development", "production"])
@pytest.mark.parametrize(("memory_kib", "time_cost"), [(4096, 10), (19 * 1024, 1), (8192, 4)])
def test_below_owasp_minimum_is_refused_outside_tests(
    environment: str, memory_kib: int, time_cost: int
) -> None:
    extra = {"secret_key": "x" * 48, "database_url": "postgresql://o@db/t"}
    with pytest.raises(ValidationError, match="TYNEBASE_ARGON2_MEMORY_KIB"):
        make(
            environment=environment,
            argon2_memory_kib=memory_kib,
            argon2_time_cost=time_cost,
            **(extra if environment == "production" else {}),
        )


def test_owasp_options_and_cheap_test_costs_are_accepted() -> None:
    for memory_kib, time_cost in [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)]:
        make(argon2_memory_kib=memory_kib, argon2_time_cost=time_cost)
    make(environment="test", argon2_memory_kib=8, argon2_time_cost=1, argon2_parallelism=1)


def test_memory_must_cover_every_lane() -> None:
    with pytest.raises(ValidationError, match="8 per lane"):
        make(environment="test", argon2_memory_kib=16, argon2_parallelism=4)
