"""AI enhance (AI-4): a score and concrete suggestions with stable ids and exact edits, from the
rules alone without a model and with a model's suggestions added; applying chosen ones makes a
new version (or fills a published document's pending draft); stale, unknown and overlapping
choices are refused."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.testclient import TestClient

from tests.ai.fakes import Reply
from tests.ai.generation.helpers import ScriptedOpenAI, credits_of
from tests.conftest import Account, Accounts, error_code, unique
from tests.files.conftest import through

BODY = (
    "Our deploys run  every day.Releases are tagged by the the release manager.\n\n\n\n"
    "# Deploying\n\n#### Steps:\n\nRun the pipeline.\n"
)


def new_document(account: Account, body: str = BODY, title: str = "Deploys") -> dict[str, Any]:
    response = account.post("/api/documents", json={"title": title, "body": body})
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def enhance(account: Account, document_id: str) -> dict[str, Any]:
    response = account.post("/api/ai/enhance", json={"document_id": document_id})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def apply(account: Account, document_id: str, ids: list[str]) -> Any:
    return account.post(
        "/api/ai/enhance/apply", json={"document_id": document_id, "suggestion_ids": ids}
    )


def test_rules_suggest_exact_edits_with_stable_ids(admin: Account) -> None:
    document = new_document(admin)
    first = enhance(admin, document["id"])
    assert (first["provider"], first["model"], first["extractive"]) == ("local", "rules", True)
    assert first["credits"] == 0
    assert 0 <= first["score"] < 100
    by_kind = {(s["kind"], s["message"]): s for s in first["suggestions"]}
    assert ("typo", 'Repeated word "the"') in by_kind
    assert ("typo", "Missing space after a full stop") in by_kind
    assert ("structure", "Heading level jumps from 1 to 4") in by_kind
    for suggestion in first["suggestions"]:
        edit = suggestion["edit"]
        assert BODY[edit["start"] : edit["end"]] == edit["expect"]
        assert suggestion["id"].startswith("sg_")
    # The same text gets the same suggestions, with the same ids.
    second = enhance(admin, document["id"])
    assert [s["id"] for s in second["suggestions"]] == [s["id"] for s in first["suggestions"]]
    assert second["text_sha256"] == first["text_sha256"]


def test_applying_suggestions_makes_a_new_version(admin: Account) -> None:
    document = new_document(admin)
    suggestions = enhance(admin, document["id"])["suggestions"]
    wanted = [
        s["id"]
        for s in suggestions
        if s["message"] in {'Repeated word "the"', "Heading level jumps from 1 to 4"}
    ]
    applied = apply(admin, document["id"], wanted)
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert (body["applied"], body["version"], body["pending_draft"]) == (wanted, 2, False)
    text = body["document"]["body"]
    assert "by the release manager" in text
    assert "\n## Steps:" in text
    assert "every day.Releases" in text  # not chosen: not applied
    versions = admin.get(f"/api/documents/{document['id']}/versions").json()["items"]
    assert [(v["number"], v["reason"]) for v in versions][:2] == [
        (2, "ai_generated"),
        (1, "create"),
    ]
    lineage = admin.get(f"/api/documents/{document['id']}/lineage").json()["items"]
    assert lineage[-1]["event"] == "ai_generated"
    assert lineage[-1]["details"]["operation"] == "enhance"
    assert lineage[-1]["details"]["suggestions"] == wanted
    # The text changed: the old suggestions no longer apply.
    stale = apply(admin, document["id"], [s["id"] for s in suggestions][:1])
    assert (stale.status_code, error_code(stale)) == (409, "ENHANCE_STALE")
    # The new text has its own suggestions; an id of another text is unknown.
    fresh = enhance(admin, document["id"])["suggestions"]
    assert wanted[0] not in {s["id"] for s in fresh}
    unknown = apply(admin, document["id"], [fresh[0]["id"], wanted[0]])
    assert (unknown.status_code, error_code(unknown)) == (404, "SUGGESTION_NOT_FOUND")
    assert unknown.json()["error"]["details"]["ids"] == [wanted[0]]


def test_overlapping_suggestions_are_refused(admin: Account) -> None:
    document = new_document(admin, "Use the  the tool here and there in every case.\n")
    suggestions = enhance(admin, document["id"])["suggestions"]
    assert len(suggestions) == 2  # the repeated word and the double space inside it
    response = apply(admin, document["id"], [s["id"] for s in suggestions])
    assert (response.status_code, error_code(response)) == (409, "SUGGESTIONS_OVERLAP")
    assert apply(admin, document["id"], [suggestions[0]["id"]]).status_code == 200


def test_published_documents_get_a_pending_draft(admin: Account, accounts: Accounts) -> None:
    document = new_document(admin)
    assert admin.post(f"/api/documents/{document['id']}/publish").status_code == 200
    suggestion = enhance(admin, document["id"])["suggestions"][0]
    response = apply(admin, document["id"], [suggestion["id"]])
    assert response.status_code == 200, response.text
    assert (response.json()["version"], response.json()["pending_draft"]) == (None, True)
    # Readers still see what was published.
    viewer = accounts.member(admin, "viewer")
    assert viewer.get(f"/api/documents/{document['id']}").json()["body"] == BODY
    # Viewers may not apply (nor ask: enhance needs the contributor role).
    refused = apply(viewer, document["id"], [suggestion["id"]])
    assert (refused.status_code, error_code(refused)) == (403, "INSUFFICIENT_ROLE")
    asked = viewer.post("/api/ai/enhance", json={"document_id": document["id"]})
    assert (asked.status_code, error_code(asked)) == (403, "INSUFFICIENT_ROLE")


def test_a_model_adds_its_suggestions_and_is_charged(
    admin: Account, llm: ScriptedOpenAI, llm_client: TestClient
) -> None:
    account = through(admin, llm_client)
    marker = unique("enh")
    body = f"{marker} The system is utilized for the purpose of deploying code.\n"
    document = new_document(account, body)
    answer = {
        "score": 60,
        "suggestions": [
            {
                "kind": "clarity",
                "message": "Plainer words",
                "find": "is utilized for the purpose of deploying",
                "replace": "deploys",
            },
            {"kind": "style", "message": "Not in the text", "find": "nowhere", "replace": "x"},
        ],
    }
    llm.on(marker, lambda _r: Reply.json(llm.completion(orjson.dumps(answer).decode())))
    result = enhance(account, document["id"])
    assert (result["provider"], result["model"], result["extractive"]) == (
        "openai",
        "fake-chat",
        False,
    )
    [from_model] = [s for s in result["suggestions"] if s["source"] == "model"]
    assert from_model["edit"]["expect"] == "is utilized for the purpose of deploying"
    assert result["credits"] == 0.5
    applied = apply(account, document["id"], [from_model["id"]])
    assert applied.json()["document"]["body"] == f"{marker} The system deploys code.\n"
    balance = credits_of(account)
    assert (balance["used"], balance["reserved"]) == (0.5, 0)


def test_a_model_failure_is_reported_and_costs_nothing(
    admin: Account, llm: ScriptedOpenAI, llm_client: TestClient
) -> None:
    account = through(admin, llm_client)
    for reply, status, code in (
        (Reply.json(llm.completion("I think it is fine!")), 502, "AI_BAD_RESPONSE"),
        (llm.error(429, kind="insufficient_quota"), 503, "AI_QUOTA_EXCEEDED"),
    ):
        marker = unique("enhfail")
        document = new_document(account, f"{marker} Some text to review.\n")
        llm.on(marker, lambda _r, reply=reply: reply)
        response = account.post("/api/ai/enhance", json={"document_id": document["id"]})
        assert (response.status_code, error_code(response)) == (status, code), response.text
    balance = credits_of(account)
    assert (balance["used"], balance["reserved"]) == (0, 0)
    released = [i for i in balance["history"]["items"] if i["operation"] == "enhance"]
    assert {i["release_reason"] for i in released} == {"AI_BAD_RESPONSE", "AI_QUOTA_EXCEEDED"}


def test_enhance_checks_the_document(admin: Account, other_admin: Account) -> None:
    theirs = new_document(other_admin)
    for path, body in (
        ("/api/ai/enhance", {"document_id": theirs["id"]}),
        ("/api/ai/enhance/apply", {"document_id": theirs["id"], "suggestion_ids": ["sg_x"]}),
    ):
        response = admin.post(path, json=body)
        assert (response.status_code, error_code(response)) == (404, "DOCUMENT_NOT_FOUND")
    mine = new_document(admin)
    never = apply(admin, mine["id"], ["sg_0000000000000000"])
    assert (never.status_code, error_code(never)) == (409, "ENHANCE_STALE")
