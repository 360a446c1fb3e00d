"""Templates (DOC-5): global (read-only, shipped) and per workspace; "use template" makes a draft
with version 1 and a lineage entry naming the template; roles per action."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.taxonomy_helpers import assert_error, create, lineage_of, make_team, tenant_sql
from tests.conftest import Account, TestDatabase, unique

GLOBAL_NAMES = ["Meeting notes", "How-to guide", "Incident postmortem", "Decision record"]


@pytest.fixture(scope="module")
def team(client: TestClient, database: TestDatabase) -> dict[str, Account]:
    """A member of each role in one workspace, shared by the role tests (unique names each)."""
    return make_team(client, database)


def templates(account: Account) -> list[dict[str, Any]]:
    response = account.get("/api/templates")
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


def global_template(account: Account, name: str = "Meeting notes") -> dict[str, Any]:
    return next(t for t in templates(account) if t["name"] == name and t["scope"] == "global")


def template(account: Account, name: str = "Runbook", **extra: Any) -> dict[str, Any]:
    body = {"title": "Runbook: ...", "body": "## Steps\n", **extra}
    return create(account, "/api/templates", name=name, **body)


def test_list_has_the_global_templates_then_the_workspaces(
    admin: Account, other_admin: Account
) -> None:
    listed = templates(admin)
    assert {t["name"] for t in listed if t["scope"] == "global"} == set(GLOBAL_NAMES)
    assert all(t["created_by"] is None for t in listed)
    mine = template(admin, "Runbook", description="Operations")
    template(other_admin, "Theirs")
    listed = templates(admin)
    assert listed[-1] == mine
    assert (mine["scope"], mine["created_by"], mine["description"]) == (
        "tenant",
        admin.user_id,
        "Operations",
    )
    assert "Theirs" not in {t["name"] for t in listed}
    assert admin.get(f"/api/templates/{mine['id']}").json() == mine
    meeting = global_template(admin)
    assert admin.get(f"/api/templates/{meeting['id']}").json() == meeting
    assert "## Action items" in meeting["body"]


@pytest.mark.parametrize(
    ("role", "manages", "uses"),
    [
        ("viewer", False, False),
        ("contributor", False, True),
        ("editor", True, True),
        ("admin", True, True),
    ],
)
def test_roles_per_action(team: dict[str, Account], role: str, manages: bool, uses: bool) -> None:
    admin, caller = team["admin"], team[role]
    existing, doomed = template(admin, unique("existing-")), template(admin, unique("doomed-"))
    assert {existing["id"], doomed["id"]} <= {t["id"] for t in templates(caller)}  # all read
    assert caller.get(f"/api/templates/{existing['id']}").status_code == 200

    created = caller.post("/api/templates", json={"name": unique("new-"), "title": "T"})
    updated = caller.request("PATCH", f"/api/templates/{existing['id']}", json={"title": "U"})
    deleted = caller.request("DELETE", f"/api/templates/{doomed['id']}")
    used = caller.post(f"/api/templates/{existing['id']}/use", json={})
    if manages:
        assert created.status_code == 201, created.text
        assert updated.status_code == 200, updated.text
        assert deleted.status_code == 204, deleted.text
    else:
        for response in (created, updated, deleted):
            assert_error(response, 403, "INSUFFICIENT_ROLE")
        assert admin.get(f"/api/templates/{existing['id']}").json() == existing
        assert admin.get(f"/api/templates/{doomed['id']}").status_code == 200
    if uses:
        assert used.status_code == 201, used.text
        assert used.json()["author_id"] == caller.user_id
    else:
        assert_error(used, 403, "INSUFFICIENT_ROLE")


def test_global_templates_are_read_only(admin: Account) -> None:
    meeting = global_template(admin)
    response = admin.request("PATCH", f"/api/templates/{meeting['id']}", json={"title": "Mine"})
    assert_error(response, 403, "TEMPLATE_READ_ONLY")
    response = admin.request("DELETE", f"/api/templates/{meeting['id']}")
    assert_error(response, 403, "TEMPLATE_READ_ONLY")
    assert global_template(admin) == meeting
    # A workspace may have a template of the same name as a global one.
    assert template(admin, "Meeting notes")["scope"] == "tenant"


def test_update_and_delete(admin: Account) -> None:
    mine = template(admin, "Runbook", description="Ops")
    response = admin.request(
        "PATCH",
        f"/api/templates/{mine['id']}",
        json={"name": "Runbook v2", "title": "  New title ", "body": "## New\n"},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["name"], updated["title"], updated["body"], updated["description"]) == (
        "Runbook v2",
        "New title",
        "## New\n",
        "Ops",
    )
    assert admin.request("DELETE", f"/api/templates/{mine['id']}").status_code == 204
    assert_error(admin.get(f"/api/templates/{mine['id']}"), 404, "TEMPLATE_NOT_FOUND")


def test_names_are_unique_in_a_workspace(admin: Account) -> None:
    template(admin, "Runbook")
    other = template(admin, "Other")
    response = admin.post("/api/templates", json={"name": "RUNBOOK", "title": "T"})
    assert_error(response, 409, "TEMPLATE_EXISTS")
    response = admin.request("PATCH", f"/api/templates/{other['id']}", json={"name": "runbook"})
    assert_error(response, 409, "TEMPLATE_EXISTS")
    # Keeping one's own name is fine.
    same = admin.request("PATCH", f"/api/templates/{other['id']}", json={"name": "Other"})
    assert same.status_code == 200, same.text


def test_unknown_and_other_workspaces_templates(admin: Account, other_admin: Account) -> None:
    theirs = template(other_admin, "Theirs")
    for template_id in (theirs["id"], str(uuid.uuid4())):
        path = f"/api/templates/{template_id}"
        assert_error(admin.get(path), 404, "TEMPLATE_NOT_FOUND")
        assert_error(admin.request("PATCH", path, json={"title": "x"}), 404, "TEMPLATE_NOT_FOUND")
        assert_error(admin.request("DELETE", path), 404, "TEMPLATE_NOT_FOUND")
        assert_error(admin.post(f"{path}/use", json={}), 404, "TEMPLATE_NOT_FOUND")
    assert other_admin.get(f"/api/templates/{theirs['id']}").json() == theirs


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "", "title": "T"}, "VALIDATION_ERROR"),
        ({"name": "N", "title": ""}, "VALIDATION_ERROR"),
        ({"name": "N", "title": "x" * 501}, "VALIDATION_ERROR"),
        ({"name": "N", "title": "T", "body": "a\x00b"}, "VALIDATION_ERROR"),
        ({"name": "N", "title": "T", "description": "d" * 2001}, "VALIDATION_ERROR"),
        ({"name": "N"}, "VALIDATION_ERROR"),
    ],
)
def test_invalid_input(admin: Account, body: dict[str, Any], code: str) -> None:
    assert_error(admin.post("/api/templates", json=body), 400, code)


def test_body_over_the_document_limit_is_refused(admin: Account) -> None:
    body = {"name": "Huge", "title": "T", "body": "x" * (10 * 1024 * 1024 + 1)}
    assert_error(admin.post("/api/templates", json=body), 400, "DOCUMENT_TOO_LARGE")


def test_use_makes_a_draft_with_its_lineage(
    team: dict[str, Account], database: TestDatabase
) -> None:
    url, admin, contributor = database.urls.owner, team["admin"], team["contributor"]
    meeting = global_template(admin)
    response = contributor.post(f"/api/templates/{meeting['id']}/use")
    assert response.status_code == 201, response.text
    document = response.json()
    assert (document["title"], document["body"], document["status"]) == (
        "Meeting notes",
        meeting["body"],
        "draft",
    )
    assert (document["author_id"], document["current_version"], document["category_id"]) == (
        contributor.user_id,
        1,
        None,
    )
    assert lineage_of(url, admin, document["id"]) == [
        (
            "created",
            contributor.user_id,
            {"template_id": meeting["id"], "template": "Meeting notes"},
        )
    ]
    version = tenant_sql(
        url,
        admin.tenant_id,
        "SELECT number, reason, title, body FROM document_versions WHERE document_id = %s",
        (document["id"],),
    )
    assert version == (1, "create", "Meeting notes", meeting["body"])

    # With a title and a category of the workspace.
    category = create(admin, "/api/categories", name=unique("meetings-"))
    mine = template(admin, runbook := unique("runbook-"))
    response = contributor.post(
        f"/api/templates/{mine['id']}/use",
        json={"title": "Runbook: deploys", "category_id": category["id"]},
    )
    assert response.status_code == 201, response.text
    assert (response.json()["title"], response.json()["category_id"]) == (
        "Runbook: deploys",
        category["id"],
    )
    assert lineage_of(url, admin, response.json()["id"])[0][2]["template"] == runbook


def test_use_refuses_unknown_categories_and_bad_titles(
    admin: Account, other_admin: Account, database: TestDatabase
) -> None:
    meeting = global_template(admin)
    theirs = create(other_admin, "/api/categories", name="Theirs")
    path = f"/api/templates/{meeting['id']}/use"
    for category_id in (theirs["id"], str(uuid.uuid4())):
        response = admin.post(path, json={"category_id": category_id})
        assert_error(response, 404, "CATEGORY_NOT_FOUND")
    assert_error(admin.post(path, json={"title": "   "}), 400, "VALIDATION_ERROR")
    assert_error(admin.post(path, json={"title": "x" * 501}), 400, "VALIDATION_ERROR")
    made = tenant_sql(database.urls.owner, admin.tenant_id, "SELECT count(*) FROM documents")
    assert made == (0,)
