"""Share links (SPEC DOC-6): random tokens that name their workspace, view-only, expiring in
1-365 days, revocable; the public read endpoint shows the published title and body and nothing
else, and refuses expired, revoked and unknown links with clear codes."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.test_documents import ROLES, as_role, assert_error, in_tenant, lineage_events
from tests.conftest import Account, Accounts
from tests.matrix.documents import act, edit, make_document, published_document, share
from tynebase.logging import JsonFormatter

TOKEN = re.compile(r"^tb_s[0-9a-f]{32}_[A-Za-z0-9_-]{43}$")


def read(client: TestClient, token: str) -> Any:
    """The public endpoint, as an anonymous browser would call it (no tenant, no credential)."""
    return client.get(f"/api/public/share/{token}")


def test_share_and_read_without_credentials(
    admin: Account, owner_sql: psycopg.Connection[Any]
) -> None:
    document = published_document(
        admin,
        title="Handbook",
        body="# Hello\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1)) **bold**\n",
    )
    made = share(admin, document["id"], days=30)
    assert TOKEN.match(made["token"]), made["token"]
    assert made["token"][4:36] == admin.tenant_id.replace("-", "")
    assert made["url"] == f"http://testserver/api/public/share/{made['token']}"
    assert (made["document_id"], made["created_by"], made["status"]) == (
        document["id"],
        admin.user_id,
        "active",
    )

    response = read(admin.client, made["token"])
    assert response.status_code == 200, response.text
    shown = response.json()
    assert set(shown) == {"title", "body", "html"}
    assert (shown["title"], shown["body"]) == (document["title"], document["body"])
    # The HTML is safe to embed: raw HTML escaped, script links not rendered as links.
    assert "<script>" not in shown["html"]
    assert "&lt;script&gt;" in shown["html"]
    assert "<a" not in shown["html"]
    assert "href" not in shown["html"]
    assert "<h1>Hello</h1>" in shown["html"]
    assert "<strong>bold</strong>" in shown["html"]
    # Nothing that identifies the workspace or its people.
    for secret in (admin.tenant_id, admin.user_id, admin.subdomain, admin.email, document["id"]):
        assert secret not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"

    # Listed without the token (it was shown once), with the view recorded.
    listed = admin.get(f"/api/documents/{document['id']}/shares")
    assert listed.status_code == 200, listed.text
    assert [s["id"] for s in listed.json()] == [made["id"]]
    assert "token" not in listed.json()[0]
    assert made["token"] not in listed.text
    assert listed.json()[0]["last_viewed_at"] is not None
    stored = in_tenant(owner_sql, admin.tenant_id, "SELECT token_hash FROM shares")
    assert made["token"].encode() not in bytes(stored[0][0])
    assert lineage_events(admin, document["id"])[-1] == "shared"


def test_shares_show_the_published_text_never_the_pending_draft(admin: Account) -> None:
    document = published_document(admin, title="v1 title", body="v1 body\n")
    made = share(admin, document["id"])
    edit(admin, document["id"], title="draft title", body="draft body\n")
    shown = read(admin.client, made["token"]).json()
    assert (shown["title"], shown["body"]) == ("v1 title", "v1 body\n")
    act(admin, document["id"], "publish")
    shown = read(admin.client, made["token"]).json()
    assert (shown["title"], shown["body"]) == ("draft title", "draft body\n")


def test_only_published_documents_are_shared(admin: Account) -> None:
    draft = make_document(admin)
    response = admin.post(f"/api/documents/{draft['id']}/shares", json={"expires_in_days": 7})
    assert_error(response, 409, "DOCUMENT_NOT_PUBLISHED")
    assert admin.get(f"/api/documents/{draft['id']}/shares").json() == []


@pytest.mark.parametrize("days", [0, 366, -1, "soon"])
def test_expiry_must_be_1_to_365_days(admin: Account, days: Any) -> None:
    document = published_document(admin)
    response = admin.post(f"/api/documents/{document['id']}/shares", json={"expires_in_days": days})
    assert_error(response, 400, "VALIDATION_ERROR")


def test_expired_revoked_and_unknown_links(
    admin: Account, other_admin: Account, owner_sql: psycopg.Connection[Any]
) -> None:
    document = published_document(admin)
    expiring, revoked = share(admin, document["id"], days=1), share(admin, document["id"], days=365)
    assert read(admin.client, expiring["token"]).status_code == 200
    in_tenant(
        owner_sql,
        admin.tenant_id,
        "UPDATE shares SET expires_at = now() - interval '1 second' WHERE id = %s",
        (expiring["id"],),
    )
    assert_error(read(admin.client, expiring["token"]), 410, "SHARE_EXPIRED")

    assert admin.request("DELETE", f"/api/shares/{revoked['id']}").status_code == 204
    assert_error(read(admin.client, revoked["token"]), 410, "SHARE_REVOKED")
    assert_error(admin.request("DELETE", f"/api/shares/{revoked['id']}"), 404, "SHARE_NOT_FOUND")
    assert_error(admin.request("DELETE", f"/api/shares/{uuid.uuid4()}"), 404, "SHARE_NOT_FOUND")
    # An expired link can still be revoked (so the list says what happened).
    assert admin.request("DELETE", f"/api/shares/{expiring['id']}").status_code == 204
    statuses = {
        s["id"]: s["status"] for s in admin.get(f"/api/documents/{document['id']}/shares").json()
    }
    assert statuses == {expiring["id"]: "revoked", revoked["id"]: "revoked"}
    assert lineage_events(admin, document["id"])[-4:] == [
        "shared",
        "shared",
        "unshared",
        "unshared",
    ]

    live = share(admin, document["id"])["token"]
    secret = live.split("_", 2)[2]
    other_tenant = other_admin.tenant_id.replace("-", "")
    for token in (
        f"tb_s{uuid.uuid4().hex}_{secret}",  # no such workspace
        f"tb_s{other_tenant}_{secret}",  # the secret moved to another workspace
        f"{live[:-1]}{'A' if live[-1] != 'A' else 'B'}",  # one character off
        "tb_s" + "0" * 32,
        "not-a-token",
        live + "x",
    ):
        assert_error(read(admin.client, token), 404, "SHARE_NOT_FOUND")
    # Headers naming a workspace change nothing: the token names its own.
    response = admin.client.get(
        f"/api/public/share/{live}", headers={"X-Tenant-Subdomain": other_admin.subdomain}
    )
    assert response.status_code == 200, response.text


def test_links_die_with_their_document_and_workspace(
    admin: Account, owner_sql: psycopg.Connection[Any]
) -> None:
    kept, deleted = published_document(admin), published_document(admin)
    kept_token, deleted_token = (
        share(admin, kept["id"])["token"],
        share(admin, deleted["id"])["token"],
    )
    assert admin.request("DELETE", f"/api/documents/{deleted['id']}").status_code == 204
    assert_error(read(admin.client, deleted_token), 404, "SHARE_NOT_FOUND")

    owner_sql.execute("UPDATE tenants SET status = 'suspended' WHERE id = %s", (admin.tenant_id,))
    try:
        assert_error(read(admin.client, kept_token), 403, "TENANT_SUSPENDED")
    finally:
        owner_sql.execute("UPDATE tenants SET status = 'active' WHERE id = %s", (admin.tenant_id,))
    assert read(admin.client, kept_token).status_code == 200


def test_the_token_never_reaches_the_logs(admin: Account, caplog: pytest.LogCaptureFixture) -> None:
    token = share(admin, published_document(admin)["id"])["token"]
    with caplog.at_level(logging.INFO, logger="tynebase.request"):
        assert read(admin.client, token).status_code == 200
    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert any("/api/public/share/" in line for line in lines), lines
    assert not any(token.split("_", 2)[2] in line for line in lines), lines


@pytest.mark.parametrize("role", ROLES)
def test_roles_share_list_revoke(role: str, accounts: Accounts, admin: Account) -> None:
    me = as_role(accounts, admin, role)
    privileged = role in ("admin", "editor")
    document = published_document(admin)
    base = f"/api/documents/{document['id']}/shares"
    theirs = share(admin, document["id"])

    create = me.post(base, json={"expires_in_days": 3})
    listing = me.get(base)
    revoke = me.request("DELETE", f"/api/shares/{theirs['id']}")
    if privileged:
        assert create.status_code == 201, create.text
        assert listing.status_code == 200, listing.text
        assert revoke.status_code == 204, revoke.text
    else:
        refusal = "INSUFFICIENT_ROLE" if role == "viewer" else "NOT_DOCUMENT_AUTHOR"
        for response in (create, listing, revoke):
            assert_error(response, 403, refusal)
        assert read(admin.client, theirs["token"]).status_code == 200

    # Authors share their own published documents, whatever their role.
    if role == "contributor":
        own = act(admin, make_document(me)["id"], "publish")
        mine = share(me, own["id"])
        assert [s["id"] for s in me.get(f"/api/documents/{own['id']}/shares").json()] == [
            mine["id"]
        ]
        assert me.request("DELETE", f"/api/shares/{mine['id']}").status_code == 204
    # A private document of someone else is not even there to share.
    private = published_document(admin, visibility="private")
    response = me.post(f"/api/documents/{private['id']}/shares", json={"expires_in_days": 3})
    if role == "admin":
        assert response.status_code == 201, response.text
    else:
        assert_error(response, 404, "DOCUMENT_NOT_FOUND")
        hidden = share(admin, private["id"])
        assert_error(me.request("DELETE", f"/api/shares/{hidden['id']}"), 404, "SHARE_NOT_FOUND")
