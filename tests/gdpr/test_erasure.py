"""GDPR-1 and GDPR-3 through the API: a person whose name, email, documents, collaborative edit,
upload, tags, API key and chats all carry one marker string is exported (everything there), then
erased (the marker is nowhere: no table, column, blob, chunk or Yjs state), while the audit trail
stays, pseudonymised."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import psycopg

from tests.conftest import Account, Accounts, TestDatabase, error_code
from tests.gdpr.helpers import (
    Person,
    blobs_with,
    invite_person,
    new_marker,
    superuser,
    tables_with,
    write_collab_state,
)
from tests.rag.conftest import ask, run_jobs
from tynebase.gdpr.erasure import pseudonym_of
from tynebase.settings import Settings


def make_person(
    accounts: Accounts, admin: Account, database: TestDatabase, settings: Settings
) -> Person:
    marker = new_marker()
    person = invite_person(accounts, admin, marker, "editor")
    key = person.post("/api/api-keys", json={"name": f"key {marker}", "scope": "read"})
    assert key.status_code == 201, key.text
    published = person.post(
        "/api/documents",
        json={
            "title": f"Plan {marker}",
            "body": f"# Rollout\n\nThe {marker} rollout starts on Monday with the pilot team.",
            "tags": [f"tag{marker}"],
            "visibility": "team",
        },
    ).json()
    assert person.post(f"/api/documents/{published['id']}/publish").status_code == 200
    draft = person.post(
        "/api/documents",
        json={
            "title": f"Draft {marker}",
            "body": f"Private {marker} notes",
            "visibility": "private",
        },
    ).json()
    write_collab_state(
        database, admin.tenant_id, published["id"], f"Live edit by {marker} in the editor"
    )
    file_bytes = f"Uploaded bytes {marker}\n".encode()
    upload = person.post(
        "/api/files",
        params={"filename": f"{marker}.txt", "document_id": published["id"]},
        content=file_bytes,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert upload.status_code == 201, upload.text
    run_jobs(settings, database)  # index for search and chat
    ask(person, f"When does the {marker} rollout start?")
    return Person(
        account=person,
        marker=marker,
        name=f"Person {marker}",
        documents=[published, draft],
        file=upload.json(),
        file_bytes=file_bytes,
    )


def export_of(account: Account) -> zipfile.ZipFile:
    response = account.get("/api/me/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


def _json(archive: zipfile.ZipFile, name: str) -> Any:
    return json.loads(archive.read(name))


def check_export(person: Person) -> None:
    archive = export_of(person.account)
    marker, account = person.marker, person.account
    manifest = _json(archive, "manifest.json")
    assert manifest["user_id"] == account.user_id
    assert manifest["workspace"] == account.subdomain
    profile = _json(archive, "profile.json")
    assert profile["email"] == account.email
    assert profile["name"] == person.name
    assert "password_hash" not in profile
    assert [m["subdomain"] for m in _json(archive, "memberships.json")] == [account.subdomain]
    assert _json(archive, "consents.json")["ai_processing"] is True
    documents = {d["id"]: d for d in _json(archive, "documents.json")}
    assert set(documents) == {d["id"] for d in person.documents}
    published = documents[person.documents[0]["id"]]
    assert published["tags"] == [f"tag{marker}"]
    assert [v["number"] for v in published["versions"]] == [1, 2]
    assert all(marker in v["body"] for v in published["versions"])
    uploads = _json(archive, "uploads.json")
    assert [u["filename"] for u in uploads] == [f"{marker}.txt"]
    assert archive.read(uploads[0]["path"]) == person.file_bytes
    chats = _json(archive, "chats.json")
    assert len(chats) == 1
    assert [m["role"] for m in chats[0]["messages"]] == ["user", "assistant"]
    assert marker in chats[0]["messages"][0]["content"]
    assert len(_json(archive, "sessions.json")) >= 1
    assert [k["name"] for k in _json(archive, "api_keys.json")] == [f"key {marker}"]
    assert all("key_hash" not in k for k in _json(archive, "api_keys.json"))
    actions = {e["action"] for e in _json(archive, "audit.json")}
    assert {"invite.accepted", "auth.login.succeeded", "api_key.created"} <= actions


def test_export_then_erasure_leaves_no_trace(
    accounts: Accounts, admin: Account, database: TestDatabase, settings: Settings
) -> None:
    person = make_person(accounts, admin, database, settings)
    marker, account = person.marker, person.account
    kept = admin.post("/api/documents", json={"title": "Admin's own", "body": "stays"}).json()
    check_export(person)

    blob_root = Path(database.base_dir) / "blobs"
    before = tables_with(database, marker)
    # The scan sees the marker everywhere it was put (so its silence afterwards means something).
    assert {
        "users",
        "documents",
        "document_versions",
        "rag_chunks",
        "collab_updates",
        "collab_documents",
        "files",
        "tags",
        "chat_sessions",
        "chat_messages",
        "api_keys",
        "invites",
        "audit_log",
        "mail_outbox",
    } <= before.keys(), before
    assert blobs_with(blob_root, marker)

    wrong = account.request("DELETE", "/api/me", json={"password": "not-my-password-at-all"})
    assert wrong.status_code == 403
    assert error_code(wrong) == "PASSWORD_MISMATCH"
    erased = account.request("DELETE", "/api/me", json={"password": account.password})
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert body["pseudonym"] == pseudonym_of(uuid.UUID(account.user_id))
    assert (body["workspaces"], body["documents"], body["files"], body["chats"]) == (1, 2, 1, 1)

    assert tables_with(database, marker) == {}
    assert blobs_with(blob_root, marker) == []
    # The account is gone: its token and its password open nothing.
    assert account.get("/api/auth/me").status_code == 401
    login = account.client.post(
        "/api/auth/login",
        json={"email": account.email, "password": account.password},
        headers={"X-Tenant-Subdomain": account.subdomain},
    )
    assert login.status_code == 401
    # Search finds nothing of theirs; the rest of the workspace is untouched.
    found = admin.get("/api/search", params={"q": marker})
    assert found.status_code == 200
    assert found.json()["items"] == []
    assert admin.get(f"/api/documents/{kept['id']}").status_code == 200
    # The trail stays, pseudonymised, including the erasure itself.
    with superuser(database) as conn:
        rows = conn.execute(
            "SELECT action, actor_label, ip FROM audit_log WHERE actor_user_id = %s "
            "ORDER BY occurred_at",
            (account.user_id,),
        ).fetchall()
    assert {"auth.login.succeeded", "api_key.created", "user.erased"} <= {r[0] for r in rows}
    assert {(r[1], r[2]) for r in rows} == {(body["pseudonym"], None)}


def test_audit_trail_refuses_every_other_change(
    accounts: Accounts, admin: Account, app_sql: psycopg.Connection[Any]
) -> None:
    """The pseudonymisation path is the only way in: plain changes are refused, and the scrub
    refuses to touch the trail of an account that still exists."""
    app_sql.execute("SELECT set_config('app.tenant_id', %s, false)", (admin.tenant_id,))
    for statement in (
        "UPDATE audit_log SET actor_label = 'x'",
        "DELETE FROM audit_log",
    ):
        try:
            app_sql.execute(statement)
            raise AssertionError(f"{statement} was accepted")
        except psycopg.errors.InsufficientPrivilege:
            app_sql.rollback()
        app_sql.execute("SELECT set_config('app.tenant_id', %s, false)", (admin.tenant_id,))
    try:
        app_sql.execute("SELECT gdpr_scrub_audit(%s, ARRAY['admin'])", (admin.user_id,))
        raise AssertionError("scrubbed a live account's trail")
    except psycopg.errors.InsufficientPrivilege:
        app_sql.rollback()


def test_last_admin_cannot_erase_themselves(admin: Account) -> None:
    response = admin.request("DELETE", "/api/me", json={"password": admin.password})
    assert response.status_code == 409
    assert error_code(response) == "LAST_ADMIN"
    assert response.json()["error"]["details"] == {"workspace": admin.subdomain}
    assert admin.get("/api/auth/me").status_code == 200


def test_the_spec_paths_are_the_same_operations(accounts: Accounts, admin: Account) -> None:
    """SPEC section 12's /api/gdpr/{export,consents,delete-account} answer like /api/me/..."""
    member = accounts.member(admin, "editor")
    exported = member.get("/api/gdpr/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(exported.content)).namelist()

    changed = member.request("PUT", "/api/gdpr/consents", json={"analytics": False})
    assert changed.status_code == 200, changed.text
    assert member.get("/api/me/consents").json() == changed.json()
    assert member.get("/api/gdpr/consents").json()["analytics"] is False

    wrong = member.post("/api/gdpr/delete-account", json={"password": "not-my-password-at-all"})
    assert error_code(wrong) == "PASSWORD_MISMATCH"
    erased = member.post("/api/gdpr/delete-account", json={"password": member.password})
    assert erased.status_code == 200, erased.text
    assert member.get("/api/auth/me").status_code == 401
