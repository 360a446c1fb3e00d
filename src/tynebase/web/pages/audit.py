"""The workspace's audit log for its admins: filters (actor, action, target type, outcome, a
range of days) and the API's streamed CSV / JSON export (/api/audit/export through the
browser bridge), so the page and the API read the same entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response

from tynebase.audit import actions as audit_actions
from tynebase.audit import service as audit_service
from tynebase.audit.repo import Filters
from tynebase.errors import ValidationFailed
from tynebase.users import repo as users_repo
from tynebase.web.context import PageCtx

router = APIRouter(prefix="/w/{subdomain}", include_in_schema=False)
PAGE_SIZE = 50
# The vocabulary, for the action field's suggestions (exact names and their 'area.' prefixes).
KNOWN_ACTIONS = sorted(
    {v for k, v in vars(audit_actions).items() if k.isupper() and isinstance(v, str)}
    | {v.split(".")[0] + "." for k, v in vars(audit_actions).items() if k.isupper()}
)


def parse_uuid(raw: str | None, field: str) -> UUID | None:
    """An optional id from a form field ('' = not given)."""
    if not raw:
        return None
    try:
        return UUID(raw)
    except ValueError:
        raise ValidationFailed("Not a valid choice", details={"field": field}) from None


def parse_day(raw: str | None, field: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            "Expected a date such as 2026-11-29", details={"field": field}
        ) from None


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


@dataclass(frozen=True)
class AuditQuery:
    """The page's filters as typed (days are whole UTC days, `until` included)."""

    action: str | None
    actor: UUID | None
    target_type: str | None
    outcome: str | None
    since: date | None
    until: date | None

    def filters(self) -> Filters:
        return Filters(
            action=self.action,
            actor_user_id=self.actor,
            target_type=self.target_type,
            outcome=self.outcome,
            since=day_start(self.since) if self.since else None,
            until=day_start(self.until + timedelta(days=1)) if self.until else None,
        )

    def api_params(self) -> dict[str, str]:
        """The same filters in /api/audit's terms (its `until` is exclusive)."""
        f = self.filters()
        params = {
            "action": f.action,
            "actor_id": str(f.actor_user_id) if f.actor_user_id else None,
            "target_type": f.target_type,
            "outcome": f.outcome,
            "since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None,
        }
        return {k: v for k, v in params.items() if v}

    def page_params(self) -> dict[str, str]:
        params = {
            "action": self.action,
            "actor": str(self.actor) if self.actor else None,
            "target_type": self.target_type,
            "outcome": self.outcome,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {k: v for k, v in params.items() if v}


@router.get("/audit")
async def audit(
    page: PageCtx,
    action: Annotated[str | None, Query(max_length=100)] = None,
    actor: Annotated[str | None, Query(max_length=36)] = None,
    target_type: Annotated[str | None, Query(max_length=50)] = None,
    outcome: Annotated[Literal["", "success", "failure"] | None, Query()] = None,
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    conn, me, _ = page.parts()
    me.check_role("admin")
    query = AuditQuery(
        action=(action or "").strip() or None,
        actor=parse_uuid(actor, "actor"),
        target_type=(target_type or "").strip() or None,
        outcome=outcome or None,
        since=parse_day(since, "since"),
        until=parse_day(until, "until"),
    )
    found = await audit_service.list_page(
        conn, filters=query.filters(), cursor_token=cursor, limit=PAGE_SIZE
    )
    more = {**query.page_params(), "cursor": found.next_cursor or ""}
    export = f"{page.base}/api/audit/export?"
    return page.render(
        "ws/audit.html",
        entries=found.rows,
        next_url=f"{page.base}/audit?{urlencode(more)}" if found.next_cursor else None,
        query=query,
        filtered=bool(query.page_params()),
        members=await users_repo.list_members(conn),
        known_actions=KNOWN_ACTIONS,
        csv_url=export + urlencode({"format": "csv", **query.api_params()}),
        json_url=export + urlencode({"format": "json", **query.api_params()}),
    )
