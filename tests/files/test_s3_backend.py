"""The whole file flow through the API with the S3 backend (moto's S3 server on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Accounts, TestDatabase, error_code, make_settings
from tests.files.conftest import S3Server, through
from tests.files.helpers import chunks, elf_bytes, file_rows, pdf_bytes, upload
from tests.matrix.files import signed_url
from tynebase.api.app import create_app
from tynebase.settings import Settings


@pytest.fixture(scope="module")
def s3_app(s3_server: S3Server, database: TestDatabase) -> Iterator[tuple[TestClient, Any, str]]:
    base = make_settings(database.base_dir, database.urls.owner)
    bucket = s3_server.create_bucket()
    settings: Settings = make_settings(
        database.base_dir,
        database.urls.owner,
        **s3_server.settings_for(base, bucket, prefix="tb"),
    )
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with TestClient(create_app(settings, database.urls), raise_server_exceptions=False) as app:
        yield app, client, bucket


def object_keys(s3: Any, bucket: str) -> set[str]:
    listing = s3.list_objects_v2(Bucket=bucket)
    return {item["Key"] for item in listing.get("Contents", [])}


def test_upload_download_delete_on_s3(
    s3_app: tuple[TestClient, Any, str], accounts: Accounts, owner_sql: Any
) -> None:
    app, s3, bucket = s3_app
    admin = through(accounts.signup(tier="base"), app)
    data = pdf_bytes("Stored in S3") + b"\x00" * (9 * 1024 * 1024)  # a multipart upload
    response = upload(admin, chunks(data, 1024 * 1024), "report.pdf")
    assert response.status_code == 201, response.text
    file = response.json()
    key = f"tb/tenants/{admin.tenant_id}/files/{file['id']}"
    assert key in object_keys(s3, bucket)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data

    download = app.get(
        signed_url(admin, file["id"]), headers={"X-Tenant-Subdomain": admin.subdomain}
    )
    assert download.status_code == 200
    assert download.content == data

    assert admin.request("DELETE", f"/api/files/{file['id']}").status_code == 204
    assert key not in object_keys(s3, bucket)


def test_refusals_leave_no_object_on_s3(
    s3_app: tuple[TestClient, Any, str], accounts: Accounts, owner_sql: Any
) -> None:
    app, s3, bucket = s3_app
    admin = through(accounts.signup(tier="base"), app)
    response = upload(admin, elf_bytes(), "tool.txt")
    assert (response.status_code, error_code(response)) == (415, "UNSUPPORTED_FILE_TYPE")
    response = upload(admin, chunks(pdf_bytes() + b"\x00" * (51 * 1024 * 1024), 1 << 20), "x.pdf")
    assert (response.status_code, error_code(response)) == (413, "FILE_TOO_LARGE")
    assert not {k for k in object_keys(s3, bucket) if admin.tenant_id in k}
    assert file_rows(owner_sql, admin.tenant_id) == []
