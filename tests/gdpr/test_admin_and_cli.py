"""Erasure by a workspace admin (only for accounts that live in that workspace alone) and by an
operator at the command line; the operator's export."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from tests.conftest import Account, Accounts, TestDatabase, error_code, latest_mail_token
from tests.gdpr.helpers import cli, invite_person, new_marker, superuser, tables_with


def test_admin_erases_a_member_of_their_workspace_only(
    accounts: Accounts, admin: Account, other_admin: Account, database: TestDatabase
) -> None:
    marker = new_marker()
    member = invite_person(accounts, admin, marker, "contributor")
    doc = member.post("/api/documents", json={"title": f"Notes {marker}", "body": marker})
    assert doc.status_code == 201, doc.text

    # Not an admin: refused.
    refused = member.post(f"/api/users/{admin.user_id}/erase")
    assert refused.status_code == 403
    assert error_code(refused) == "INSUFFICIENT_ROLE"
    # Someone of another workspace: unknown here.
    unknown = admin.post(f"/api/users/{other_admin.user_id}/erase")
    assert unknown.status_code == 404
    assert error_code(unknown) == "MEMBER_NOT_FOUND"

    erased = admin.post(f"/api/users/{member.user_id}/erase")
    assert erased.status_code == 200, erased.text
    assert erased.json()["documents"] == 1
    assert tables_with(database, marker) == {}
    with superuser(database) as conn:
        row = conn.execute(
            "SELECT actor_user_id::text, actor_label FROM audit_log "
            "WHERE action = 'user.erased' AND target_id = %s",
            (member.user_id,),
        ).fetchone()
    assert row == (admin.user_id, admin.email)  # the admin did it, and stays named


def test_admin_cannot_erase_an_account_shared_with_another_workspace(
    accounts: Accounts, admin: Account, other_admin: Account
) -> None:
    person = accounts.member(admin, "viewer")
    invite = other_admin.post("/api/invites", json={"email": person.email, "role": "viewer"})
    assert invite.status_code == 201, invite.text
    token = latest_mail_token(accounts.owner_url, person.email, "invited")
    joined = admin.client.post(
        "/api/invites/accept",
        json={"token": token},
        headers={"X-Tenant-Subdomain": other_admin.subdomain},
    )
    assert joined.status_code == 201, joined.text

    response = admin.post(f"/api/users/{person.user_id}/erase")
    assert response.status_code == 409
    assert error_code(response) == "ACCOUNT_SHARED"
    assert response.json()["error"]["details"] == {"workspaces": 2, "superadmin": False}
    assert person.get("/api/auth/me").status_code == 200


def test_operator_exports_and_erases_from_the_command_line(
    accounts: Accounts, admin: Account, database: TestDatabase, tmp_path: Path
) -> None:
    marker = new_marker()
    person = invite_person(accounts, admin, marker, "editor")
    person.post("/api/documents", json={"title": f"Doc {marker}", "body": marker})

    out = tmp_path / "export.zip"
    done = cli(
        database, "user", "export", person.email, "--workspace", admin.subdomain, "--out", str(out)
    )
    assert done.exit_code == 0, done.output
    archive = zipfile.ZipFile(io.BytesIO(out.read_bytes()))
    documents = json.loads(archive.read("documents.json"))
    assert [d["title"] for d in documents] == [f"Doc {marker}"]

    missing = cli(database, "user", "erase", f"nobody-{marker}@example.com", "--yes")
    assert missing.exit_code == 1
    assert "USER_NOT_FOUND" in missing.output
    unconfirmed = cli(database, "user", "erase", person.email)
    assert unconfirmed.exit_code == 2
    assert person.get("/api/auth/me").status_code == 200

    erased = cli(database, "user", "erase", person.email, "--yes")
    assert erased.exit_code == 0, erased.output
    assert "1 documents" in erased.output
    assert tables_with(database, marker) == {}
    with superuser(database) as conn:
        row = conn.execute(
            "SELECT actor_kind, actor_label FROM audit_log "
            "WHERE action = 'user.erased' AND target_id = %s",
            (person.user_id,),
        ).fetchone()
    assert row == ("operator", "cli:dpo")
