"""Credit routes: GET /api/credits (balance of the month, notices and the usage ledger)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.credits import service
from tynebase.credits.schemas import ChargeOut, CreditsOut, HistoryOut, NoticeOut

router = APIRouter(prefix="/api/credits", tags=["credits"], responses=COMMON_ERRORS)


@router.get("")
async def get_credits(
    ctx: AuthCtx,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CreditsOut:
    """This month's pool: allowance, used, held by running work, available; the 80 %/95 %
    notices sent; and the ledger, newest first (admins see everyone's entries, others their
    own), `limit` entries a page, `cursor` for the next."""
    balance = await service.get_balance(ctx.conn, tenant_id=ctx.tenant.id, tier=ctx.tenant.tier)
    sent = await service.notices(ctx.conn, period_start=balance.period_start)
    page = await service.history(
        ctx.conn, principal=ctx.principal, cursor_token=cursor, limit=limit
    )
    return CreditsOut.of(
        balance,
        [NoticeOut(threshold=threshold, sent_at=at) for threshold, at in sent],
        HistoryOut(items=[ChargeOut.of(c) for c in page.items], next_cursor=page.next_cursor),
    )
