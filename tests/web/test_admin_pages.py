"""The super admin's pages (ADM) through the browser: create a workspace, change its tier,
suspend it (its members get the suspended page) and resume it; everyone else is refused, and
every action needs the session's CSRF token."""

from __future__ import annotations

import re
import uuid
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, Accounts
from tests.web.conftest import Browser


@pytest.fixture
def root(accounts: Accounts, owner_sql: psycopg.Connection[Any]) -> Account:
    account = accounts.signup()
    owner_sql.execute("UPDATE users SET is_superadmin = true WHERE id = %s", (account.user_id,))
    return account


def _row(html: str, subdomain: str) -> str:
    match = re.search(rf'<tr id="tenant-{subdomain}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {subdomain}"
    return match.group(1)


def test_super_admin_creates_retiers_suspends_and_resumes(
    client: TestClient, root: Account, admin: Account, accounts: Accounts
) -> None:
    member = accounts.member(admin, "viewer")
    member_browser = Browser(client).login(member)
    assert member_browser.get(f"/w/{admin.subdomain}/").status_code == 200
    browser = Browser(client).login(root)
    page = f"/w/{root.subdomain}/admin"
    html = browser.get(page).text
    assert 'id="overview"' in html
    assert 'id="users"' in html

    # Create: "a0…" sorts before the suite's other workspaces, so it is on the first page.
    subdomain = f"a0{uuid.uuid4().hex[:10]}"
    made = browser.post_form(
        f"{page}/tenants",
        {"subdomain": subdomain, "name": "Made here", "tier": "pro", "admin_email": admin.email},
        page=page,
    )
    assert made.status_code == 200, made.text
    assert f"Created workspace {subdomain} (pro)" in made.text
    row = _row(made.text, subdomain)
    assert "<td>1</td><td>0</td>" in row  # members, documents
    assert 'value="pro" selected' in row
    refusals = {
        "SUBDOMAIN_TAKEN": (409, {"subdomain": subdomain, "name": "Again"}),
        "USER_NOT_FOUND": (
            404,
            {"subdomain": f"a0{uuid.uuid4().hex[:10]}", "name": "x", "admin_email": "no@x.io"},
        ),
        "VALIDATION_ERROR": (400, {"subdomain": "Bad!", "name": "x"}),
    }
    for code, (status, form) in refusals.items():
        refused = browser.post_form(f"{page}/tenants", form, page=page)
        assert refused.status_code == status, (code, refused.text)
        assert f"[{code}]" in refused.text
        assert 'id="form-error"' in refused.text

    # Change the tier, suspend, resume (the forms of the workspace's row).
    target = f"{page}/tenants/{admin.tenant_id}"
    assert browser.post_form(target, {"tier": "enterprise"}, page=page).status_code == 200
    assert admin.get("/api/tenant").json()["tier"] == "enterprise"
    suspended = browser.post_form(target, {"status": "suspended", "reason": "unpaid"}, page=page)
    assert suspended.status_code == 200
    assert f"Workspace {admin.subdomain}: tier enterprise, suspended." in suspended.text
    refused = member_browser.get(f"/w/{admin.subdomain}/")
    assert refused.status_code == 403
    assert "TENANT_SUSPENDED" in refused.text
    assert member.get("/api/auth/me").json()["error"]["code"] == "TENANT_SUSPENDED"
    listed = browser.get(f"{page}?status=suspended").text
    assert "No workspaces." not in listed
    assert browser.post_form(target, {"status": "active"}, page=page).status_code == 200
    assert member_browser.get(f"/w/{admin.subdomain}/").status_code == 200
    trail = admin.get("/api/audit", params={"action": "tenant."}).json()["items"]
    assert [e["action"] for e in trail] == [
        "tenant.resumed",
        "tenant.suspended",
        "tenant.tier_changed",
    ]
    assert {e["actor_user_id"] for e in trail} == {root.user_id}

    bad = browser.post_form(target, {"tier": "platinum"}, page=page)
    assert bad.status_code == 400
    assert "[VALIDATION_ERROR]" in bad.text
    missing = browser.post_form(f"{page}/tenants/{uuid.uuid4()}", {"tier": "pro"}, page=page)
    assert missing.status_code == 404
    assert "[TENANT_NOT_FOUND]" in missing.text


def test_users_view_filters_by_email(client: TestClient, root: Account, admin: Account) -> None:
    browser = Browser(client).login(root)
    html = browser.get(f"/w/{root.subdomain}/admin", params={"email": admin.email}).text
    users = html.split('id="users"', 1)[1]
    assert admin.email in users
    assert root.email not in users


def test_workspace_admins_are_refused(client: TestClient, admin: Account, root: Account) -> None:
    browser = Browser(client).login(admin)
    page = f"/w/{admin.subdomain}/admin"
    refused = browser.get(page)
    assert refused.status_code == 403
    assert "SUPERADMIN_REQUIRED" in refused.text
    token = browser.csrf(browser.get(f"/w/{admin.subdomain}/").text)
    for path, form in (
        (f"{page}/tenants", {"subdomain": f"a0{uuid.uuid4().hex[:10]}", "name": "No"}),
        (f"{page}/tenants/{admin.tenant_id}", {"tier": "enterprise"}),
        (f"{page}/tenants/{root.tenant_id}", {"status": "suspended"}),
    ):
        response = browser.http.post(path, data={**form, "csrf_token": token})
        assert response.status_code == 403, path
        assert "SUPERADMIN_REQUIRED" in response.text
    assert admin.get("/api/tenant").json()["tier"] == "base"
    assert root.get("/api/auth/me").status_code == 200  # not suspended


def test_actions_need_the_csrf_token(client: TestClient, root: Account, admin: Account) -> None:
    browser = Browser(client).login(root)
    target = f"/w/{root.subdomain}/admin/tenants/{admin.tenant_id}"
    for data in ({"status": "suspended"}, {"status": "suspended", "csrf_token": "0" * 64}):
        response = browser.http.post(target, data=data)
        assert response.status_code == 403
        assert "CSRF_FAILED" in response.text
    created = browser.http.post(
        f"/w/{root.subdomain}/admin/tenants", data={"subdomain": "a0nocsrf", "name": "x"}
    )
    assert created.status_code == 403
    assert admin.get("/api/auth/me").status_code == 200


def test_workspace_usage_includes_this_months_ai_credits(
    client: TestClient, root: Account, accounts: Accounts, owner_sql: psycopg.Connection[Any]
) -> None:
    customer = accounts.signup(tier="base")
    allowance = customer.get("/api/credits").json()["allowance"]
    # "a0…" sorts first: the page's first screen of workspaces shows it.
    made = root.post(
        "/api/admin/tenants",
        json={"subdomain": f"a0{uuid.uuid4().hex[:10]}", "name": "Spender", "tier": "base"},
    ).json()
    assert made["credits_used"] == 0
    for tenant_id in (customer.tenant_id, made["id"]):
        with owner_sql.transaction():
            owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
            owner_sql.execute(
                "INSERT INTO credit_charges (tenant_id, period_start, operation, provider,"
                " model, status, reserved_millis, charged_millis) VALUES (%s,"
                " date_trunc('month', now() AT TIME ZONE 'UTC')::date, 'chat', 'local', 'tiny',"
                " 'committed', 2500, 2500)",
                (tenant_id,),
            )
    usage = root.get(f"/api/admin/tenants/{customer.tenant_id}").json()
    assert (usage["credits_used"], usage["credits_allowance"]) == (2.5, allowance)
    html = Browser(client).login(root).get(f"/w/{root.subdomain}/admin").text
    assert "<td>2.5" in _row(html, made["subdomain"])
