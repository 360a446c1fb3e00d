"""Listing, reading and deleting files: who sees which file, and who may delete it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, Accounts, TestDatabase, error_code
from tests.files.helpers import blob_files, file_rows, upload
from tests.matrix.documents import make_document, published_document
from tynebase.settings import Settings


def stored(account: Account, data: bytes = b"some text\n", **params: Any) -> dict[str, Any]:
    response = upload(account, data, "notes.txt", **params)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def visible_ids(account: Account, **params: Any) -> set[str]:
    response = account.get("/api/files", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_list_pages_newest_first(admin: Account) -> None:
    made = [stored(admin, f"file {i}\n".encode())["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = admin.get("/api/files", params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]


def test_a_bad_cursor(admin: Account) -> None:
    response = admin.get("/api/files", params={"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert error_code(response) == "INVALID_CURSOR"


def test_unknown_file(admin: Account) -> None:
    for method, suffix in (("GET", ""), ("GET", "/url"), ("DELETE", "")):
        response = admin.request(method, f"/api/files/00000000-0000-4000-8000-000000000000{suffix}")
        assert response.status_code == 404
        assert error_code(response) == "FILE_NOT_FOUND"


@pytest.fixture(scope="module")
def team(client: TestClient, database: TestDatabase) -> dict[str, Account]:
    """One workspace with a member of each role, shared by this module's tests (each test
    makes its own files and documents)."""
    accounts = Accounts(client, database.urls.owner)
    admin = accounts.signup(tier="base")
    return {
        "admin": admin,
        **{role: accounts.member(admin, role) for role in ("editor", "contributor", "viewer")},
    }


def test_an_unattached_file_is_seen_by_its_uploader_and_editors(team: dict[str, Account]) -> None:
    file = stored(team["contributor"])
    for role, sees in {"admin": True, "editor": True, "contributor": True, "viewer": False}.items():
        response = team[role].get(f"/api/files/{file['id']}")
        assert response.status_code == (200 if sees else 404), (role, response.text)
        assert (file["id"] in visible_ids(team[role])) is sees, role


def test_an_attached_file_is_seen_by_whoever_may_read_the_document(
    team: dict[str, Account],
) -> None:
    draft = make_document(team["editor"])
    published = published_document(team["editor"])
    private = make_document(team["admin"], visibility="private")
    on_draft = stored(team["editor"], document_id=draft["id"])
    on_published = stored(team["editor"], document_id=published["id"])
    on_private = stored(team["admin"], document_id=private["id"])
    assert on_published["document_id"] == published["id"]
    expected = {
        "admin": {on_draft["id"], on_published["id"], on_private["id"]},
        "editor": {on_draft["id"], on_published["id"]},
        "contributor": {on_published["id"]},
        "viewer": {on_published["id"]},
    }
    for role, ids in expected.items():
        assert visible_ids(team[role]) & {on_draft["id"], on_published["id"], on_private["id"]} == (
            ids
        ), role
        assert visible_ids(team[role], document_id=published["id"]) == {on_published["id"]}
        for file in (on_draft, on_published, on_private):
            status = team[role].get(f"/api/files/{file['id']}").status_code
            assert status == (200 if file["id"] in ids else 404), role


def test_attaching_needs_edit_rights_on_the_document(team: dict[str, Account]) -> None:
    others = published_document(team["editor"])  # readable, not editable, by a contributor
    response = upload(team["contributor"], b"text", "a.txt", document_id=others["id"])
    assert response.status_code == 403, response.text
    assert error_code(response) == "NOT_DOCUMENT_AUTHOR"
    own = make_document(team["contributor"])
    assert upload(team["contributor"], b"t", "a.txt", document_id=own["id"]).status_code == 201
    response = upload(
        team["editor"], b"t", "a.txt", document_id="00000000-0000-4000-8000-000000000000"
    )
    assert response.status_code == 404
    assert error_code(response) == "DOCUMENT_NOT_FOUND"


@pytest.mark.parametrize(
    ("uploader", "deleter", "status"),
    [
        ("contributor", "contributor", 204),  # their own file
        ("editor", "contributor", 403),  # can see it (published document), may not delete
        ("editor", "viewer", 403),
        ("contributor", "editor", 204),
        ("contributor", "admin", 204),
        ("editor", "editor", 204),
    ],
)
def test_who_may_delete(
    team: dict[str, Account],
    settings: Settings,
    owner_sql: Any,
    uploader: str,
    deleter: str,
    status: int,
) -> None:
    document = published_document(team["editor"])
    if uploader == "contributor":
        file = stored(team["contributor"])
    else:
        file = stored(team[uploader], document_id=document["id"])
    response = team[deleter].request("DELETE", f"/api/files/{file['id']}")
    assert response.status_code == status, response.text
    tenant = team["admin"].tenant_id
    blobs = blob_files(Path(settings.data_dir) / "blobs", tenant)
    if status == 403:
        assert error_code(response) == "NOT_FILE_OWNER"
        assert any(path.name == file["id"] for path in blobs)
        return
    assert file["id"] not in {row[0] for row in file_rows(owner_sql, tenant)}
    assert not any(path.name == file["id"] for path in blobs)  # removed after the commit
    assert team[deleter].get(f"/api/files/{file['id']}").status_code == 404


def test_a_contributor_cannot_delete_what_they_cannot_see(team: dict[str, Account]) -> None:
    file = stored(team["editor"])  # unattached: only the uploader and editors see it
    response = team["contributor"].request("DELETE", f"/api/files/{file['id']}")
    assert response.status_code == 404
    assert error_code(response) == "FILE_NOT_FOUND"
