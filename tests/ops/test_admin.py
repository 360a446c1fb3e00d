"""Super admin (ADM): tenants with usage, create, change tier, suspend/resume, users, overview;
403 SUPERADMIN_REQUIRED for everyone else, workspace admins included."""

from __future__ import annotations

from tests.conftest import Account, error_code, unique
from tests.ops.conftest import OpsWorld


def superadmin(ops: OpsWorld) -> Account:
    account = ops.accounts.signup()
    with ops.owner() as conn:
        conn.execute("UPDATE users SET is_superadmin = true WHERE id = %s", (account.user_id,))
    return account


def test_only_superadmins(ops: OpsWorld) -> None:
    admin = ops.accounts.signup()
    for method, path in (
        ("GET", "/api/admin/overview"),
        ("GET", "/api/admin/tenants"),
        ("GET", f"/api/admin/tenants/{admin.tenant_id}"),
        ("GET", "/api/admin/users"),
    ):
        response = admin.request(method, path)
        assert response.status_code == 403, (path, response.text)
        assert error_code(response) == "SUPERADMIN_REQUIRED"
    patch = admin.request(
        "PATCH", f"/api/admin/tenants/{admin.tenant_id}", json={"tier": "enterprise"}
    )
    assert error_code(patch) == "SUPERADMIN_REQUIRED"
    assert admin.get("/api/tenant").json()["tier"] == "free"


def test_tenants_with_usage_and_changes(ops: OpsWorld) -> None:
    root = superadmin(ops)
    customer = ops.accounts.signup(tier="base")
    ops.accounts.member(customer, "editor")
    page = root.get("/api/admin/tenants", params={"limit": 100}).json()
    rows = {t["subdomain"]: t for t in page["items"]}
    while page["next_cursor"]:
        page = root.get(
            "/api/admin/tenants", params={"limit": 100, "cursor": page["next_cursor"]}
        ).json()
        rows.update({t["subdomain"]: t for t in page["items"]})
    row = rows[customer.subdomain]
    assert (row["members"], row["documents"], row["storage_bytes"]) == (2, 0, 0)
    assert row["tier"] == "base"

    paged = root.get("/api/admin/tenants", params={"limit": 1}).json()
    assert len(paged["items"]) == 1
    assert paged["next_cursor"]
    second = root.get("/api/admin/tenants", params={"limit": 1, "cursor": paged["next_cursor"]})
    assert second.json()["items"][0]["subdomain"] > paged["items"][0]["subdomain"]

    changed = root.request(
        "PATCH",
        f"/api/admin/tenants/{customer.tenant_id}",
        json={"tier": "pro", "status": "suspended", "reason": "unpaid"},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["tier"], changed.json()["status"]) == ("pro", "suspended")
    assert error_code(customer.get("/api/auth/me")) == "TENANT_SUSPENDED"
    suspended = root.get("/api/admin/tenants", params={"status": "suspended", "limit": 100})
    assert customer.subdomain in {t["subdomain"] for t in suspended.json()["items"]}
    resumed = root.request(
        "PATCH", f"/api/admin/tenants/{customer.tenant_id}", json={"status": "active"}
    )
    assert resumed.json()["status"] == "active"
    trail = customer.get("/api/audit", params={"action": "tenant."}).json()["items"]
    assert [e["action"] for e in trail] == [
        "tenant.resumed",
        "tenant.suspended",
        "tenant.tier_changed",
    ]
    assert all(e["actor_user_id"] == root.user_id for e in trail)
    # The super admin's own workspace is not where the change was recorded.
    assert root.get("/api/audit", params={"action": "tenant."}).json()["items"] == []

    missing = root.get("/api/admin/tenants/00000000-0000-0000-0000-000000000000")
    assert error_code(missing) == "TENANT_NOT_FOUND"


def test_create_tenant_users_and_overview(ops: OpsWorld) -> None:
    root = superadmin(ops)
    owner = ops.accounts.signup()
    subdomain = unique("adm")
    created = root.post(
        "/api/admin/tenants",
        json={
            "subdomain": subdomain,
            "name": "Made by admin",
            "tier": "pro",
            "admin_email": owner.email,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["members"] == 1
    taken = root.post("/api/admin/tenants", json={"subdomain": subdomain, "name": "Again"})
    assert error_code(taken) == "SUBDOMAIN_TAKEN"
    nobody = root.post(
        "/api/admin/tenants",
        json={"subdomain": unique("adm"), "name": "x", "admin_email": "nobody@example.com"},
    )
    assert error_code(nobody) == "USER_NOT_FOUND"
    in_new = Account(
        client=ops.client,
        email=owner.email,
        password=owner.password,
        user_id=owner.user_id,
        tenant_id=created.json()["id"],
        subdomain=subdomain,
    ).login()
    assert in_new.get("/api/auth/me").json()["role"] == "admin"

    users = root.get("/api/admin/users", params={"email": owner.email}).json()["items"]
    assert [u["email"] for u in users] == [owner.email]
    assert "password_hash" not in users[0]
    overview = root.get("/api/admin/overview").json()
    assert overview["tenants"]["total"] >= 3
    assert overview["users"]["superadmins"] >= 1
    assert overview["tenants_by_tier"]["pro"] >= 1
    assert overview["maintenance"] is None
