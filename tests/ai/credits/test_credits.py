"""Credits (AI-3): monthly pools by tier created at signup, reserve → commit | release, exactly one
charge per job, INSUFFICIENT_CREDITS, 80 %/95 % notices once per month, rollover, the ledger API.

Generation, enhance and transcription spend credits through these rules; their own tests (and the
crash test in tests/ai/generation) show it end to end."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from tests.ai.credits.helpers import Ledger, insert_job, mails_to, set_job_status, tenant_rows
from tests.conftest import Account, Accounts, TestDatabase, error_code, make_settings
from tynebase.credits import service
from tynebase.credits.service import InsufficientCredits
from tynebase.credits.tasks import settle_all
from tynebase.db.engine import Database
from tynebase.settings import Settings


@pytest.fixture
def ledger(database: TestDatabase, settings: Settings) -> Iterator[Ledger]:
    running = Ledger(database, settings)
    yield running
    running.close()


def credits(account: Account, **params: Any) -> dict[str, Any]:
    response = account.get("/api/credits", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_signup_opens_the_month_pool_of_the_tier(
    accounts: Accounts, owner_sql: psycopg.Connection[Any]
) -> None:
    free = accounts.signup(tier="free")
    # Written by the signup itself (before anyone asked for a balance).
    pools = tenant_rows(owner_sql, free, "SELECT allowance_millis, tier FROM credit_pools")
    assert pools == [(10_000, "free")]
    body = credits(free)
    month = datetime.now(UTC).date().replace(day=1)
    assert body["period_start"] == month.isoformat()
    assert body["period_end"] == (month + timedelta(days=32)).replace(day=1).isoformat()
    assert (body["allowance"], body["used"], body["reserved"], body["available"]) == (
        10,
        0,
        0,
        10,
    )
    assert body["notices"] == []
    assert body["history"] == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(("tier", "allowance"), [("base", 100), ("pro", 500), ("enterprise", 1000)])
def test_pool_follows_the_tier(accounts: Accounts, tier: str, allowance: int) -> None:
    account = accounts.signup(tier="free")
    accounts.set_tier(account, tier)  # an upgrade raises this month's pool at once
    assert credits(account)["allowance"] == allowance


def test_reserve_commit_release_and_exactly_one_charge_per_job(
    accounts: Accounts, ledger: Ledger, owner_sql: psycopg.Connection[Any]
) -> None:
    admin = accounts.signup(tier="free")
    ok_job, failed_job = (
        insert_job(owner_sql, admin, "queued"),
        insert_job(owner_sql, admin, "queued"),
    )
    ledger.reserve(admin, tier="free", job_id=ok_job)
    ledger.reserve(admin, tier="free", job_id=failed_job, operation="enhance")
    body = credits(admin)
    assert (body["used"], body["reserved"], body["available"]) == (0, 1.5, 8.5)

    # The first job succeeds: charged once, however often the commit is repeated (retries).
    set_job_status(owner_sql, admin, ok_job, "running")
    first = ledger.commit(admin, job_id=ok_job)
    assert first is not None
    assert first.charged_millis == 1000
    assert ledger.commit(admin, job_id=ok_job) is None
    # The second fails for good: its reservation is given back.
    set_job_status(owner_sql, admin, failed_job, "failed")
    body = credits(admin)
    assert (body["used"], body["reserved"], body["available"]) == (1, 0, 9)
    by_job = {item["job_id"]: item for item in body["history"]["items"]}
    assert by_job[ok_job]["status"] == "committed"
    assert by_job[ok_job]["credits"] == 1
    assert by_job[failed_job]["status"] == "released"
    assert by_job[failed_job]["release_reason"] == "job_failed"
    # A manual retry that then succeeds is charged (once) after all.
    set_job_status(owner_sql, admin, failed_job, "running")
    assert ledger.commit(admin, job_id=failed_job, operation="enhance") is not None
    assert ledger.commit(admin, job_id=failed_job, operation="enhance") is None
    assert credits(admin)["used"] == 1.5
    rows = tenant_rows(owner_sql, admin, "SELECT count(*) FROM credit_charges")
    assert rows == [(2,)]


def test_price_follows_the_model_that_did_the_work(
    accounts: Accounts, ledger: Ledger, owner_sql: psycopg.Connection[Any], database: TestDatabase
) -> None:
    admin = accounts.signup(tier="free")
    job = insert_job(owner_sql, admin, "running")
    ledger.reserve(admin, tier="free", job_id=job)  # estimated on the configured model
    # The chain fell back to the offline provider, which costs nothing.
    charged = ledger.commit(admin, job_id=job, provider="local", model="extractive")
    assert charged is not None
    assert (charged.charged_millis, charged.provider) == (0, "local")
    # Operators set prices per operation and model.
    priced = Ledger(
        database,
        make_settings(
            database.base_dir,
            database.urls.owner,
            credit_costs={"generate.article@big": 3},
            credit_model_factors={"gpt-test": 2},
        ),
    )
    try:
        other = insert_job(owner_sql, admin, "running")
        assert priced.reserve(admin, tier="free", job_id=other, model="big").reserved_millis == 3000
        assert priced.reserve(admin, tier="free", operation="enhance").reserved_millis == 1000
    finally:
        priced.close()


def test_insufficient_credits_when_the_pool_is_spent(
    accounts: Accounts, ledger: Ledger, owner_sql: psycopg.Connection[Any]
) -> None:
    admin = accounts.signup(tier="free")
    for _ in range(10):
        job = insert_job(owner_sql, admin, "running")
        ledger.reserve(admin, tier="free", job_id=job)
    with pytest.raises(InsufficientCredits) as refused:
        ledger.reserve(admin, tier="free", job_id=insert_job(owner_sql, admin, "running"))
    assert refused.value.code == "INSUFFICIENT_CREDITS"
    assert refused.value.status == 403
    assert refused.value.details["required"] == 1
    assert refused.value.details["available"] == 0
    # The offline provider stays usable with an empty pool.
    ledger.reserve(admin, tier="free", provider="local", model="extractive")


def test_concurrent_reservations_never_overspend(
    accounts: Accounts, database: TestDatabase, settings: Settings
) -> None:
    admin = accounts.signup(tier="free")

    async def one(db: Database) -> bool:
        try:
            async with db.unit_of_work(UUID(admin.tenant_id)) as conn:
                await service.do_reserve(
                    conn,
                    settings=settings,
                    tenant_id=UUID(admin.tenant_id),
                    tier="free",
                    operation="generate.summary",
                    provider="openai",
                    model="gpt-test",
                    user_id=UUID(admin.user_id),
                )
        except InsufficientCredits:
            return False
        return True

    async def main() -> list[bool]:
        db = Database(database.urls, settings)
        try:
            return await asyncio.gather(*(one(db) for _ in range(30)))
        finally:
            await db.dispose()

    results = asyncio.run(main())
    assert results.count(True) == 20  # 10 credits at 0.5 each
    assert credits(admin)["reserved"] == 10


def test_jobless_reservations_lapse_and_can_be_released(
    accounts: Accounts, ledger: Ledger, database: TestDatabase, settings: Settings
) -> None:
    admin = accounts.signup(tier="free")
    long_ago = datetime.now(UTC) - timedelta(seconds=settings.credit_reservation_ttl_seconds + 5)
    given_back = ledger.reserve(admin, tier="free", operation="enhance")
    held = ledger.reserve(admin, tier="free", operation="enhance")
    # (Every reservation settles first, so the lapsed one is made last, "long ago".)
    lapsed = ledger.reserve(admin, tier="free", operation="enhance", now=long_ago)
    assert ledger.in_tenant(
        admin.tenant_id,
        lambda conn: service.do_release(conn, charge_id=given_back.id, reason="ai_failed"),
    )

    async def settle() -> int:
        db = Database(database.urls, settings)
        try:
            return await settle_all(db)
        finally:
            await db.dispose()

    assert asyncio.run(settle()) >= 1  # the periodic task settles every tenant
    items = {item["id"]: item for item in credits(admin)["history"]["items"]}
    assert items[str(lapsed.id)]["release_reason"] == "expired"
    assert items[str(given_back.id)]["release_reason"] == "ai_failed"
    assert items[str(held.id)]["status"] == "reserved"
    assert credits(admin)["reserved"] == 0.5


def test_notices_at_80_and_95_percent_once_per_month(
    accounts: Accounts, ledger: Ledger, owner_sql: psycopg.Connection[Any]
) -> None:
    admin = accounts.signup(tier="free")
    accounts.set_tier(admin, "base")  # a seat for a second person; the pool stays at 10
    editor = accounts.member(admin, "editor")  # not an admin: no mail
    accounts.set_tier(admin, "free")
    subject = "of this month's AI credits used"

    def spend(count: int) -> None:
        for _ in range(count):
            job = insert_job(owner_sql, admin, "running")
            ledger.reserve(admin, tier="free", job_id=job)
            ledger.commit(admin, job_id=job)

    spend(7)
    assert mails_to(owner_sql, admin.email, subject) == []
    spend(1)  # 8 of 10
    assert len(mails_to(owner_sql, admin.email, "80% of this month")) == 1
    spend(1)  # 9 of 10: no second 80 % notice
    assert len(mails_to(owner_sql, admin.email, subject)) == 1
    spend(1)  # 10 of 10
    assert len(mails_to(owner_sql, admin.email, "95% of this month")) == 1
    assert mails_to(owner_sql, editor.email, subject) == []
    body = credits(editor)
    assert [n["threshold"] for n in body["notices"]] == [80, 95]
    assert body["percent_used"] == 100
    assert body["available"] == 0


def test_rollover_starts_a_fresh_pool_each_month(
    accounts: Accounts, ledger: Ledger, owner_sql: psycopg.Connection[Any]
) -> None:
    admin = accounts.signup(tier="free")
    last_month = (datetime.now(UTC).replace(day=1) - timedelta(days=3)).replace(hour=12)
    for _ in range(9):
        job = insert_job(owner_sql, admin, "running")
        ledger.reserve(admin, tier="free", job_id=job, now=last_month)
        ledger.commit(admin, job_id=job, now=last_month)
    body = credits(admin)
    assert (body["allowance"], body["used"], body["available"]) == (10, 0, 10)
    assert body["notices"] == []  # last month's notices were last month's
    assert len(body["history"]["items"]) == 9  # the ledger keeps its history
    periods = tenant_rows(owner_sql, admin, "SELECT period_start FROM credit_pools ORDER BY 1")
    assert [p[0] for p in periods] == [last_month.date().replace(day=1), body_period(body)]


def body_period(body: dict[str, Any]) -> Any:
    return datetime.fromisoformat(body["period_start"]).date()


def test_history_pages_and_who_sees_what(
    accounts: Accounts, ledger: Ledger, owner_sql: psycopg.Connection[Any]
) -> None:
    admin = accounts.signup(tier="base")
    contributor = accounts.member(admin, "contributor")
    for _ in range(3):
        ledger.reserve(admin, tier="base", operation="enhance")
    mine = ledger.reserve(contributor, tier="base", operation="generate.outline")
    first = credits(admin, limit=2)
    assert len(first["history"]["items"]) == 2
    assert first["history"]["next_cursor"]
    second = credits(admin, limit=2, cursor=first["history"]["next_cursor"])
    assert len(second["history"]["items"]) == 2
    assert second["history"]["next_cursor"] is None
    ids = [i["id"] for i in first["history"]["items"] + second["history"]["items"]]
    assert len(set(ids)) == 4
    # Everyone sees the workspace's balance; only admins see everyone's entries.
    own = credits(contributor)
    assert [i["id"] for i in own["history"]["items"]] == [str(mine.id)]
    assert own["reserved"] == first["reserved"] == 2
    bad = admin.get("/api/credits", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400
    assert error_code(bad) == "INVALID_CURSOR"


def test_workers_settle_reservations_periodically(
    database: TestDatabase, settings: Settings
) -> None:
    from tynebase.credits.tasks import SETTLE_CRON
    from tynebase.workers.app import build_queue_app

    async def periodic() -> dict[str, tuple[str, str]]:
        db = Database(database.urls, settings)
        try:
            app = build_queue_app(settings, db)
            return {
                task.periodic_id: (task.cron, task.task.queue)
                for task in app.periodic_registry.periodic_tasks.values()
            }
        finally:
            await db.dispose()

    assert asyncio.run(periodic())["credits.settle"] == (SETTLE_CRON, "maintenance")
