"""Versions (SPEC DOC-3): list, view, diff any two, restore as a new version; history is never
rewritten, and readers who cannot edit a document see only the versions that were published."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.api.test_documents import ROLES, as_role, assert_error, in_tenant, lineage_events
from tests.conftest import Account, Accounts
from tests.matrix.documents import act, edit, make_document


def history(account: Account, document_id: str) -> list[tuple[int, str]]:
    response = account.get(f"/api/documents/{document_id}/versions")
    assert response.status_code == 200, response.text
    return [(v["number"], v["reason"]) for v in response.json()["items"]]


def three_versions(author: Account, publisher: Account) -> dict[str, Any]:
    """v1 created, v2 published, v3 published from a pending draft; a new pending draft."""
    document = make_document(author, title="Plan", body="one\ntwo\nthree\n")
    edit(author, document["id"], body="one\n2\nthree\n")
    act(publisher, document["id"], "publish")
    edit(author, document["id"], title="Plan B", body="one\n2\nthree\nfour\n")
    act(publisher, document["id"], "publish")
    return edit(author, document["id"], body="pending work\n")


def test_list_view_and_diff(admin: Account) -> None:
    document = three_versions(admin, admin)
    assert history(admin, document["id"]) == [(3, "publish"), (2, "publish"), (1, "create")]
    version = admin.get(f"/api/documents/{document['id']}/versions/1")
    assert version.status_code == 200, version.text
    assert (version.json()["title"], version.json()["body"]) == ("Plan", "one\ntwo\nthree\n")
    assert version.json()["created_by"] == admin.user_id

    diff = admin.get(f"/api/documents/{document['id']}/diff", params={"from": 1, "to": 3})
    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert (body["from_version"], body["to_version"]) == (1, 3)
    assert body["title_diff"].splitlines() == [
        "--- v1",
        "+++ v3",
        "@@ -1 +1 @@",
        "-Plan",
        "+Plan B",
    ]
    assert body["body_diff"].splitlines() == [
        "--- v1",
        "+++ v3",
        "@@ -1,3 +1,4 @@",
        " one",
        "-two",
        "+2",
        " three",
        "+four",
    ]
    assert (body["additions"], body["deletions"]) == (3, 2)
    # `to` defaults to the latest version; equal versions differ in nothing.
    latest = admin.get(f"/api/documents/{document['id']}/diff", params={"from": 3}).json()
    assert (latest["to_version"], latest["title_diff"], latest["body_diff"]) == (3, "", "")
    assert (latest["additions"], latest["deletions"]) == (0, 0)
    backwards = admin.get(f"/api/documents/{document['id']}/diff", params={"from": 3, "to": 2})
    assert (backwards.json()["additions"], backwards.json()["deletions"]) == (1, 2)


def test_version_pages(admin: Account) -> None:
    document = make_document(admin)
    for i in range(4):
        edit(admin, document["id"], body=f"v{i}\n")
        act(admin, document["id"], "publish")
        if i < 3:
            edit(admin, document["id"], body=f"pending {i}\n")
    numbers: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = admin.get(f"/api/documents/{document['id']}/versions", params=params).json()
        numbers += [v["number"] for v in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert numbers == [5, 4, 3, 2, 1]
    bad = admin.get(f"/api/documents/{document['id']}/versions", params={"cursor": "bm9wZQ"})
    assert_error(bad, 400, "INVALID_CURSOR")


def test_restore_makes_a_new_version(
    accounts: Accounts, admin: Account, owner_sql: psycopg.Connection[Any]
) -> None:
    viewer = accounts.member(admin, "viewer")
    document = three_versions(admin, admin)
    before = in_tenant(
        owner_sql,
        admin.tenant_id,
        "SELECT number, title, body, reason FROM document_versions WHERE document_id = %s "
        "ORDER BY number",
        (document["id"],),
    )
    restored = admin.post(f"/api/documents/{document['id']}/versions/2/restore")
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert (body["title"], body["body"], body["current_version"]) == ("Plan", "one\n2\nthree\n", 4)
    # Restoring a published document changes what readers see; the pending draft is kept.
    assert body["pending_draft"]["body"] == "pending work\n"
    assert viewer.get(f"/api/documents/{document['id']}").json()["body"] == "one\n2\nthree\n"
    assert history(admin, document["id"])[0] == (4, "restore")
    after = in_tenant(
        owner_sql,
        admin.tenant_id,
        "SELECT number, title, body, reason FROM document_versions WHERE document_id = %s "
        "ORDER BY number",
        (document["id"],),
    )
    assert after[:3] == before  # history is never rewritten
    assert after[3] == (4, "Plan", "one\n2\nthree\n", "restore")
    entry = admin.get(f"/api/documents/{document['id']}/lineage").json()["items"][-1]
    assert (entry["event"], entry["version"], entry["details"]) == (
        "restored",
        4,
        {"from_version": 2},
    )


def test_readers_see_only_published_versions(accounts: Accounts, admin: Account) -> None:
    contributor = accounts.member(admin, "contributor")
    viewer = accounts.member(admin, "viewer")
    draft = make_document(contributor, body="secret draft\n")
    # A draft they cannot read: its versions do not exist for them.
    for path in ("versions", "versions/1", "diff?from=1"):
        assert_error(viewer.get(f"/api/documents/{draft['id']}/{path}"), 404, "DOCUMENT_NOT_FOUND")

    # Restoring v1 before the first publish makes a draft version readers never saw.
    edit(contributor, draft["id"], body="second try\n")
    assert contributor.post(f"/api/documents/{draft['id']}/versions/1/restore").status_code == 200
    act(admin, draft["id"], "publish")
    edit(contributor, draft["id"], body="pending\n")
    assert history(contributor, draft["id"]) == [(3, "publish"), (2, "restore"), (1, "create")]
    assert history(admin, draft["id"]) == [(3, "publish"), (2, "restore"), (1, "create")]
    assert history(viewer, draft["id"]) == [(3, "publish")]
    for number in (1, 2):
        response = viewer.get(f"/api/documents/{draft['id']}/versions/{number}")
        assert_error(response, 404, "VERSION_NOT_FOUND")
        response = viewer.get(f"/api/documents/{draft['id']}/diff", params={"from": number})
        assert_error(response, 404, "VERSION_NOT_FOUND")
    assert viewer.get(f"/api/documents/{draft['id']}/versions/3").json()["body"] == "secret draft\n"
    # Restoring a published version again is what readers saw too.
    act(admin, draft["id"], "discard-draft")
    assert admin.post(f"/api/documents/{draft['id']}/versions/1/restore").status_code == 200
    assert history(viewer, draft["id"]) == [(4, "restore"), (3, "publish")]
    diff = viewer.get(f"/api/documents/{draft['id']}/diff", params={"from": 3, "to": 4})
    assert diff.status_code == 200, diff.text


def test_unknown_and_invalid_versions(admin: Account) -> None:
    document = make_document(admin)
    base = f"/api/documents/{document['id']}"
    for response in (
        admin.get(f"{base}/versions/2"),
        admin.get(f"{base}/diff", params={"from": 1, "to": 9}),
        admin.get(f"{base}/diff", params={"from": 9}),
        admin.post(f"{base}/versions/7/restore"),
    ):
        assert_error(response, 404, "VERSION_NOT_FOUND")
    for response in (
        admin.get(f"{base}/versions/0"),
        admin.get(f"{base}/versions/{2**31}"),
        admin.get(f"{base}/versions/x"),
        admin.get(f"{base}/diff"),
        admin.get(f"{base}/diff", params={"from": 1, "to": 0}),
        admin.post(f"{base}/versions/-1/restore"),
    ):
        assert_error(response, 400, "VALIDATION_ERROR")
    assert lineage_events(admin, document["id"]) == ["created"]


@pytest.mark.parametrize("role", ROLES)
def test_roles_version_and_restore(role: str, accounts: Accounts, admin: Account) -> None:
    me = as_role(accounts, admin, role)
    privileged = role in ("admin", "editor")
    published = three_versions(admin, admin)
    base = f"/api/documents/{published['id']}"

    # Everyone reads the published history; editors the whole of it.
    expected = [3, 2, 1] if privileged else [3, 2]
    assert [n for n, _ in history(me, published["id"])] == expected
    assert me.get(f"{base}/versions/2").status_code == 200
    assert me.get(f"{base}/diff", params={"from": 2, "to": 3}).status_code == 200

    # Restoring a published document is an editor's decision.
    restore = me.post(f"{base}/versions/2/restore")
    if privileged:
        assert restore.status_code == 200, restore.text
    else:
        refusal = "INSUFFICIENT_ROLE" if role == "viewer" else "NOT_DOCUMENT_AUTHOR"
        assert_error(restore, 403, refusal)

    # A contributor restores their own draft; their own published document needs an editor.
    if role == "contributor":
        own = make_document(me, body="first\n")
        edit(me, own["id"], body="second\n")
        restored = me.post(f"/api/documents/{own['id']}/versions/1/restore")
        assert restored.status_code == 200, restored.text
        assert (restored.json()["body"], restored.json()["current_version"]) == ("first\n", 2)
        act(admin, own["id"], "publish")
        assert_error(
            me.post(f"/api/documents/{own['id']}/versions/1/restore"), 403, "INSUFFICIENT_ROLE"
        )
