"""Storage quota per tier (FILE-1), counted from the files table, safe under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, Accounts, error_code
from tests.files.conftest import KIB, through
from tests.files.helpers import blob_files, chunks, file_rows, upload
from tynebase.settings import Settings

TIER_QUOTAS = {"free": 100 * KIB, "base": 200 * KIB, "pro": 300 * KIB}


def text(size: int) -> bytes:
    return (b"quota test line\n" * (size // 16 + 1))[:size]


@pytest.mark.parametrize("tier", ["free", "base", "pro"])
def test_each_tier_stops_at_its_quota(
    accounts: Accounts, small_client: TestClient, owner_sql: Any, settings: Settings, tier: str
) -> None:
    admin = through(accounts.signup(tier=tier), small_client)
    quota, piece = TIER_QUOTAS[tier], 48 * KIB  # never divides a quota: some space is left
    fitting = quota // piece
    for _ in range(fitting):
        assert upload(admin, text(piece), "part.txt").status_code == 201
    used = fitting * piece
    assert admin.get("/api/files/usage").json() == {
        "used_bytes": used,
        "limit_bytes": quota,
        "tier": tier,
    }
    # Announced size (Content-Length): refused before reading; chunked: refused at the end.
    for body in (text(piece), chunks(text(piece))):
        response = upload(admin, body, "one-too-many.txt")
        assert response.status_code == 507, response.text
        assert error_code(response) == "STORAGE_QUOTA_EXCEEDED"
        details = response.json()["error"]["details"]
        assert (details["limit"], details["used"], details["tier"]) == (quota, used, tier)
    assert len(file_rows(owner_sql, admin.tenant_id)) == fitting
    assert len(blob_files(settings.data_dir / "blobs", admin.tenant_id)) == fitting
    # The space left can still be used, to the byte.
    assert upload(admin, text(quota - used), "exact.txt").status_code == 201
    assert upload(admin, b"x", "over.txt").status_code == 507


def test_enterprise_is_unlimited(accounts: Accounts, small_client: TestClient) -> None:
    admin = through(accounts.signup(tier="enterprise"), small_client)
    for _ in range(9):  # 360 KiB: past every other tier's quota
        assert upload(admin, text(40 * KIB), "part.txt").status_code == 201
    assert admin.get("/api/files/usage").json()["limit_bytes"] is None


def test_deleting_frees_quota(accounts: Accounts, small_client: TestClient) -> None:
    admin = through(accounts.signup(tier="free"), small_client)
    first = upload(admin, text(60 * KIB), "a.txt").json()
    assert upload(admin, text(60 * KIB), "b.txt").status_code == 507
    assert admin.request("DELETE", f"/api/files/{first['id']}").status_code == 204
    assert upload(admin, text(60 * KIB), "b.txt").status_code == 201


def test_quota_is_per_workspace(accounts: Accounts, small_client: TestClient) -> None:
    full = through(accounts.signup(tier="free"), small_client)
    assert upload(full, text(90 * KIB), "a.txt").status_code == 201
    other = through(accounts.signup(tier="free"), small_client)
    assert upload(other, text(90 * KIB), "a.txt").status_code == 201


def test_concurrent_uploads_cannot_overshoot_the_quota(
    accounts: Accounts, small_client: TestClient, owner_sql: Any, settings: Settings
) -> None:
    """Six 30 KiB uploads at once into 100 KiB: exactly three fit, whatever the interleaving
    (each is checked again under the tenant's lock before its row is written)."""
    admin: Account = through(accounts.signup(tier="free"), small_client)
    # Chunked, so the early check (which sees no size) lets them all start streaming.
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(
            pool.map(
                lambda i: upload(admin, chunks(text(30 * KIB)), f"c{i}.txt").status_code,
                range(6),
            )
        )
    assert statuses == [201, 201, 201, 507, 507, 507]
    rows = file_rows(owner_sql, admin.tenant_id)
    assert sum(row[3] for row in rows) <= 100 * KIB
    assert len(blob_files(Path(settings.data_dir) / "blobs", admin.tenant_id)) == 3
