"""Imports (FILE-3): PDF, DOCX, HTML, Markdown and text become draft Markdown documents, in a
job; a job retried after a crash never creates a second document."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, Accounts, TestDatabase, error_code, make_settings
from tests.files.helpers import docx_bytes, file_rows, pdf_bytes, png_bytes, upload
from tests.matrix.files import store_file
from tynebase.db.engine import Database
from tynebase.settings import Settings
from tynebase.workers.worker import run_until_idle

HTML = (
    b"<!DOCTYPE html><html><head><title>Page title</title><style>p{}</style></head><body>"
    b"<h1>Onboarding</h1><p>Welcome <b>aboard</b>.</p><script>alert(1)</script>"
    b"<ul><li>laptop</li><li>badge</li></ul></body></html>"
)
CASES = {
    # format: (filename, bytes, expected title, text the Markdown must contain)
    "pdf": (
        "plan.pdf",
        pdf_bytes("Annual plan", "Grow the garden"),
        "Annual plan",
        "Grow the garden",
    ),
    "docx": (
        "report.docx",
        docx_bytes("Quarterly report", "Revenue grew."),
        "Quarterly report",
        "# Quarterly report\n\nRevenue grew.",
    ),
    "html": (
        "page.html",
        HTML,
        "Onboarding",
        "# Onboarding\n\nWelcome **aboard**.\n\n- laptop\n- badge",
    ),
    "markdown": (
        "notes.md",
        "# Caf\u00e9 notes\n\n* one\n".encode(),
        "Caf\u00e9 notes",
        "# Caf\u00e9 notes\n\n* one\n",
    ),
    "text": ("meeting-notes.txt", b"line one\nline two\n", "meeting-notes", "line one\nline two\n"),
}


def run_jobs(settings: Settings, database: TestDatabase) -> None:
    """What a worker does: run every job that is ready, then return."""

    async def run() -> None:
        db = Database(database.urls, settings)
        try:
            await run_until_idle(settings, db)
        finally:
            await db.dispose()

    asyncio.run(run())


def job_of(account: Account, job_id: str) -> dict[str, Any]:
    response = account.get(f"/api/jobs/{job_id}")
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


def start_import(account: Account, filename: str, data: bytes, **params: Any) -> dict[str, Any]:
    response = account.post(
        "/api/imports", params=params, files={"file": (filename, data, "application/octet-stream")}
    )
    assert response.status_code == 202, response.text
    started: dict[str, Any] = response.json()
    return started


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_each_format_becomes_a_draft_document(
    admin: Account, settings: Settings, database: TestDatabase, fmt: str
) -> None:
    filename, data, title, text = CASES[fmt]
    started = start_import(admin, filename, data)
    assert (started["format"], started["status"]) == (fmt, "queued")
    run_jobs(settings, database)

    job = job_of(admin, started["job_id"])
    assert (job["status"], job["progress"]) == ("succeeded", 100), job
    document_id = job["result"]["document_id"]
    document = admin.get(f"/api/documents/{document_id}").json()
    assert (document["title"], document["status"]) == (title, "draft")
    assert document["author_id"] == admin.user_id
    assert text in document["body"]
    assert "alert(1)" not in document["body"]
    versions = admin.get(f"/api/documents/{document_id}/versions").json()["items"]
    assert [(v["number"], v["reason"]) for v in versions] == [(1, "import")]
    lineage = admin.get(f"/api/documents/{document_id}/lineage").json()["items"]
    assert [(e["event"], e["details"]) for e in lineage] == [
        ("imported", {"file": started["file_id"], "format": fmt, "filename": filename})
    ]
    # The source file is kept, attached to its document.
    assert admin.get(f"/api/files/{started['file_id']}").json()["document_id"] == document_id


def test_import_a_stored_file_by_id_with_a_title(
    admin: Account, settings: Settings, database: TestDatabase
) -> None:
    file = store_file(admin, b"# Heading\n\ntext\n", "a.md")
    response = admin.post("/api/imports", json={"file_id": file["id"], "title": "Chosen title"})
    assert response.status_code == 202, response.text
    run_jobs(settings, database)
    job = job_of(admin, response.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["title"] == "Chosen title"


def test_files_that_cannot_be_imported(admin: Account, owner_sql: Any) -> None:
    response = admin.post("/api/imports", files={"file": ("pic.png", png_bytes(), "text/plain")})
    assert response.status_code == 415, response.text
    assert error_code(response) == "UNSUPPORTED_IMPORT_FORMAT"
    assert file_rows(owner_sql, admin.tenant_id) == []  # the upload is not kept either
    picture = store_file(admin, png_bytes(), "pic.png")
    response = admin.post("/api/imports", json={"file_id": picture["id"]})
    assert response.status_code == 415
    assert error_code(response) == "UNSUPPORTED_IMPORT_FORMAT"
    response = upload(admin, b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "x.txt")
    assert error_code(response) == "UNSUPPORTED_FILE_TYPE"


def test_import_requests_that_are_not_valid(admin: Account) -> None:
    for body in ({}, {"file_id": "nope"}, {"file_id": None, "extra": 1}):
        response = admin.post("/api/imports", json=body)
        assert response.status_code == 400, response.text
        assert error_code(response) == "VALIDATION_ERROR"
    response = admin.post(
        "/api/imports", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert error_code(response) == "VALIDATION_ERROR"
    response = admin.post("/api/imports", json={"file_id": "00000000-0000-4000-8000-000000000000"})
    assert response.status_code == 404
    assert error_code(response) == "FILE_NOT_FOUND"


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("contributor", 202), ("editor", 202)]
)
def test_importing_needs_the_contributor_role(
    accounts: Accounts, admin: Account, role: str, status: int
) -> None:
    member = accounts.member(admin, role)
    response = member.post("/api/imports", files={"file": ("a.md", b"# A\n", "text/markdown")})
    assert response.status_code == status, response.text
    mine = store_file(admin, b"# B\n", "b.md")
    response = member.post("/api/imports", json={"file_id": mine["id"]})
    # A viewer cannot see an unattached file of someone else; an editor can.
    expected = {"viewer": 404, "contributor": 404, "editor": 202}[role]
    assert response.status_code == expected, response.text
    if role == "viewer":
        own = member.post("/api/imports", files={"file": ("a.md", b"# A\n", "text/markdown")})
        assert error_code(own) == "INSUFFICIENT_ROLE"


@pytest.mark.parametrize("how", ["removed", "suspended"])
def test_an_import_whose_starter_left_fails_without_a_document(
    accounts: Accounts,
    admin: Account,
    settings: Settings,
    database: TestDatabase,
    how: str,
) -> None:
    """The job acts as the person who started it: once they are no longer an active member
    it must not create a document in their name."""
    member = accounts.member(admin, "contributor")
    started = start_import(member, "left.md", b"# Left behind\n")
    if how == "removed":
        gone = admin.request("DELETE", f"/api/users/{member.user_id}")
    else:
        gone = admin.request("PATCH", f"/api/users/{member.user_id}", json={"status": "suspended"})
    assert gone.status_code in (200, 204), gone.text
    run_jobs(settings, database)
    job = job_of(admin, started["job_id"])
    assert (job["status"], job["attempts"]) == ("failed", 1), job
    assert job["error"]["code"] == "IMPORT_USER_GONE"
    titles = [d["title"] for d in admin.get("/api/documents").json()["items"]]
    assert "Left behind" not in titles


def test_an_unreadable_file_fails_the_job_without_retries(
    admin: Account, settings: Settings, database: TestDatabase
) -> None:
    broken = b"%PDF-1.7\n" + b"this is not really a pdf\n" * 50
    started = start_import(admin, "broken.pdf", broken)
    run_jobs(settings, database)
    job = job_of(admin, started["job_id"])
    assert job["status"] == "failed", job
    assert job["error"]["code"] == "IMPORT_UNREADABLE"
    assert job["attempts"] == 1


def test_a_crash_after_the_document_insert_does_not_duplicate_it(
    admin: Account, database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt dies after creating the document but before committing: the job's
    transaction (document + "succeeded") rolls back, the retry creates the only document."""
    from tynebase.files import repo as files_repo

    settings = make_settings(database.base_dir, database.urls.owner, job_retry_base_seconds=0)
    real = files_repo.set_document
    calls: list[Any] = []

    mine: list[str] = []  # this test's file: jobs other tests left queued run here too

    async def crash_once(*args: Any, **kwargs: Any) -> None:
        if str(args[1]) in mine:
            calls.append(args)
            if len(calls) == 1:
                raise ConnectionError("worker lost the database mid-job")
        await real(*args, **kwargs)

    monkeypatch.setattr(files_repo, "set_document", crash_once)
    title = "Only once"
    started = start_import(admin, "once.md", b"# Only once\n\nbody\n")
    mine.append(started["file_id"])
    for _ in range(5):  # the retry is due at once; poll a bounded number of rounds
        run_jobs(settings, database)
        if job_of(admin, started["job_id"])["status"] == "succeeded":
            break
    job = job_of(admin, started["job_id"])
    assert (job["status"], job["attempts"]) == ("succeeded", 2), job
    assert len(calls) == 2
    documents = admin.get("/api/documents", params={"limit": 100}).json()["items"]
    assert [d["id"] for d in documents if d["title"] == title] == [job["result"]["document_id"]]
    # Running the queue again (a redelivered job) changes nothing.
    run_jobs(settings, database)
    documents = admin.get("/api/documents", params={"limit": 100}).json()["items"]
    assert len([d for d in documents if d["title"] == title]) == 1


def test_uploads_through_imports_need_credentials(client: TestClient, admin: Account) -> None:
    response = client.post(
        "/api/imports", content=b"# x", headers={"X-Tenant-Subdomain": admin.subdomain}
    )
    assert response.status_code == 401
