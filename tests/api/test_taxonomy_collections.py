"""Collections (DOC-4): visibility (team / private), access levels (read / edit / manage) by
workspace role, creator and collection role, members of the workspace only, documents listed and
added only as far as the caller may read them, ordering and pagination."""

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
    tenant_sql,
)
from tests.conftest import Account, Accounts, TestDatabase


def collection(account: Account, name: str = "Onboarding", **extra: Any) -> str:
    return str(create(account, "/api/collections", name=name, **extra)["id"])


def listed(account: Account, *ids: str) -> dict[str, str]:
    """name -> the caller's access, for the collections the caller sees (of `ids`, if given:
    the module's tests share a workspace)."""
    response = account.get("/api/collections")
    assert response.status_code == 200, response.text
    return {c["name"]: c["access"] for c in response.json() if not ids or c["id"] in ids}


def put_member(account: Account, collection_id: str, user_id: str, role: str) -> Any:
    return account.request(
        "PUT", f"/api/collections/{collection_id}/members/{user_id}", json={"role": role}
    )


def put_document(account: Account, collection_id: str, document_id: str, **body: Any) -> Any:
    return account.request(
        "PUT", f"/api/collections/{collection_id}/documents/{document_id}", json=body
    )


def document_ids(account: Account, collection_id: str, **params: Any) -> list[str]:
    response = account.get(f"/api/collections/{collection_id}/documents", params=params)
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()["items"]]


@pytest.fixture(scope="module")
def people(client: TestClient, database: TestDatabase) -> dict[str, Account]:
    """One workspace with a member of each role, shared by this module's tests (each makes its
    own collections and looks only at those)."""
    return make_team(client, database)


