"""The workflow (SPEC DOC-2): contributors submit, editors and admins publish; a published
document's pending draft is invisible to readers until it is published or discarded."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_documents import ROLES, as_role, assert_error, lineage_events, list_ids
from tests.conftest import Account, Accounts
from tests.matrix.documents import act, edit, make_document, published_document


def test_contributor_submits_and_an_editor_publishes(accounts: Accounts, admin: Account) -> None:
    contributor = accounts.member(admin, "contributor")
    editor = accounts.member(admin, "editor")
    viewer = accounts.member(admin, "viewer")
    document = make_document(contributor, title="Expenses policy", body="Draft text\n")
    assert_error(viewer.get(f"/api/documents/{document['id']}"), 404, "DOCUMENT_NOT_FOUND")

    submitted = act(contributor, document["id"], "submit")
    assert submitted["status"] == "in_review"
    assert_error(
        contributor.post(f"/api/documents/{document['id']}/submit"), 409, "ALREADY_IN_REVIEW"
    )
    assert_error(
        contributor.post(f"/api/documents/{document['id']}/publish"), 403, "INSUFFICIENT_ROLE"
    )
    # The author may still edit while it is in review.
    assert edit(contributor, document["id"], body="Reviewed text\n")["status"] == "in_review"
    assert document["id"] in list_ids(editor, status="in_review")

    published = act(editor, document["id"], "publish")
    assert (published["status"], published["current_version"]) == ("published", 2)
    assert published["published_at"] is not None
    seen = viewer.get(f"/api/documents/{document['id']}")
    assert seen.status_code == 200, seen.text
    assert (seen.json()["title"], seen.json()["body"]) == ("Expenses policy", "Reviewed text\n")
    versions = editor.get(f"/api/documents/{document['id']}/versions").json()["items"]
    assert [(v["number"], v["reason"], v["created_by"]) for v in versions] == [
        (2, "publish", editor.user_id),
        (1, "create", contributor.user_id),
    ]
    assert lineage_events(contributor, document["id"]) == [
        "created",
        "submitted",
        "edited",
        "published",
    ]
    assert_error(editor.post(f"/api/documents/{document['id']}/publish"), 409, "NOTHING_TO_PUBLISH")
    assert_error(
        contributor.post(f"/api/documents/{document['id']}/submit"), 409, "NOTHING_TO_SUBMIT"
    )


def test_editors_publish_drafts_directly(admin: Account) -> None:
    document = make_document(admin, title="Direct")
    published = act(admin, document["id"], "publish")
    assert published["status"] == "published"
    entry = admin.get(f"/api/documents/{document['id']}/lineage").json()["items"][-1]
    assert (entry["event"], entry["version"], entry["details"]) == (
        "published",
        2,
        {"from_status": "draft", "pending_draft": False},
    )


def test_pending_draft_is_invisible_to_readers(accounts: Accounts, admin: Account) -> None:
    contributor = accounts.member(admin, "contributor")
    other_contributor = accounts.member(admin, "contributor")
    viewer = accounts.member(admin, "viewer")
    document = act(
        admin, make_document(contributor, title="Live", body="Live body\n")["id"], "publish"
    )

    # The author edits the published document: the edit becomes a pending draft.
    edited = edit(contributor, document["id"], title="Next")
    assert (edited["title"], edited["body"], edited["status"]) == (
        "Live",
        "Live body\n",
        "published",
    )
    assert edited["pending_draft"]["title"] == "Next"
    assert edited["pending_draft"]["body"] == "Live body\n"
    edited = edit(contributor, document["id"], body="Next body\n")  # builds on the pending draft
    assert (edited["pending_draft"]["title"], edited["pending_draft"]["body"]) == (
        "Next",
        "Next body\n",
    )
    assert edited["current_version"] == document["current_version"]

    for reader in (viewer, other_contributor):
        seen = reader.get(f"/api/documents/{document['id']}").json()
        assert (seen["title"], seen["body"], seen["pending_draft"]) == ("Live", "Live body\n", None)
        # Nothing readers see changed, not even the list order.
        assert seen["updated_at"] == document["updated_at"]
        listed = reader.get("/api/documents").json()["items"]
        assert [(i["title"], i["updated_at"]) for i in listed if i["id"] == document["id"]] == [
            ("Live", document["updated_at"])
        ]
        assert reader.get("/api/documents", params={"q": "Next"}).json()["items"] == []
    assert admin.get(f"/api/documents/{document['id']}").json()["pending_draft"]["title"] == "Next"

    # The author asks for review of the pending draft; the document stays published.
    submitted = act(contributor, document["id"], "submit")
    assert submitted["status"] == "published"
    published = act(admin, document["id"], "publish")
    assert (published["title"], published["body"], published["pending_draft"]) == (
        "Next",
        "Next body\n",
        None,
    )
    assert published["current_version"] == 3
    seen = viewer.get(f"/api/documents/{document['id']}").json()
    assert (seen["title"], seen["body"]) == ("Next", "Next body\n")
    entries = admin.get(f"/api/documents/{document['id']}/lineage").json()["items"]
    assert [(e["event"], e["details"].get("pending_draft")) for e in entries] == [
        ("created", None),
        ("published", False),
        ("edited", True),
        ("edited", True),
        ("submitted", True),
        ("published", True),
    ]


def test_discard_the_pending_draft(accounts: Accounts, admin: Account) -> None:
    viewer = accounts.member(admin, "viewer")
    document = published_document(admin, title="Keep me", body="Kept\n")
    assert_error(
        admin.post(f"/api/documents/{document['id']}/discard-draft"), 409, "NO_PENDING_DRAFT"
    )
    edit(admin, document["id"], title="Throw away", body="Gone\n")
    assert_error(
        viewer.post(f"/api/documents/{document['id']}/discard-draft"), 403, "INSUFFICIENT_ROLE"
    )
    discarded = act(admin, document["id"], "discard-draft")
    assert (discarded["title"], discarded["body"], discarded["pending_draft"]) == (
        "Keep me",
        "Kept\n",
        None,
    )
    assert discarded["current_version"] == 2
    assert lineage_events(admin, document["id"])[-1] == "draft_discarded"
    assert_error(admin.post(f"/api/documents/{document['id']}/publish"), 409, "NOTHING_TO_PUBLISH")


def test_metadata_of_a_published_document_changes_at_once(
    accounts: Accounts, admin: Account
) -> None:
    viewer = accounts.member(admin, "viewer")
    document = published_document(admin, tags=["old"])
    edited = edit(admin, document["id"], tags=["new"], visibility="public")
    assert edited["pending_draft"] is None
    seen = viewer.get(f"/api/documents/{document['id']}").json()
    assert (seen["tags"], seen["visibility"]) == (["new"], "public")
    assert seen["updated_at"] > document["updated_at"]
    hidden = edit(admin, document["id"], visibility="private")
    assert hidden["visibility"] == "private"
    assert_error(viewer.get(f"/api/documents/{document['id']}"), 404, "DOCUMENT_NOT_FOUND")


def test_only_editors_delete_published_documents(accounts: Accounts, admin: Account) -> None:
    contributor = accounts.member(admin, "contributor")
    document = act(admin, make_document(contributor)["id"], "publish")
    refused = contributor.request("DELETE", f"/api/documents/{document['id']}")
    assert_error(refused, 403, "INSUFFICIENT_ROLE")
    assert contributor.get(f"/api/documents/{document['id']}").status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_roles_submit_publish_discard(role: str, accounts: Accounts, admin: Account) -> None:
    me = as_role(accounts, admin, role)
    privileged = role in ("admin", "editor")
    refusal = {"viewer": "INSUFFICIENT_ROLE", "contributor": "NOT_DOCUMENT_AUTHOR"}.get(role)

    # Someone else's draft: editors may submit and publish it; others cannot even see it.
    draft = make_document(admin)
    submit = me.post(f"/api/documents/{draft['id']}/submit")
    publish = me.post(f"/api/documents/{draft['id']}/publish")
    if privileged:
        assert (submit.status_code, publish.status_code) == (200, 200), publish.text
        assert publish.json()["status"] == "published"
    else:
        assert_error(submit, 404, "DOCUMENT_NOT_FOUND")
        assert_error(publish, 404, "DOCUMENT_NOT_FOUND")

    # Someone else's published document with a pending draft: readable by everyone.
    published = published_document(admin)
    edit(admin, published["id"], body="pending\n")
    results: dict[str, Any] = {
        action: me.post(f"/api/documents/{published['id']}/{action}")
        for action in ("submit", "discard-draft")
    }
    for action, response in results.items():
        if privileged:
            assert response.status_code == 200, (action, response.text)
        else:
            assert_error(response, 403, refusal or "")
    edit(admin, published["id"], body="pending again\n")
    publish = me.post(f"/api/documents/{published['id']}/publish")
    if privileged:
        assert publish.status_code == 200, publish.text
    else:
        assert_error(publish, 403, "INSUFFICIENT_ROLE")

    # Their own draft (those who may create one): submit yes, publish only editors.
    if role != "viewer":
        own = make_document(me)
        assert act(me, own["id"], "submit")["status"] == "in_review"
        publish = me.post(f"/api/documents/{own['id']}/publish")
        if privileged:
            assert publish.status_code == 200, publish.text
        else:
            assert_error(publish, 403, "INSUFFICIENT_ROLE")
