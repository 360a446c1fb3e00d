"""The audit log and the credits/usage pages: filters, CSV exports (streamed, with cells that
look like spreadsheet formulas kept as text), admins only."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from markupsafe import escape

from tests.conftest import Account, Accounts
from tests.web.conftest import Browser

HOSTILE_EMAIL = "=1+2@example.com"  # a valid address that a spreadsheet would evaluate
HOSTILE_NAME = '=HYPERLINK("http://evil.example","x")'


def _link(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}" href="([^"]+)"', page)
    assert match, element_id
    return html.unescape(match.group(1))


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


def _table(page: str, table_id: str) -> str:
    return page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]


def test_audit_page_filters_and_exports(
    client: TestClient, admin: Account, accounts: Accounts
) -> None:
    failed = client.post(
        "/api/auth/login",
        headers={"X-Tenant-Subdomain": admin.subdomain},
        json={"email": HOSTILE_EMAIL, "password": "wrong-password-123"},
    )
    assert failed.status_code == 401
    member = accounts.member(admin, "viewer")  # invite.created by the admin, invite.accepted
    browser = Browser(client).login(admin)
    base = f"/w/{admin.subdomain}/audit"

    everything = browser.get(base).text
    assert "auth.login.failed" in everything
    assert "invite.created" in everything
    by_action = _table(browser.get(base, params={"action": "auth.login.failed"}).text, "audit")
    assert HOSTILE_EMAIL in by_action
    assert "invite.created" not in by_action
    prefix = _table(browser.get(base, params={"action": "invite."}).text, "audit")
    assert "invite.created" in prefix
    assert "auth.login" not in prefix
    by_actor = _table(browser.get(base, params={"actor": admin.user_id}).text, "audit")
    assert "invite.created" in by_actor
    assert "auth.login.failed" not in by_actor
    by_type = _table(browser.get(base, params={"target_type": "invite"}).text, "audit")
    assert "invite.created" in by_type
    assert "auth.login" not in by_type
    today = datetime.now(UTC).date()
    around = {"since": str(today - timedelta(days=1)), "until": str(today + timedelta(days=1))}
    assert "invite.created" in _table(browser.get(base, params=around).text, "audit")
    later = browser.get(base, params={"since": str(today + timedelta(days=2))}).text
    assert "No entries match these filters" in later
    earlier = browser.get(base, params={"until": str(today - timedelta(days=2))}).text
    assert "No entries match these filters" in earlier
    for bad in ({"since": "2026-13-01"}, {"actor": "nobody"}, {"outcome": "maybe"}):
        refused = browser.get(base, params=bad)
        assert refused.status_code == 400, bad
        assert "VALIDATION_ERROR" in refused.text

    # Export: the page's link goes through the bridge to /api/audit/export with its filters.
    filtered = browser.get(base, params={"action": "auth.", "outcome": "failure"}).text
    rows = _csv(browser.get(_link(filtered, "export-csv")))
    assert rows
    assert {r["action"] for r in rows} == {"auth.login.failed"}
    hostile = [r for r in rows if HOSTILE_EMAIL in r["actor_label"]]
    assert [r["actor_label"] for r in hostile] == ["'" + HOSTILE_EMAIL]
    typed = browser.get(base, params={"target_type": "invite"}).text
    invites = _csv(browser.get(_link(typed, "export-csv")))
    assert invites
    assert {r["target_type"] for r in invites} == {"invite"}
    as_json = browser.get(_link(filtered, "export-json"))
    assert {e["action"] for e in as_json.json()} == {"auth.login.failed"}

    viewer = Browser(client).login(member)
    assert viewer.get(base).status_code == 403
    assert viewer.get(f"/w/{admin.subdomain}/api/audit/export").status_code == 403


def _month(day: date) -> date:
    return day.replace(day=1)


def _charge(
    conn: psycopg.Connection[Any],
    account: Account,
    *,
    user_id: str,
    operation: str,
    millis: int,
    status: str = "committed",
    when: datetime | None = None,
) -> None:
    when = when or datetime.now(UTC)
    conn.execute(
        "INSERT INTO credit_charges (tenant_id, period_start, operation, provider, model, status,"
        " reserved_millis, charged_millis, user_id, created_at) "
        "VALUES (%s, %s, %s, 'local', 'tiny', %s, %s, %s, %s, %s)",
        (
            account.tenant_id,
            _month(when.date()),
            operation,
            status,
            millis,
            millis if status == "committed" else None,
            user_id,
            when,
        ),
    )


def test_usage_page_filters_totals_and_csv(
    client: TestClient, admin: Account, accounts: Accounts, owner_sql: psycopg.Connection[Any]
) -> None:
    member = accounts.member(admin, "editor")
    owner_sql.execute("UPDATE users SET name = %s WHERE id = %s", (HOSTILE_NAME, member.user_id))
    last_month = _month(datetime.now(UTC).date()) - timedelta(days=3)
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant_id,))
        _charge(owner_sql, admin, user_id=admin.user_id, operation="generate.article", millis=2000)
        _charge(owner_sql, admin, user_id=member.user_id, operation="chat.answer", millis=500)
        _charge(
            owner_sql, admin, user_id=member.user_id, operation="chat.answer", millis=300,
            status="reserved",
        )  # fmt: skip
        _charge(
            owner_sql, admin, user_id=admin.user_id, operation="enhance", millis=700,
            when=datetime.combine(last_month, datetime.min.time(), tzinfo=UTC),
        )  # fmt: skip
    browser = Browser(client).login(admin)
    base = f"/w/{admin.subdomain}/usage"

    page = browser.get(base)
    assert page.status_code == 200, page.text
    balance = page.text.split('id="balance"', 1)[1].split("</dl>", 1)[0]
    assert "<dt>Used</dt><dd>2.5 (" in balance
    assert "<dt>Held by work in progress</dt><dd>0.3</dd>" in balance
    by_feature = _table(page.text, "by-feature")
    assert "generate.article" in by_feature
    assert "chat.answer" in by_feature
    assert "enhance" not in by_feature  # last month
    by_user = _table(page.text, "by-user")
    assert str(escape(HOSTILE_NAME)) in by_user  # escaped in the page, never markup
    only_member = browser.get(base, params={"user": member.user_id}).text
    assert "generate.article" not in _table(only_member, "ledger")
    assert "chat.answer" in _table(only_member, "ledger")
    only_feature = _table(
        browser.get(base, params={"operation": "generate.article"}).text, "ledger"
    )
    assert "generate.article" in only_feature
    assert "chat.answer" not in only_feature
    old = browser.get(base, params={"period": last_month.strftime("%Y-%m")}).text
    assert "enhance" in _table(old, "ledger")
    assert "chat.answer" not in _table(old, "ledger")
    every = _table(browser.get(base, params={"period": "all"}).text, "by-feature")
    assert "enhance" in every
    assert "generate.article" in every
    for bad in ({"period": "2026-13"}, {"period": "soon"}, {"user": "x"}):
        refused = browser.get(base, params=bad)
        assert refused.status_code == 400, bad
        assert "VALIDATION_ERROR" in refused.text

    rows = _csv(browser.get(_link(page.text, "export-csv")))
    assert sorted((r["operation"], r["status"], r["credits"]) for r in rows) == [
        ("chat.answer", "committed", "0.5"),
        ("chat.answer", "reserved", "0.3"),
        ("generate.article", "committed", "2.0"),
    ]
    member_rows = [r for r in rows if r["user_id"] == member.user_id]
    assert {r["user"] for r in member_rows} == {f"'{HOSTILE_NAME} <{member.email}>"}
    filtered = browser.get(f"{base}/export.csv", params={"period": "all", "user": admin.user_id})
    assert sorted(r["operation"] for r in _csv(filtered)) == ["enhance", "generate.article"]

    editor = Browser(client).login(member)
    assert editor.get(base).status_code == 403
    assert editor.get(f"{base}/export.csv").status_code == 403
