"""Tags (DOC-4): counts of readable documents, tags hidden when only on unreadable documents,
create, rename, merge on rename, delete, roles per action."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.taxonomy_helpers import (
    assert_error,
    create,
    make_document,
    make_team,
    tag_document,
    tenant_sql,
)
from tests.conftest import Account, Accounts, TestDatabase, unique


@pytest.fixture(scope="module")
def team(client: TestClient, database: TestDatabase) -> dict[str, Account]:
    """A member of each role in one workspace, shared by the role tests (unique names each)."""
    return make_team(client, database)


def tags(account: Account) -> dict[str, int]:
    response = account.get("/api/tags")
    assert response.status_code == 200, response.text
    return {tag["name"]: tag["document_count"] for tag in response.json()}


def tag(account: Account, name: str) -> str:
    return str(create(account, "/api/tags", name=name)["id"])


def tag_names_of(url: str, account: Account, document_id: str) -> list[str]:
    row = tenant_sql(
        url,
        account.tenant_id,
        "SELECT coalesce(array_agg(t.name ORDER BY t.name), '{}') FROM document_tags dt "
        "JOIN tags t ON t.id = dt.tag_id WHERE dt.document_id = %s",
        (document_id,),
    )
    return list(row[0])


def test_counts_only_documents_the_caller_may_read(
    accounts: Accounts, admin: Account, database: TestDatabase
) -> None:
    url = database.urls.owner
    editor, viewer = accounts.member(admin, "editor"), accounts.member(admin, "viewer")
    howto, draft_only, secret, unused = (
        tag(admin, n) for n in ("howto", "draft-only", "secret", "unused")
    )
    published = make_document(url, admin)
    draft = make_document(url, admin, status="draft")
    private = make_document(url, admin, visibility="private")
    for document_id in (published, draft, private):
        tag_document(url, admin, document_id, howto)
    tag_document(url, admin, draft, draft_only)
    tag_document(url, admin, private, secret)

    assert tags(admin) == {"draft-only": 1, "howto": 3, "secret": 1, "unused": 0}
    # A tag only on documents the caller may not read is not shown (its name can tell what the
    # document is about); an unused tag is.
    assert tags(editor) == {"draft-only": 1, "howto": 2, "unused": 0}
    assert tags(viewer) == {"howto": 1, "unused": 0}
    listed = viewer.get("/api/tags").json()
    assert [t["name"] for t in listed] == ["howto", "unused"]
    assert {t["id"] for t in listed} == {howto, unused}
    # ...and cannot be changed by someone who may not see it.
    response = editor.request("PATCH", f"/api/tags/{secret}", json={"name": "public"})
    assert_error(response, 404, "TAG_NOT_FOUND")
    assert_error(editor.request("DELETE", f"/api/tags/{secret}"), 404, "TAG_NOT_FOUND")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("viewer", False), ("contributor", False), ("editor", True), ("admin", True)],
)
def test_roles_per_action(team: dict[str, Account], role: str, allowed: bool) -> None:
    admin, caller = team["admin"], team[role]
    first, second, new, renamed_to = (unique(f"{n}-") for n in ("first", "second", "new", "re"))
    first_id, second_id = tag(admin, first), tag(admin, second)
    assert {first, second} <= set(tags(caller))  # everyone reads

    created = caller.post("/api/tags", json={"name": new})
    renamed = caller.request("PATCH", f"/api/tags/{first_id}", json={"name": renamed_to})
    deleted = caller.request("DELETE", f"/api/tags/{second_id}")
    if allowed:
        assert created.status_code == 201, created.text
        assert created.json()["name"] == new
        assert renamed.status_code == 200, renamed.text
        assert deleted.status_code == 204, deleted.text
    else:
        for response in (created, renamed, deleted):
            assert_error(response, 403, "INSUFFICIENT_ROLE")
    names = set(tags(admin))
    expected = {new, renamed_to} if allowed else {first, second}
    assert names & {first, second, new, renamed_to} == expected


def test_create_refuses_an_existing_name(admin: Account) -> None:
    tag(admin, "howto")
    assert_error(admin.post("/api/tags", json={"name": " howto "}), 409, "TAG_EXISTS")


def test_rename(admin: Account, database: TestDatabase) -> None:
    url = database.urls.owner
    howto = tag(admin, "howto")
    document_id = make_document(url, admin)
    tag_document(url, admin, document_id, howto)
    response = admin.request("PATCH", f"/api/tags/{howto}", json={"name": "how-to"})
    assert response.status_code == 200, response.text
    assert (response.json()["id"], response.json()["merged_from"]) == (howto, None)
    assert tag_names_of(url, admin, document_id) == ["how-to"]
    # Renaming to the same name changes nothing.
    same = admin.request("PATCH", f"/api/tags/{howto}", json={"name": "how-to"})
    assert (same.status_code, same.json()["id"]) == (200, howto)


def test_rename_onto_an_existing_name_merges(admin: Account, database: TestDatabase) -> None:
    url = database.urls.owner
    howto, guide = tag(admin, "howto"), tag(admin, "guide")
    only_howto, both, only_guide = (make_document(url, admin, title=t) for t in "abc")
    tag_document(url, admin, only_howto, howto)
    tag_document(url, admin, both, howto)
    tag_document(url, admin, both, guide)
    tag_document(url, admin, only_guide, guide)

    response = admin.request("PATCH", f"/api/tags/{howto}", json={"name": "guide"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["name"], body["merged_from"]) == (guide, "guide", howto)
    assert tags(admin) == {"guide": 3}
    for document_id in (only_howto, both, only_guide):
        assert tag_names_of(url, admin, document_id) == ["guide"]
    merged_away = admin.request("PATCH", f"/api/tags/{howto}", json={"name": "x"})
    assert_error(merged_away, 404, "TAG_NOT_FOUND")


def test_delete_detaches_from_documents(admin: Account, database: TestDatabase) -> None:
    url = database.urls.owner
    howto, keep = tag(admin, "howto"), tag(admin, "keep")
    document_id = make_document(url, admin)
    tag_document(url, admin, document_id, howto)
    tag_document(url, admin, document_id, keep)
    assert admin.request("DELETE", f"/api/tags/{howto}").status_code == 204
    assert tag_names_of(url, admin, document_id) == ["keep"]
    assert tenant_sql(
        url, admin.tenant_id, "SELECT title FROM documents WHERE id = %s", (document_id,)
    ) == ("A document",)
    assert_error(admin.request("DELETE", f"/api/tags/{howto}"), 404, "TAG_NOT_FOUND")


def test_unknown_and_other_workspaces_tags(admin: Account, other_admin: Account) -> None:
    theirs = tag(other_admin, "theirs")
    for tag_id in (theirs, str(uuid.uuid4())):
        response = admin.request("PATCH", f"/api/tags/{tag_id}", json={"name": "mine"})
        assert_error(response, 404, "TAG_NOT_FOUND")
        assert_error(admin.request("DELETE", f"/api/tags/{tag_id}"), 404, "TAG_NOT_FOUND")
    assert tags(admin) == {}
    assert tags(other_admin) == {"theirs": 0}
    # Names are per workspace.
    tag(admin, "theirs")


@pytest.mark.parametrize("body", [{"name": ""}, {"name": "x" * 65}, {"name": "a\x00"}, {}])
def test_invalid_names(admin: Account, body: dict[str, Any]) -> None:
    assert_error(admin.post("/api/tags", json=body), 400, "VALIDATION_ERROR")
    existing = tag(admin, f"t{uuid.uuid4().hex[:8]}")
    response = admin.request("PATCH", f"/api/tags/{existing}", json=body)
    assert_error(response, 400, "VALIDATION_ERROR")
