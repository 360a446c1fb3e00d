"""Credits and usage for a workspace's admins: this month's balance (the service behind
GET /api/credits), storage, and the ledger of a month filtered by person and feature with
totals per person and per feature, exported as CSV (streamed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit.export import csv_cell, csv_line
from tynebase.credits import reports
from tynebase.credits import service as credits_service
from tynebase.credits.costs import to_credits
from tynebase.credits.repo import Charge
from tynebase.credits.reports import LedgerFilters
from tynebase.errors import ValidationFailed
from tynebase.files import repo as files_repo
from tynebase.files import service as files_service
from tynebase.users import repo as users_repo
from tynebase.web.context import PageCtx
from tynebase.web.pages.audit import parse_uuid

router = APIRouter(prefix="/w/{subdomain}/usage", include_in_schema=False)
PAGE_SIZE = 50
ALL_MONTHS = "all"
CSV_COLUMNS = (
    "created_at", "settled_at", "month", "user_id", "user", "operation", "provider", "model",
    "status", "credits", "job_id", "release_reason",
)  # fmt: skip
Period = Annotated[str | None, Query(max_length=7)]
UserId = Annotated[str | None, Query(max_length=36)]
Operation = Annotated[str | None, Query(max_length=100)]


def _month(raw: str | None, current: date) -> date | None:
    """'2026-11' → its first day; '' → this month; 'all' → None (every month)."""
    if not raw:
        return current
    if raw == ALL_MONTHS:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m").replace(tzinfo=UTC).date()
    except ValueError:
        raise ValidationFailed(
            "Expected a month such as 2026-11", details={"field": "period"}
        ) from None


def _filters(period: str | None, user: str | None, operation: str | None) -> LedgerFilters:
    return LedgerFilters(
        period_start=_month(period, credits_service.period_of(datetime.now(UTC))),
        user_id=parse_uuid(user, "user"),
        operation=(operation or "").strip() or None,
    )


def _params(filters: LedgerFilters) -> dict[str, str]:
    params = {
        "period": filters.period_start.strftime("%Y-%m") if filters.period_start else ALL_MONTHS,
        "user": str(filters.user_id) if filters.user_id else "",
        "operation": filters.operation or "",
    }
    return {k: v for k, v in params.items() if v}


async def _people(conn: AsyncConnection) -> dict[UUID, str]:
    return {m.user_id: f"{m.name} <{m.email}>" for m in await users_repo.list_members(conn)}


def _charge_view(charge: Charge, people: dict[UUID, str]) -> dict[str, Any]:
    amount = charge.charged_millis if charge.status == "committed" else charge.reserved_millis
    return {
        "charge": charge,
        "credits": to_credits(amount or 0),
        "user": people.get(charge.user_id, str(charge.user_id)) if charge.user_id else "",
    }


@router.get("")
async def usage(
    page: PageCtx,
    period: Period = None,
    user: UserId = None,
    operation: Operation = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    conn, me, tenant = page.parts()
    me.check_role("admin")
    filters = _filters(period, user, operation)
    balance = await credits_service.get_balance(conn, tenant_id=tenant.id, tier=tenant.tier)
    people = await _people(conn)
    ledger = await reports.ledger_page(
        conn, principal=me, filters=filters, cursor_token=cursor, limit=PAGE_SIZE
    )
    params = _params(filters)
    by_user = await reports.totals(conn, principal=me, filters=filters, by="user_id")
    return page.render(
        "ws/usage.html",
        balance=balance,
        notices=await credits_service.notices(conn, period_start=balance.period_start),
        to_credits=to_credits,
        storage_used=await files_repo.used_bytes(conn),
        storage_quota=files_service.quota_for(page.state.settings, tenant.tier),
        filters=filters,
        periods=await reports.list_periods(conn, principal=me),
        operations=await reports.list_operations(
            conn, principal=me, period_start=filters.period_start
        ),
        people=people,
        by_user=[(people.get(t.key, str(t.key)) if t.key else "(no person)", t) for t in by_user],
        by_feature=await reports.totals(conn, principal=me, filters=filters, by="operation"),
        entries=[_charge_view(c, people) for c in ledger.items],
        next_url=f"{page.base}/usage?{urlencode({**params, 'cursor': ledger.next_cursor})}"
        if ledger.next_cursor
        else None,
        export_url=f"{page.base}/usage/export.csv?{urlencode(params)}",
    )


def _csv_row(charge: Charge, people: dict[UUID, str]) -> bytes:
    view = _charge_view(charge, people)
    values = [
        charge.created_at.isoformat(),
        charge.settled_at.isoformat() if charge.settled_at else None,
        charge.period_start.strftime("%Y-%m"),
        str(charge.user_id) if charge.user_id else None,
        view["user"],
        charge.operation,
        charge.provider,
        charge.model,
        charge.status,
        view["credits"],
        str(charge.job_id) if charge.job_id else None,
        charge.release_reason,
    ]
    return csv_line([csv_cell(v) for v in values])


@router.get("/export.csv")
async def export(
    page: PageCtx, period: Period = None, user: UserId = None, operation: Operation = None
) -> Response:
    """The filtered ledger as CSV, oldest first, streamed in its own transaction."""
    conn, me, tenant = page.parts()
    me.check_role("admin")
    filters = _filters(period, user, operation)
    people = await _people(conn)
    db = page.state.db

    async def body() -> AsyncIterator[bytes]:
        yield csv_line(list(CSV_COLUMNS))
        async with db.unit_of_work(tenant.id) as stream_conn:
            async for charge in reports.stream_ledger(stream_conn, principal=me, filters=filters):
                yield _csv_row(charge, people)

    month = filters.period_start.strftime("%Y-%m") if filters.period_start else ALL_MONTHS
    name = f"{tenant.subdomain}-credits-{month}.csv"
    return page.finish(
        StreamingResponse(
            body(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    )
