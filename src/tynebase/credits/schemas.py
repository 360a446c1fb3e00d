from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from tynebase.credits.costs import to_credits
from tynebase.credits.repo import Charge
from tynebase.credits.service import Balance


class ChargeOut(BaseModel):
    id: UUID
    operation: str
    provider: str
    model: str
    status: Literal["reserved", "committed", "released"]
    credits: float  # charged when committed, else the amount held or given back
    job_id: UUID | None
    user_id: UUID | None
    release_reason: str | None
    details: dict[str, Any]
    created_at: datetime
    settled_at: datetime | None

    @classmethod
    def of(cls, charge: Charge) -> ChargeOut:
        amount = charge.charged_millis if charge.status == "committed" else charge.reserved_millis
        return cls(
            id=charge.id,
            operation=charge.operation,
            provider=charge.provider,
            model=charge.model,
            status=charge.status,  # the table's CHECK keeps it in the Literal
            credits=to_credits(amount or 0),
            job_id=charge.job_id,
            user_id=charge.user_id,
            release_reason=charge.release_reason,
            details=charge.details,
            created_at=charge.created_at,
            settled_at=charge.settled_at,
        )


class NoticeOut(BaseModel):
    threshold: int  # percent of the month's pool
    sent_at: datetime


class HistoryOut(BaseModel):
    items: list[ChargeOut]
    next_cursor: str | None


class CreditsOut(BaseModel):
    tier: str
    period_start: date
    period_end: date  # the pool renews on this day (unused credits do not carry over)
    allowance: float
    used: float
    reserved: float  # held by work in progress
    available: float
    percent_used: float
    notices: list[NoticeOut]  # thresholds passed this month (admins were mailed once each)
    history: HistoryOut

    @classmethod
    def of(cls, balance: Balance, notices: list[NoticeOut], history: HistoryOut) -> CreditsOut:
        return cls(
            tier=balance.tier,
            period_start=balance.period_start,
            period_end=balance.period_end,
            allowance=to_credits(balance.allowance_millis),
            used=to_credits(balance.used_millis),
            reserved=to_credits(balance.reserved_millis),
            available=to_credits(balance.available_millis),
            percent_used=balance.percent_used,
            notices=notices,
            history=history,
        )