def test_create_and_read(admin: Account) -> None:
    response = admin.post(
        "/api/collections",
        json={"name": " Onboarding ", "description": "Start here", "visibility": "private"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert {k: body[k] for k in ("name", "description", "visibility", "created_by")} == {
        "name": "Onboarding",
        "description": "Start here",
        "visibility": "private",
        "created_by": admin.user_id,
    }
    assert (body["access"], body["document_count"], body["members"]) == ("manage", 0, [])
    assert admin.get(f"/api/collections/{body['id']}").json() == body
    assert collection(admin, "Team one") != body["id"]  # team is the default
    assert admin.get("/api/collections").json()[0]["name"] == "Onboarding"


def test_visibility_and_access_levels(people: dict[str, Account]) -> None:
    admin, editor = people["admin"], people["editor"]
    contributor, viewer = people["contributor"], people["viewer"]
    made = [
        collection(contributor, "Team"),
        private := collection(contributor, "Private", visibility="private"),
        editors_private := collection(editor, "Editor's", visibility="private"),
    ]

    def seen(account: Account) -> dict[str, str]:
        return listed(account, *made)

    assert seen(admin) == {"Editor's": "manage", "Private": "manage", "Team": "manage"}
    assert seen(editor) == {"Editor's": "manage", "Team": "manage"}
    assert seen(contributor) == {"Private": "manage", "Team": "manage"}
    assert seen(viewer) == {"Team": "read"}
    # Hidden is the same as missing.
    for account, hidden in ((editor, private), (viewer, private), (contributor, editors_private)):
        assert_error(account.get(f"/api/collections/{hidden}"), 404, "COLLECTION_NOT_FOUND")
        response = account.get(f"/api/collections/{hidden}/documents")
        assert_error(response, 404, "COLLECTION_NOT_FOUND")

    # Members see a private collection; their collection role (not their workspace role) decides.
    assert put_member(contributor, private, editor.user_id, "viewer").status_code == 200
    assert put_member(contributor, private, viewer.user_id, "editor").status_code == 200
    assert seen(editor)["Private"] == "read"
    # A workspace viewer only ever reads, whatever their collection role.
    assert seen(viewer)["Private"] == "read"
    assert put_member(contributor, private, editor.user_id, "editor").status_code == 200
    assert seen(editor)["Private"] == "edit"

    # Team collections: workspace editors manage; other contributors read unless members.
    made.append(other := collection(admin, "Admin's team"))
    assert seen(contributor)["Admin's team"] == "read"
    assert put_member(admin, other, contributor.user_id, "editor").status_code == 200
    assert seen(contributor)["Admin's team"] == "edit"
    assert seen(editor)["Admin's team"] == "manage"


@pytest.mark.parametrize("role", ["viewer", "contributor", "editor", "admin"])
def test_roles_per_action_on_a_team_collection(
    people: dict[str, Account], database: TestDatabase, role: str
) -> None:
    """What each workspace role may do with a team collection someone else made."""
    owner = people["contributor"] if role != "contributor" else people["editor"]
    caller = people[role]
    target = collection(owner, "Target")
    document_id = make_document(database.urls.owner, people["admin"])
    may_manage = role in ("editor", "admin")

    assert caller.get(f"/api/collections/{target}").status_code == 200
    assert document_ids(caller, target) == []
    created = caller.post("/api/collections", json={"name": "Own"})
    added = put_document(caller, target, document_id)
    renamed = caller.request("PATCH", f"/api/collections/{target}", json={"name": "New"})
    member = put_member(caller, target, people["viewer"].user_id, "viewer")
    if role == "viewer":
        for response in (created, added, renamed, member):
            assert_error(response, 403, "INSUFFICIENT_ROLE")
    elif role == "contributor":
        assert created.status_code == 201, created.text
        assert_error(added, 403, "COLLECTION_FORBIDDEN")
        assert added.json()["error"]["details"] == {"needed": "edit", "access": "read"}
        assert_error(renamed, 403, "COLLECTION_FORBIDDEN")
        assert_error(member, 403, "COLLECTION_FORBIDDEN")
    else:
        assert may_manage
        for response in (created, added, renamed, member):
            assert response.status_code in (200, 201), response.text
    deleted = caller.request("DELETE", f"/api/collections/{target}")
    if may_manage:
        assert deleted.status_code == 204, deleted.text
        assert_error(owner.get(f"/api/collections/{target}"), 404, "COLLECTION_NOT_FOUND")
    else:
        code = "INSUFFICIENT_ROLE" if role == "viewer" else "COLLECTION_FORBIDDEN"
        assert_error(deleted, 403, code)
        assert owner.get(f"/api/collections/{target}").status_code == 200


def test_collection_roles_decide_for_members(
    people: dict[str, Account], database: TestDatabase
) -> None:
    owner, contributor = people["editor"], people["contributor"]
    private = collection(owner, "Private", visibility="private")
    document_id = make_document(database.urls.owner, people["admin"])

    assert put_member(owner, private, contributor.user_id, "viewer").status_code == 200
    assert_error(put_document(contributor, private, document_id), 403, "COLLECTION_FORBIDDEN")
    assert put_member(owner, private, contributor.user_id, "editor").status_code == 200
    assert put_document(contributor, private, document_id).status_code == 200
    # Collection editors change documents, not the collection or its members.
    response = contributor.request("PATCH", f"/api/collections/{private}", json={"name": "X"})
    assert_error(response, 403, "COLLECTION_FORBIDDEN")
    assert response.json()["error"]["details"] == {"needed": "manage", "access": "edit"}
    response = put_member(contributor, private, people["viewer"].user_id, "viewer")
    assert_error(response, 403, "COLLECTION_FORBIDDEN")
    response = contributor.request(
        "DELETE", f"/api/collections/{private}/members/{contributor.user_id}"
    )
    assert_error(response, 403, "COLLECTION_FORBIDDEN")
    assert_error(
        contributor.request("DELETE", f"/api/collections/{private}"), 403, "COLLECTION_FORBIDDEN"
    )
    assert listed(people["admin"], private)["Private"] == "manage"  # admins manage everything
    # A workspace viewer made a collection editor still only reads.
    viewer = people["viewer"]
    assert put_member(owner, private, viewer.user_id, "editor").status_code == 200
    assert_error(put_document(viewer, private, document_id), 403, "INSUFFICIENT_ROLE")
    assert document_ids(viewer, private) == [document_id]


def test_members(people: dict[str, Account], other_admin: Account) -> None:
    admin, viewer = people["admin"], people["viewer"]
    target = collection(admin, "Target")
    response = put_member(admin, target, viewer.user_id, "viewer")
    assert response.status_code == 200, response.text
    member = response.json()
    assert {k: member[k] for k in ("user_id", "email", "role")} == {
        "user_id": viewer.user_id,
        "email": viewer.email,
        "role": "viewer",
    }
    # PUT again changes the role.
    assert put_member(admin, target, viewer.user_id, "editor").json()["role"] == "editor"
    detail = admin.get(f"/api/collections/{target}").json()
    assert [(m["user_id"], m["role"]) for m in detail["members"]] == [(viewer.user_id, "editor")]

    # Only members of the workspace can join.
    for stranger in (other_admin.user_id, str(uuid.uuid4())):
        assert_error(put_member(admin, target, stranger, "viewer"), 404, "MEMBER_NOT_FOUND")
    assert_error(put_member(admin, target, viewer.user_id, "owner"), 400, "VALIDATION_ERROR")

    path = f"/api/collections/{target}/members/{viewer.user_id}"
    assert admin.request("DELETE", path).status_code == 204
    assert_error(admin.request("DELETE", path), 404, "COLLECTION_MEMBER_NOT_FOUND")
    assert admin.get(f"/api/collections/{target}").json()["members"] == []


def test_someone_who_leaves_the_workspace_leaves_its_collections(
    accounts: Accounts, people: dict[str, Account]
) -> None:
    admin = people["admin"]
    contributor = accounts.member(admin, "contributor")  # not the shared one: they leave
    target = collection(admin, "Target", visibility="private")
    assert put_member(admin, target, contributor.user_id, "editor").status_code == 200
    assert admin.request("DELETE", f"/api/users/{contributor.user_id}").status_code == 204
    assert admin.get(f"/api/collections/{target}").json()["members"] == []


def test_documents_only_as_far_as_the_caller_may_read(
    people: dict[str, Account], database: TestDatabase
) -> None:
    url = database.urls.owner
    admin, editor, viewer = people["admin"], people["editor"], people["viewer"]
    target = collection(editor, "Reading list")
    published = make_document(url, admin, title="Published")
    draft = make_document(url, admin, title="Draft", status="draft")
    private = make_document(url, admin, title="Private", visibility="private")

    assert put_document(editor, target, published).status_code == 200
    assert put_document(editor, target, draft).status_code == 200
    # A document the caller may not read is unknown to them.
    assert_error(put_document(editor, target, private), 404, "DOCUMENT_NOT_FOUND")
    assert_error(put_document(editor, target, str(uuid.uuid4())), 404, "DOCUMENT_NOT_FOUND")
    assert put_document(admin, target, private).status_code == 200

    assert document_ids(admin, target) == [published, draft, private]
    assert document_ids(editor, target) == [published, draft]
    assert document_ids(viewer, target) == [published]
    counts = {
        account.role: account.get(f"/api/collections/{target}").json()["document_count"]
        for account in (admin, editor, viewer)
    }
    assert counts == {"admin": 3, "editor": 2, "viewer": 1}
    item = viewer.get(f"/api/collections/{target}/documents").json()["items"][0]
    assert {k: item[k] for k in ("id", "title", "status", "visibility", "position")} == {
        "id": published,
        "title": "Published",
        "status": "published",
        "visibility": "team",
        "position": 0,
    }
    # Removing needs to read the document too.
    path = f"/api/collections/{target}/documents/{private}"
    assert_error(editor.request("DELETE", path), 404, "DOCUMENT_NOT_FOUND")


def test_document_order_and_pages(people: dict[str, Account], database: TestDatabase) -> None:
    url, admin = database.urls.owner, people["admin"]
    target = collection(admin, "Ordered")
    docs = [make_document(url, admin, title=f"Doc {i}") for i in range(5)]
    for document_id in docs:
        response = put_document(admin, target, document_id)
        assert response.status_code == 200, response.text
    assert [put_document(admin, target, d).json()["position"] for d in docs] == [0, 1, 2, 3, 4]
    # Moving one; PUT without a position keeps it.
    assert put_document(admin, target, docs[4], position=0).json()["position"] == 0
    assert put_document(admin, target, docs[4]).json()["position"] == 0
    expected = sorted([docs[0], docs[4]]) + docs[1:4]  # ties go by id
    assert document_ids(admin, target) == expected

    first = admin.get(f"/api/collections/{target}/documents", params={"limit": 2}).json()
    assert [d["id"] for d in first["items"]] == expected[:2]
    second = admin.get(
        f"/api/collections/{target}/documents", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [d["id"] for d in second["items"]] == expected[2:4]
    third = admin.get(
        f"/api/collections/{target}/documents",
        params={"limit": 2, "cursor": second["next_cursor"]},
    ).json()
    assert ([d["id"] for d in third["items"]], third["next_cursor"]) == ([expected[4]], None)

    for cursor in ("nonsense!", "bm90IGEgY3Vyc29y", "LTE6eA"):
        response = admin.get(f"/api/collections/{target}/documents", params={"cursor": cursor})
        assert_error(response, 400, "INVALID_CURSOR")
    for limit in (0, 201):
        response = admin.get(f"/api/collections/{target}/documents", params={"limit": limit})
        assert_error(response, 400, "VALIDATION_ERROR")

    path = f"/api/collections/{target}/documents/{docs[1]}"
    assert admin.request("DELETE", path).status_code == 204
    assert_error(admin.request("DELETE", path), 404, "COLLECTION_DOCUMENT_NOT_FOUND")
    assert docs[1] not in document_ids(admin, target)


def test_update_and_delete_keep_documents(
    people: dict[str, Account], database: TestDatabase
) -> None:
    url, admin = database.urls.owner, people["admin"]
    target = collection(admin, "Target")
    document_id = make_document(url, admin)
    assert put_document(admin, target, document_id).status_code == 200
    response = admin.request(
        "PATCH",
        f"/api/collections/{target}",
        json={"name": "Renamed", "description": "Now private", "visibility": "private"},
    )
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in ("name", "description", "visibility")} == {
        "name": "Renamed",
        "description": "Now private",
        "visibility": "private",
    }
    assert admin.request("DELETE", f"/api/collections/{target}").status_code == 204
    assert_error(admin.get(f"/api/collections/{target}"), 404, "COLLECTION_NOT_FOUND")
    assert tenant_sql(
        url, admin.tenant_id, "SELECT count(*) FROM documents WHERE id = %s", (document_id,)
    ) == (1,)


def test_unknown_and_other_workspaces_collections(
    admin: Account, other_admin: Account, database: TestDatabase
) -> None:
    url = database.urls.owner
    theirs = collection(other_admin, "Theirs")
    their_document = make_document(url, other_admin)
    assert put_document(other_admin, theirs, their_document).status_code == 200
    mine = collection(admin, "Mine")
    for collection_id in (theirs, str(uuid.uuid4())):
        base = f"/api/collections/{collection_id}"
        for method, path, body in (
            ("GET", base, None),
            ("PATCH", base, {"name": "x"}),
            ("DELETE", base, None),
            ("GET", f"{base}/documents", None),
            ("PUT", f"{base}/members/{admin.user_id}", {"role": "editor"}),
            ("DELETE", f"{base}/members/{other_admin.user_id}", None),
            ("PUT", f"{base}/documents/{their_document}", {}),
            ("DELETE", f"{base}/documents/{their_document}", None),
        ):
            response = admin.request(method, path, json=body)
            assert_error(response, 404, "COLLECTION_NOT_FOUND")
    # Their document cannot go into my collection.
    assert_error(put_document(admin, mine, their_document), 404, "DOCUMENT_NOT_FOUND")
    assert listed(admin) == {"Mine": "manage"}
    assert document_ids(other_admin, theirs) == [their_document]


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x" * 201},
        {"name": "ok", "visibility": "public"},
        {"name": "ok", "description": "d" * 2001},
        {"name": "a\x00"},
    ],
)
def test_invalid_input(people: dict[str, Account], body: dict[str, Any]) -> None:
    assert_error(people["admin"].post("/api/collections", json=body), 400, "VALIDATION_ERROR")
