"""Source health (RAG-5): never indexed, stale, failed (with the error), ok; reindex on demand."""

from __future__ import annotations

from typing import Any

from tests.conftest import Account, Accounts, TestDatabase, error_code
from tests.rag.conftest import chunks_of, create, run_jobs
from tynebase.settings import Settings


def health(account: Account, **params: Any) -> dict[str, dict[str, Any]]:
    response = account.get("/api/rag/sources", params=params)
    assert response.status_code == 200, response.text
    return {item["document_id"]: item for item in response.json()["items"]}


def test_states_and_reindex(
    settings: Settings, database: TestDatabase, accounts: Accounts, admin: Account
) -> None:
    doc = create(admin, "Onboarding", "# Laptop\n\nCollect your laptop from IT on day one.")
    before = health(admin)[doc["id"]]
    assert (before["state"], before["queued"], before["chunk_count"]) == ("never_indexed", True, 0)

    run_jobs(settings, database)
    ok = health(admin)[doc["id"]]
    assert (ok["state"], ok["queued"], ok["indexed_version"]) == ("ok", False, 1)
    assert ok["chunk_count"] == 1
    assert ok["embedder"] == "wordllama-l2-supercat-256"
    assert health(admin, state="ok").keys() == {doc["id"]}

    patched = admin.request(
        "PATCH", f"/api/documents/{doc['id']}", json={"body": "# Laptop\n\nAsk IT for a laptop."}
    )
    assert patched.status_code == 200
    stale = health(admin)[doc["id"]]
    assert (stale["state"], stale["queued"]) == ("stale", True)
    listed = admin.get("/api/rag/sources", params={"state": "stale"}).json()
    assert [i["document_id"] for i in listed["items"]] == [doc["id"]]
    assert listed["counts"] == {"never_indexed": 0, "stale": 1, "failed": 0, "ok": 0}

    # Several saves before the worker runs share one queued job.
    job_ids = {
        admin.post("/api/rag/reindex", json={"document_id": doc["id"]}).json()["job_ids"][0]
        for _ in range(3)
    }
    assert len(job_ids) == 1
    run_jobs(settings, database)
    assert health(admin)[doc["id"]]["state"] == "ok"
    assert "Ask IT" in chunks_of(database, admin, doc["id"])[0][2]

    # All documents: one job that queues the rest (admins only).
    everything = admin.post("/api/rag/reindex", json={})
    assert everything.status_code == 202, everything.text
    (job_id,) = everything.json()["job_ids"]
    run_jobs(settings, database)
    assert admin.get(f"/api/jobs/{job_id}").json()["result"] == {"documents": 1}


def test_failed_with_error_when_the_author_refuses_indexing(
    settings: Settings, database: TestDatabase, admin: Account
) -> None:
    doc = create(admin, "Private notes", "Things I would rather not have indexed.")
    run_jobs(settings, database)
    assert len(chunks_of(database, admin, doc["id"])) == 1
    refused = admin.request("PUT", "/api/me/consents", json={"knowledge_indexing": False})
    assert refused.status_code == 200, refused.text

    (job_id,) = admin.post("/api/rag/reindex", json={"document_id": doc["id"]}).json()["job_ids"]
    run_jobs(settings, database)
    failed = health(admin, state="failed")[doc["id"]]
    assert failed["error"]["code"] == "CONSENT_REQUIRED"
    assert failed["chunk_count"] == 0
    assert chunks_of(database, admin, doc["id"]) == []
    assert admin.get(f"/api/jobs/{job_id}").json()["status"] == "succeeded"

    admin.request("PUT", "/api/me/consents", json={"knowledge_indexing": True})
    admin.post("/api/rag/reindex", json={"document_id": doc["id"]})
    run_jobs(settings, database)
    assert health(admin)[doc["id"]]["state"] == "ok"


def test_who_may_see_and_reindex(
    settings: Settings, accounts: Accounts, admin: Account, other_admin: Account
) -> None:
    editor, viewer = accounts.member(admin, "editor"), accounts.member(admin, "viewer")
    doc = create(admin, "Team page", "Who is who.")
    for response in (
        viewer.get("/api/rag/sources"),
        viewer.post("/api/rag/reindex", json={"document_id": doc["id"]}),
        editor.post("/api/rag/reindex", json={}),
    ):
        assert response.status_code == 403, response.text
        assert error_code(response) == "INSUFFICIENT_ROLE"
    assert editor.post("/api/rag/reindex", json={"document_id": doc["id"]}).status_code == 202
    foreign = other_admin.post("/api/rag/reindex", json={"document_id": doc["id"]})
    assert foreign.status_code == 404
    assert error_code(foreign) == "DOCUMENT_NOT_FOUND"
    assert doc["id"] not in health(other_admin)
    bad = admin.get("/api/rag/sources", params={"cursor": "%%%"})
    assert bad.status_code == 400
