"""Uploads (FILE-1): both body shapes, sniffed types, size limits per kind, and that a refused
or failed upload leaves neither a blob nor a row."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import Account, Accounts, error_code
from tests.files.helpers import (
    blob_files,
    chunks,
    docx_bytes,
    elf_bytes,
    file_rows,
    pdf_bytes,
    png_bytes,
    staging_files,
    upload,
    upload_multipart,
    zip_bytes,
)
from tynebase.files.storage import LocalBlobStore
from tynebase.settings import Settings

MIB = 1024 * 1024


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert error_code(response) == code, response.text
    details: dict[str, Any] = response.json()["error"]["details"]
    return details


@pytest.fixture
def blob_root(settings: Settings) -> Path:
    return settings.data_dir / "blobs"


def assert_nothing_stored(owner_sql: Any, account: Account, blob_root: Path) -> None:
    assert file_rows(owner_sql, account.tenant_id) == []
    assert blob_files(blob_root, account.tenant_id) == []
    assert staging_files(blob_root) == []


def test_raw_upload_is_stored_with_its_hash_under_the_tenant_prefix(
    admin: Account, blob_root: Path, owner_sql: psycopg.Connection[Any]
) -> None:
    data = pdf_bytes("Hello")
    response = upload(admin, data, "report.pdf")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["filename"] == "report.pdf"
    assert (body["content_type"], body["kind"]) == ("application/pdf", "document")
    assert body["size_bytes"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["created_by"] == admin.user_id
    stored = blob_root / "tenants" / admin.tenant_id / "files" / body["id"]
    assert stored.read_bytes() == data
    assert file_rows(owner_sql, admin.tenant_id) == [
        (body["id"], "report.pdf", "application/pdf", len(data))
    ]
    assert admin.get(f"/api/files/{body['id']}").json() == body


def test_multipart_upload_takes_the_part_named_file(admin: Account) -> None:
    response = admin.post(
        "/api/files",
        data={"note": "ignored field"},
        files={"file": ("notes.md", b"# Notes\n\nSome text\n", "application/octet-stream")},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["filename"], body["content_type"]) == ("notes.md", "text/markdown")


def test_multipart_without_a_file_part(admin: Account) -> None:
    response = admin.post("/api/files", files={"other": ("x.txt", b"text", "text/plain")})
    assert_error(response, 400, "MISSING_FILE")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--x--"),  # no boundary
        ("multipart/form-data; boundary=b", b"--b\r\nbad[header: 1\r\n\r\nx\r\n--b--\r\n"),
        (  # cut off before the file's closing boundary
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\ntext',
        ),
    ],
    ids=["no-boundary", "bad-header", "truncated"],
)
def test_malformed_multipart(
    admin: Account, blob_root: Path, owner_sql: Any, content_type: str, body: bytes
) -> None:
    response = admin.post("/api/files", content=body, headers={"Content-Type": content_type})
    assert_error(response, 400, "INVALID_MULTIPART")
    assert_nothing_stored(owner_sql, admin, blob_root)


def test_empty_file(admin: Account) -> None:
    assert_error(upload(admin, b"", "empty.txt"), 400, "EMPTY_FILE")


def test_filenames_are_reduced_to_a_safe_last_segment(admin: Account) -> None:
    response = upload(admin, b"text", "../../etc/pass\x00wd\r\n.txt")
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "pass" + "wd.txt"
    response = upload_multipart(admin, b"text", "C:\\Users\\me\\notes.txt")
    assert response.json()["filename"] == "notes.txt"


# --- sniffing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "declared", "filename", "content_type", "kind"),
    [
        (png_bytes, "text/plain", "innocent.txt", "image/png", "image"),
        (pdf_bytes, "image/png", "photo.png", "application/pdf", "document"),
        (
            docx_bytes,
            "text/plain",
            "notes.txt",
            ("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            "document",
        ),
        (
            lambda: b"<!DOCTYPE html><html><body>x</body></html>",
            "image/png",
            "a.png",
            "text/html",
            "document",
        ),
        (
            lambda: "plain text, caf\u00e9\n".encode(),
            "application/pdf",
            "a.pdf",
            "text/plain",
            "document",
        ),
    ],
)
def test_the_type_is_sniffed_from_the_bytes_not_declared(
    admin: Account, make: Any, declared: str, filename: str, content_type: str, kind: str
) -> None:
    for response in (
        upload(admin, make(), filename, content_type=declared),
        upload_multipart(admin, make(), filename, declared),
    ):
        assert response.status_code == 201, response.text
        assert (response.json()["content_type"], response.json()["kind"]) == (content_type, kind)


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (elf_bytes(), "text/plain"),
        (b"MZ\x90\x00" + b"\x03\x00\x00\x00\x04\x00" + b"\x00" * 5000, "application/pdf"),
        (zip_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (bytes(range(256)) * 40, "image/png"),
    ],
    ids=["elf", "exe", "zip-as-docx", "random-binary"],
)
def test_executables_archives_and_unknown_binaries_are_refused(
    admin: Account, blob_root: Path, owner_sql: Any, data: bytes, declared: str
) -> None:
    details = assert_error(
        upload(admin, data, "harmless.docx", content_type=declared), 415, "UNSUPPORTED_FILE_TYPE"
    )
    assert details["detected"]
    assert_nothing_stored(owner_sql, admin, blob_root)


def test_text_that_turns_binary_later_is_refused(
    admin: Account, blob_root: Path, owner_sql: Any
) -> None:
    data = b"looks like text\n" * 1000 + b"\x00\x01\x02binary"
    assert_error(upload(admin, chunks(data, 4096), "a.txt"), 415, "UNSUPPORTED_FILE_TYPE")
    assert_nothing_stored(owner_sql, admin, blob_root)


# --- size limits ---------------------------------------------------------------------------------


def test_a_60_mb_document_is_refused_while_streaming_and_leaves_nothing(
    admin: Account, blob_root: Path, owner_sql: Any
) -> None:
    data = pdf_bytes("big") + b"\x00" * (60 * MIB)
    # Chunked (no Content-Length): refused at the byte that crosses the 50 MiB limit.
    details = assert_error(upload(admin, chunks(data, MIB), "big.pdf"), 413, "FILE_TOO_LARGE")
    assert details == {"limit": 50 * MIB, "kind": "document", "content_type": "application/pdf"}
    assert_nothing_stored(owner_sql, admin, blob_root)
    # With a Content-Length: refused as soon as the type is known.
    assert_error(upload(admin, data, "big.pdf"), 413, "FILE_TOO_LARGE")
    assert_nothing_stored(owner_sql, admin, blob_root)


def test_the_limit_depends_on_the_kind(admin: Account, blob_root: Path, owner_sql: Any) -> None:
    image = png_bytes() + b"\x00" * (11 * MIB)  # over the 10 MiB image limit
    details = assert_error(upload(admin, chunks(image, MIB), "big.png"), 413, "FILE_TOO_LARGE")
    assert (details["kind"], details["limit"]) == ("image", 10 * MIB)
    assert_nothing_stored(owner_sql, admin, blob_root)
    document = pdf_bytes("fine") + b"\x00" * (11 * MIB)  # the same size is fine for a document
    assert upload(admin, chunks(document, MIB), "fine.pdf").status_code == 201


def test_an_announced_body_over_every_limit_is_refused_before_reading(admin: Account) -> None:
    # 600 MiB announced, 10 bytes sent: the answer comes from Content-Length alone.
    response = admin.post(
        "/api/files",
        content=b"0123456789",
        headers={"Content-Length": str(600 * MIB), "Content-Type": "application/octet-stream"},
    )
    assert_error(response, 413, "FILE_TOO_LARGE")


# --- failures leave nothing half-written ---------------------------------------------------------


def test_a_failing_blob_store_leaves_no_row(
    admin: Account, blob_root: Path, owner_sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: LocalBlobStore, key: str, source: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(LocalBlobStore, "put_file", broken)
    response = upload(admin, b"some text", "a.txt")
    assert response.status_code == 500
    assert_nothing_stored(owner_sql, admin, blob_root)


def test_a_failing_insert_removes_the_published_blob(
    admin: Account, blob_root: Path, owner_sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tynebase.files import repo

    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(repo, "insert", broken)
    response = upload(admin, b"some text", "a.txt")
    assert response.status_code == 500
    assert_nothing_stored(owner_sql, admin, blob_root)


# --- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [("viewer", 403), ("contributor", 201), ("editor", 201), ("admin", 201)]
)
def test_uploading_needs_the_contributor_role(
    accounts: Accounts, admin: Account, role: str, status: int
) -> None:
    caller = admin if role == "admin" else accounts.member(admin, role)
    response = upload(caller, b"text", "a.txt")
    assert response.status_code == status, response.text
    if status == 403:
        assert error_code(response) == "INSUFFICIENT_ROLE"


def test_a_read_scoped_api_key_cannot_upload(admin: Account) -> None:
    key = admin.post("/api/api-keys", json={"name": "ro", "scope": "read"}).json()["key"]
    response = admin.client.post(
        "/api/files",
        params={"filename": "a.txt"},
        content=b"text",
        headers={"X-Tenant-Subdomain": admin.subdomain, "Authorization": f"Bearer {key}"},
    )
    assert_error(response, 403, "INSUFFICIENT_ROLE")


def test_uploads_need_credentials(admin: Account) -> None:
    response = admin.client.post(
        "/api/files", content=b"text", headers={"X-Tenant-Subdomain": admin.subdomain}
    )
    assert_error(response, 401, "UNAUTHENTICATED")
