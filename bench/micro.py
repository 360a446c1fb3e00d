"""Micro-benchmarks behind the hot spots in docs/PERFORMANCE.md; prints one JSON document.

CPU time (time.process_time), best of 7, so other load on the machine inflates them little.
Starts its own embedded PostgreSQL in a temp dir for the database figures and stops it.

    .venv/bin/python bench/micro.py
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
import timeit
import uuid
import warnings
from pathlib import Path
from typing import Any

import jwt
import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tynebase.auth.models import auth_sessions
from tynebase.auth.repo import _PRINCIPAL_COLUMNS
from tynebase.auth.signing import ALGORITHM, CLOCK_SKEW_SECONDS, KeyRing
from tynebase.db.embedded import EmbeddedPostgres
from tynebase.db.rls import TENANT_SETTING
from tynebase.tenants.models import tenants
from tynebase.tenants.repo import _COLUMNS
from tynebase.users.models import memberships, users


def best_us(func: Any, number: int) -> float:
    times = timeit.repeat(func, number=number, repeat=7, timer=time.process_time)
    return round(min(times) / number * 1e6, 2)


def jwt_figures() -> dict[str, float]:
    """KeyRing as `auth/service.py access_principal` uses it, against one decode."""
    ring = KeyRing(master_secret=b"m" * 40, access_ttl=900, refresh_interval=30)
    ring._keys, ring._signing_kid = {"k1": b"s" * 32}, "k1"  # no database needed
    ring._loaded_at = time.monotonic()
    token, _ = ring.issue(user_id=uuid.uuid4(), tenant_id=uuid.uuid4(), session_id=uuid.uuid4())

    def as_called() -> None:
        ring.needs_refresh(KeyRing.kid_of(token))
        ring.verify(token, kid=ring.kid_of(token))

    def decode_once() -> None:
        jwt.decode(
            token,
            b"s" * 32,
            algorithms=[ALGORITHM],
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iat", "sub", "tid", "sid"]},
        )

    return {
        "token_bytes": len(token),
        "kid_of_plus_verify_us": best_us(as_called, 2000),
        "one_jwt_decode_us": best_us(decode_once, 2000),
        "one_kid_of_us": best_us(lambda: KeyRing.kid_of(token), 2000),
    }


def statement_figures() -> dict[str, float]:
    """Building the repo statements per call (as the repo functions do) and their cache key."""
    session_id, user_id = uuid.uuid4(), uuid.uuid4()

    def principal() -> sa.Select[Any]:
        return (
            sa.select(*_PRINCIPAL_COLUMNS, auth_sessions.c.revoked_at, auth_sessions.c.expires_at)
            .select_from(
                auth_sessions.join(users, users.c.id == auth_sessions.c.user_id).outerjoin(
                    memberships, memberships.c.user_id == users.c.id
                )
            )
            .where(auth_sessions.c.id == session_id, auth_sessions.c.user_id == user_id)
        )

    def tenant() -> sa.Select[Any]:
        enter = sa.func.set_config(TENANT_SETTING, sa.cast(tenants.c.id, sa.Text), True)
        return sa.select(*_COLUMNS, enter.label("entered")).where(tenants.c.subdomain == "acme")

    prebuilt = principal()
    prebuilt._generate_cache_key()
    return {
        "principal_build_and_cache_key_us": best_us(lambda: principal()._generate_cache_key(), 500),
        "tenant_build_and_cache_key_us": best_us(lambda: tenant()._generate_cache_key(), 500),
        "prebuilt_cache_key_us": best_us(prebuilt._generate_cache_key, 5000),
    }


async def database_figures(url: str) -> dict[str, float]:
    """One SELECT through SQLAlchemy's async engine against raw psycopg; the transaction."""
    pg_class = sa.table("pg_class", sa.column("relname"))
    stmt = sa.select(pg_class.c.relname).where(pg_class.c.relname == sa.bindparam("n"))
    engine = create_async_engine(url, pool_size=1)
    n = 2000
    out: dict[str, float] = {}
    try:
        async with engine.connect() as conn:
            for _ in range(100):
                await conn.execute(stmt, {"n": "pg_class"})
            started = time.process_time()
            for _ in range(n):
                (await conn.execute(stmt, {"n": "pg_class"})).first()
            out["sqlalchemy_execute_us"] = round((time.process_time() - started) / n * 1e6, 1)
            await conn.rollback()
        started = time.process_time()
        for _ in range(n // 5):
            async with engine.begin() as conn:
                (await conn.execute(stmt, {"n": "pg_class"})).first()
        out["sqlalchemy_begin_execute_commit_us"] = round(
            (time.process_time() - started) / (n // 5) * 1e6, 1
        )
    finally:
        await engine.dispose()
    raw = await psycopg.AsyncConnection.connect(url.replace("+psycopg", ""), autocommit=True)
    try:
        query = "SELECT relname FROM pg_class WHERE relname = %s"
        for _ in range(100):
            await (await raw.execute(query, ("pg_class",))).fetchone()
        started = time.process_time()
        for _ in range(n):
            await (await raw.execute(query, ("pg_class",))).fetchone()
        out["raw_psycopg_execute_us"] = round((time.process_time() - started) / n * 1e6, 1)
    finally:
        await raw.close()
    return out


def main() -> None:
    result: dict[str, Any] = {"jwt": jwt_figures(), "statements": statement_figures()}
    base = Path(tempfile.mkdtemp(prefix="tbm", dir="/tmp"))  # short: the socket lives in it
    server = EmbeddedPostgres(base)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.start()
        url = server.url(user="postgres", database="postgres")
        try:
            import uvloop

            result["database"] = uvloop.run(database_figures(url))
        except ImportError:
            result["database"] = asyncio.run(database_figures(url))
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
