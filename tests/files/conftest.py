"""Fixtures for the file tests: a real S3-compatible server (moto) on loopback, and apps with
small limits so quotas can be reached with small files."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, TestDatabase, make_settings
from tynebase.api.app import create_app
from tynebase.settings import Settings

KIB = 1024


@dataclasses.dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    def settings_for(self, base: Settings, bucket: str, prefix: str = "blobs") -> dict[str, Any]:
        return {
            "storage_url": f"s3://{bucket}/{prefix}",
            "s3_endpoint_url": self.endpoint_url,
            "s3_region": "us-east-1",
            "s3_access_key_id": "testing",
            "s3_secret_access_key": "testing",
        }

    def create_bucket(self) -> str:
        import boto3

        bucket = f"tb-{uuid.uuid4().hex[:12]}"
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=bucket)
        return bucket


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server in a thread on 127.0.0.1 (a real HTTP S3 API, not a mock of boto3)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture(scope="module")
def small_client(database: TestDatabase) -> Iterator[TestClient]:
    """An app on the same database with tiny quotas (free 100 KiB, base 200 KiB, pro 300 KiB,
    enterprise unlimited) and small per-kind limits (image 64 KiB, document 128 KiB)."""
    settings = make_settings(
        database.base_dir,
        database.urls.owner,
        storage_quota_free_bytes=100 * KIB,
        storage_quota_base_bytes=200 * KIB,
        storage_quota_pro_bytes=300 * KIB,
        file_max_image_bytes=64 * KIB,
        file_max_document_bytes=128 * KIB,
    )
    with TestClient(create_app(settings, database.urls), raise_server_exceptions=False) as client:
        yield client


def through(account: Account, client: TestClient) -> Account:
    """The same person and token, calling another app on the same database."""
    return dataclasses.replace(account, client=client)
