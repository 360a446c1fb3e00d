#!/usr/bin/env python3
"""Credits benchmark: prints ONE JSON document on stdout (docs/PERFORMANCE.md, section "Credits,
generation and URL import").

What the credit rules add to AI work, on an embedded PostgreSQL in a temp dir, interleaved in
rounds so every variant sees the same machine load:

- floor:   one transaction that queues an `ai.generate` job (what any job-starting request does)
- reserve: the same plus `do_reserve` (lock the month's pool, settle, sum, insert the ledger row):
           what POST /api/ai/generate does in the database
- commit:  `do_commit` in its own transaction (what the job adds at the end)
- balance: `get_balance` with a ledger of `--history` rows this month (GET /api/credits)

Run: `.venv/bin/python bench/credits.py [--rounds 200] [--history 2000]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import make_settings

from tynebase.credits import service as credits
from tynebase.db.embedded import EmbeddedPostgres
from tynebase.db.engine import Database, DatabaseUrls
from tynebase.db.setup import prepare_schema
from tynebase.jobs import service as jobs
from tynebase.tenants import service as tenants


def _ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


async def _run(db: Database, settings: object, rounds: int, history: int) -> dict[str, object]:
    async with db.unit_of_work() as conn:
        tenant = await tenants.do_create(conn, subdomain="bench", name="Bench", tier="enterprise")
    tenant_id: UUID = tenant.id

    async def enqueue(reserve: bool) -> UUID:
        async with db.unit_of_work(tenant_id) as conn:
            job = await jobs.do_enqueue(
                conn, tenant_id=tenant_id, kind="ai.generate", payload={}, created_by=None
            )
            if reserve:
                await credits.do_reserve(
                    conn,
                    settings=settings,  # type: ignore[arg-type]
                    tenant_id=tenant_id,
                    tier="enterprise",
                    operation="chat",
                    provider="openai",
                    model="bench",
                    user_id=None,
                    job_id=job.id,
                )
        return job.id

    # A month's worth of ledger rows first (the balance reads sum over them).
    for _ in range(history):
        job_id = await enqueue(True)
        async with db.unit_of_work(tenant_id) as conn:
            await credits.do_commit(
                conn,
                settings=settings,  # type: ignore[arg-type]
                tenant_id=tenant_id,
                job_id=job_id,
                operation="chat",
                provider="local",
                model="extractive",
            )
    samples: dict[str, list[float]] = {k: [] for k in ("floor", "reserve", "commit", "balance")}
    for _ in range(rounds):
        start = time.perf_counter()
        await enqueue(False)
        samples["floor"].append(time.perf_counter() - start)
        start = time.perf_counter()
        job_id = await enqueue(True)
        samples["reserve"].append(time.perf_counter() - start)
        start = time.perf_counter()
        async with db.unit_of_work(tenant_id) as conn:
            await credits.do_commit(
                conn,
                settings=settings,  # type: ignore[arg-type]
                tenant_id=tenant_id,
                job_id=job_id,
                operation="chat",
                provider="local",
                model="extractive",
            )
        samples["commit"].append(time.perf_counter() - start)
        start = time.perf_counter()
        async with db.unit_of_work(tenant_id) as conn:
            await credits.get_balance(conn, tenant_id=tenant_id, tier="enterprise")
        samples["balance"].append(time.perf_counter() - start)
    floor, reserve = _ms(samples["floor"]), _ms(samples["reserve"])
    return {
        "rounds": rounds,
        "ledger_rows": history + 2 * rounds,
        "floor_enqueue_ms": floor,
        "enqueue_and_reserve_ms": reserve,
        "ratio_reserve_to_floor": round(reserve / floor, 2),
        "reserve_overhead_ms": round(reserve - floor, 3),
        "commit_ms": _ms(samples["commit"]),
        "balance_ms": _ms(samples["balance"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--history", type=int, default=2000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tbb", dir="/tmp"))
    server = EmbeddedPostgres(base)
    server.start()
    try:
        owner = server.bootstrap("bench")
        settings = make_settings(base, owner)
        urls = DatabaseUrls(owner=owner, app=settings.app_url_from(owner))
        prepare_schema(settings, urls)

        async def go() -> dict[str, object]:
            db = Database(urls, settings)
            try:
                return await _run(db, settings, args.rounds, args.history)
            finally:
                await db.dispose()

        print(json.dumps(asyncio.run(go()), indent=2))
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
