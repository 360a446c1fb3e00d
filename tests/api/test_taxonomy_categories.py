"""Categories (DOC-4): the tree with readable-document counts and the virtual Uncategorised node,
roles per action, sibling names, cycles, and deletion that moves documents and subcategories."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.api.taxonomy_helpers import (
    assert_error,
    create,
    document_row,
    lineage_of,
    make_document,
    make_team,
)
from tests.conftest import Account, Accounts, TestDatabase, unique
from tynebase.auth.principal import Principal
from tynebase.db.engine import Database
from tynebase.errors import Conflict
from tynebase.settings import Settings
from tynebase.taxonomy import service


@pytest.fixture(scope="module")
def team(client: TestClient, database: TestDatabase) -> dict[str, Account]:
    """A member of each role in one workspace, shared by the role tests (unique names each)."""
    return make_team(client, database)


def tree(account: Account) -> dict[str, Any]:
    response = account.get("/api/categories")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def shape(nodes: list[dict[str, Any]]) -> list[Any]:
    """(name, direct count, total count, children) of each node, recursively."""
    return [(n["name"], n["document_count"], n["total_count"], shape(n["children"])) for n in nodes]


def category(account: Account, name: str, parent_id: str | None = None, **extra: Any) -> str:
    return str(create(account, "/api/categories", name=name, parent_id=parent_id, **extra)["id"])


def patch(account: Account, category_id: str, **body: Any) -> Any:
    return account.request("PATCH", f"/api/categories/{category_id}", json=body)


def test_tree_counts_only_readable_documents(
    accounts: Accounts, admin: Account, database: TestDatabase
) -> None:
    url = database.urls.owner
    editor, viewer = accounts.member(admin, "editor"), accounts.member(admin, "viewer")
    guides = category(admin, "Guides", position=1)
    setup = category(admin, "Setup", guides)
    policies = category(admin, "Policies", position=0)
    make_document(url, admin, category_id=setup)
    make_document(url, admin, category_id=setup, status="draft")  # editors see drafts
    make_document(url, admin, category_id=guides)
    make_document(url, admin, category_id=guides, visibility="private")  # only its author
    make_document(url, admin)  # uncategorised
    make_document(url, admin, status="draft")

    as_admin = tree(admin)
    assert shape(as_admin["categories"]) == [
        ("Policies", 0, 0, []),
        ("Guides", 2, 4, [("Setup", 2, 2, [])]),
    ]
    assert as_admin["uncategorised"] == {"id": None, "name": "Uncategorised", "document_count": 2}
    node = as_admin["categories"][1]
    assert (node["id"], node["parent_id"], node["position"]) == (guides, None, 1)
    assert node["children"][0]["parent_id"] == guides
    assert as_admin["categories"][0]["id"] == policies

    assert shape(tree(editor)["categories"]) == [
        ("Policies", 0, 0, []),
        ("Guides", 1, 3, [("Setup", 2, 2, [])]),
    ]
    as_viewer = tree(viewer)
    assert shape(as_viewer["categories"]) == [
        ("Policies", 0, 0, []),
        ("Guides", 1, 2, [("Setup", 1, 1, [])]),
    ]
    assert as_viewer["uncategorised"]["document_count"] == 1


def test_a_new_workspace_has_only_uncategorised(admin: Account) -> None:
    assert tree(admin) == {
        "categories": [],
        "uncategorised": {"id": None, "name": "Uncategorised", "document_count": 0},
    }


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("viewer", False), ("contributor", False), ("editor", True), ("admin", True)],
)
def test_roles_per_action(team: dict[str, Account], role: str, allowed: bool) -> None:
    admin, caller = team["admin"], team[role]
    existing, doomed = category(admin, unique("existing-")), category(admin, unique("doomed-"))
    # Everyone reads the tree.
    assert {existing, doomed} <= {n["id"] for n in tree(caller)["categories"]}

    created = caller.post("/api/categories", json={"name": unique("mine-")})
    renamed = patch(caller, existing, name=(new_name := unique("renamed-")))
    deleted = caller.request("DELETE", f"/api/categories/{doomed}")
    if allowed:
        assert created.status_code == 201, created.text
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["name"] == new_name
        assert deleted.status_code == 204, deleted.text
    else:
        for response in (created, renamed, deleted):
            assert_error(response, 403, "INSUFFICIENT_ROLE")
    names = {n["id"]: n["name"] for n in tree(admin)["categories"]}
    assert (names.get(existing) == new_name) is allowed
    assert (doomed not in names) is allowed


def test_sibling_names_are_unique_ignoring_case(admin: Account) -> None:
    guides = category(admin, "Guides")
    assert_error(admin.post("/api/categories", json={"name": "guides"}), 409, "CATEGORY_EXISTS")
    # The same name elsewhere in the tree is fine.
    nested = category(admin, "Guides", guides)
    other = category(admin, "Other")
    # Renaming or moving onto a sibling's name is refused too.
    assert_error(patch(admin, other, name="GUIDES"), 409, "CATEGORY_EXISTS")
    assert_error(patch(admin, nested, parent_id=None), 409, "CATEGORY_EXISTS")
    # A category may change the case of its own name.
    renamed = patch(admin, guides, name="GUIDES")
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "GUIDES"


def test_update_moves_reorders_and_keeps_what_is_not_sent(admin: Account) -> None:
    a, b = category(admin, "A"), category(admin, "B")
    child = category(admin, "Child", a)
    moved = patch(admin, child, parent_id=b)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["parent_id"], moved.json()["name"]) == (b, "Child")
    # Sending only the name (or position) leaves the parent alone.
    renamed = patch(admin, child, name="Kid", position=7)
    assert (renamed.json()["parent_id"], renamed.json()["position"]) == (b, 7)
    to_top = patch(admin, child, parent_id=None)
    assert to_top.status_code == 200, to_top.text
    assert to_top.json()["parent_id"] is None
    assert sorted(n["name"] for n in tree(admin)["categories"]) == ["A", "B", "Kid"]


def test_moves_that_would_make_a_cycle_are_refused(admin: Account) -> None:
    top = category(admin, "Top")
    middle = category(admin, "Middle", top)
    bottom = category(admin, "Bottom", middle)
    for parent in (top, middle, bottom):
        response = patch(admin, top, parent_id=parent)
        assert_error(response, 409, "CATEGORY_CYCLE")
    assert_error(patch(admin, middle, parent_id=bottom), 409, "CATEGORY_CYCLE")
    assert shape(tree(admin)["categories"]) == [
        ("Top", 0, 0, [("Middle", 0, 0, [("Bottom", 0, 0, [])])])
    ]
    # Moving down a different branch is fine.
    side = category(admin, "Side")
    assert patch(admin, bottom, parent_id=side).status_code == 200


def test_unknown_categories_and_parents(admin: Account) -> None:
    missing = str(uuid.uuid4())
    response = admin.post("/api/categories", json={"name": "X", "parent_id": missing})
    assert_error(response, 404, "CATEGORY_NOT_FOUND")
    assert response.json()["error"]["details"] == {"field": "parent_id"}
    assert_error(patch(admin, missing, name="Y"), 404, "CATEGORY_NOT_FOUND")
    assert_error(admin.request("DELETE", f"/api/categories/{missing}"), 404, "CATEGORY_NOT_FOUND")
    existing = category(admin, "Existing")
    assert_error(patch(admin, existing, parent_id=missing), 404, "CATEGORY_NOT_FOUND")


def test_another_workspaces_category_is_unknown(admin: Account, other_admin: Account) -> None:
    theirs = category(other_admin, "Theirs")
    mine = category(admin, "Mine")
    response = admin.post("/api/categories", json={"name": "X", "parent_id": theirs})
    assert_error(response, 404, "CATEGORY_NOT_FOUND")
    assert_error(patch(admin, mine, parent_id=theirs), 404, "CATEGORY_NOT_FOUND")
    assert_error(patch(admin, theirs, name="Stolen"), 404, "CATEGORY_NOT_FOUND")
    assert_error(admin.request("DELETE", f"/api/categories/{theirs}"), 404, "CATEGORY_NOT_FOUND")
    assert [n["name"] for n in tree(other_admin)["categories"]] == ["Theirs"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 201},
        {"name": "nul\x00"},
        {"name": "ok", "position": -1},
        {"name": "ok", "position": 2**40},
        {"name": "ok", "parent_id": "not-a-uuid"},
    ],
)
def test_invalid_input(admin: Account, body: dict[str, Any]) -> None:
    assert_error(admin.post("/api/categories", json=body), 400, "VALIDATION_ERROR")


def document(account: Account, **fields: Any) -> dict[str, Any]:
    """A document made through the documents API."""
    return create(account, "/api/documents", **{"title": "A document", **fields})


def test_delete_moves_documents_to_uncategorised_and_children_to_the_parent(
    accounts: Accounts, admin: Account
) -> None:
    editor = accounts.member(admin, "editor")
    guides = category(admin, "Guides")
    setup = category(admin, "Setup", guides)
    deep = category(admin, "Deep", setup)
    faq = category(admin, "FAQ", setup)
    in_setup = [document(admin, title=f"Doc {i}", category_id=setup) for i in range(3)]
    # A private document the deleting editor cannot read moves too: the category goes for all.
    private = document(admin, category_id=setup, visibility="private")
    in_deep = document(admin, category_id=deep)
    assert tree(admin)["categories"][0]["total_count"] == 5

    response = editor.request("DELETE", f"/api/categories/{setup}")
    assert response.status_code == 204, response.text

    for before in [*in_setup, private]:
        after = admin.get(f"/api/documents/{before['id']}").json()
        assert after["category_id"] is None
        assert after["updated_at"] == before["updated_at"], "moving is not an edit"
        lineage = admin.get(f"/api/documents/{before['id']}/lineage").json()["items"]
        assert [entry["event"] for entry in lineage] == ["created", "moved"]
        assert (lineage[1]["actor_id"], lineage[1]["details"]) == (
            editor.user_id,
            {"from": setup, "to": None, "reason": "category_deleted", "category": "Setup"},
        )
    assert admin.get(f"/api/documents/{in_deep['id']}").json()["category_id"] == deep
    lineage = admin.get(f"/api/documents/{in_deep['id']}/lineage").json()["items"]
    assert [entry["event"] for entry in lineage] == ["created"]
    assert shape(tree(admin)["categories"]) == [
        ("Guides", 0, 1, [("Deep", 1, 1, []), ("FAQ", 0, 0, [])])
    ]
    assert tree(admin)["uncategorised"]["document_count"] == 4
    assert {n["id"] for n in tree(admin)["categories"][0]["children"]} == {deep, faq}

    # A top-level category's children become top-level.
    assert admin.request("DELETE", f"/api/categories/{guides}").status_code == 204
    assert shape(tree(admin)["categories"]) == [("Deep", 1, 1, []), ("FAQ", 0, 0, [])]


def test_delete_leaves_a_documents_content_alone(admin: Account, database: TestDatabase) -> None:
    """Straight from the database: only category_id changes, and a lineage entry is added."""
    url = database.urls.owner
    setup = category(admin, "Setup")
    doc = make_document(url, admin, category_id=setup, status="draft")
    before = document_row(url, admin, doc)
    assert admin.request("DELETE", f"/api/categories/{setup}").status_code == 204
    after = document_row(url, admin, doc)
    assert (after[1], after[2]) == (None, before[2])
    assert [event for event, _actor, _details in lineage_of(url, admin, doc)] == ["moved"]


def test_delete_refused_when_a_child_would_clash_with_the_parents_children(
    admin: Account,
) -> None:
    guides = category(admin, "Guides")
    setup = category(admin, "Setup", guides)
    category(admin, "faq", guides)
    category(admin, "FAQ", setup)
    category(admin, "Other", setup)
    response = admin.request("DELETE", f"/api/categories/{setup}")
    assert_error(response, 409, "CATEGORY_EXISTS")
    assert response.json()["error"]["details"] == {"names": ["FAQ"]}
    assert shape(tree(admin)["categories"]) == [
        (
            "Guides",
            0,
            0,
            [("faq", 0, 0, []), ("Setup", 0, 0, [("FAQ", 0, 0, []), ("Other", 0, 0, [])])],
        )
    ]


def test_concurrent_moves_cannot_close_a_cycle(
    admin: Account, settings: Settings, database: TestDatabase
) -> None:
    """A under B and B under A, in two transactions at once: each move alone is fine, together
    they would make a cycle. The second waits for the first (the tree lock) and is refused."""
    a, b = category(admin, "A"), category(admin, "B")
    tenant = uuid.UUID(admin.tenant_id)
    principal = Principal(
        user_id=uuid.UUID(admin.user_id),
        email=admin.email,
        name="Test Admin",
        role="admin",
        is_superadmin=False,
    )

    async def move(db: Database, category_id: str, parent_id: str) -> None:
        async with db.unit_of_work(tenant) as conn:
            await service.do_update_category(
                conn,
                principal=principal,
                tenant_id=tenant,
                category_id=uuid.UUID(category_id),
                move=True,
                parent_id=uuid.UUID(parent_id),
            )

    async def someone_waits_for_a_lock(db: Database) -> bool:
        async with db.engine.connect() as conn:
            query = sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")
            return bool((await conn.execute(query)).scalar_one())

    async def run() -> BaseException | None:
        db = Database(database.urls, settings)
        try:
            async with db.unit_of_work(tenant) as first:
                await service.do_update_category(
                    first,
                    principal=principal,
                    tenant_id=tenant,
                    category_id=uuid.UUID(a),
                    move=True,
                    parent_id=uuid.UUID(b),
                )
                second = asyncio.create_task(move(db, b, a))
                deadline = time.monotonic() + 10
                while not second.done() and not await someone_waits_for_a_lock(db):
                    assert time.monotonic() < deadline, "the second move neither ran nor waited"
                    await asyncio.sleep(0.01)
                # It checked nothing yet: it waits for the first to commit, then sees A under B.
                # (Without the tree lock it would check first and wait only for its row update.)
                assert not second.done(), "the second move did not wait for the first"
            return (await asyncio.gather(second, return_exceptions=True))[0]
        finally:
            await db.dispose()

    outcome = asyncio.run(run())
    assert isinstance(outcome, Conflict), outcome
    assert outcome.code == "CATEGORY_CYCLE"
    assert shape(tree(admin)["categories"]) == [("B", 0, 0, [("A", 0, 0, [])])]
