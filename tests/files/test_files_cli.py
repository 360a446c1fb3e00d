"""`tynebase files check`: blobs without rows (orphans) and rows without blobs, found and
repaired as an operator would (in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

from tests.conftest import TEST_SECRET, Account, TestDatabase
from tests.matrix.files import store_file


def files_check(database: TestDatabase, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database.urls.owner,
        "TYNEBASE_SECRET_KEY": TEST_SECRET,
        "TYNEBASE_ENVIRONMENT": "test",
        "TYNEBASE_DATA_DIR": str(database.base_dir),  # the test app's blob store
        "COLUMNS": "200",
    }
    env.pop("TYNEBASE_STORAGE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "tynebase", "files", "check", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_finds_and_repairs(admin: Account, database: TestDatabase) -> None:
    kept = store_file(admin, b"kept\n", "kept.txt")
    lost = store_file(admin, b"lost\n", "lost.txt")
    files_dir = database.base_dir / "blobs" / "tenants" / admin.tenant_id / "files"
    prefix = f"tenants/{admin.tenant_id}/files/"
    (files_dir / lost["id"]).unlink()  # a row without its blob
    old_orphan, new_orphan = files_dir / str(uuid.uuid4()), files_dir / str(uuid.uuid4())
    for orphan in (old_orphan, new_orphan):
        orphan.write_bytes(b"left by a crash")
    two_hours_ago = time.time() - 7200
    os.utime(old_orphan, (two_hours_ago, two_hours_ago))

    found = files_check(database, "--tenant", admin.subdomain, "--json")
    assert found.returncode == 1, found.stderr
    assert "have no blob" in found.stderr
    [report] = json.loads(found.stdout)
    assert (report["tenant"], report["files"], report["blobs"]) == (admin.subdomain, 2, 3)
    assert report["missing"] == [prefix + lost["id"]]
    assert report["orphans"] == [prefix + old_orphan.name]  # the young one may be in flight
    assert report["orphan_bytes"] == len(b"left by a crash")
    assert report["removed"] == 0

    repaired = files_check(database, "--tenant", admin.subdomain, "--repair", "--json")
    assert json.loads(repaired.stdout)[0]["removed"] == 1
    assert not old_orphan.exists()
    assert new_orphan.exists()
    assert (files_dir / kept["id"]).exists()

    assert admin.request("DELETE", f"/api/files/{lost['id']}").status_code == 204
    clean = files_check(database, "--tenant", admin.subdomain, "--grace-seconds", "3600")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert admin.subdomain in clean.stdout


def test_check_of_an_unknown_workspace(database: TestDatabase) -> None:
    result = files_check(database, "--tenant", "no-such-workspace")
    assert result.returncode == 2
    assert "no workspace" in result.stderr


def test_blob_layout_is_per_tenant(
    admin: Account, other_admin: Account, database: TestDatabase
) -> None:
    a, b = store_file(admin, b"a\n", "a.txt"), store_file(other_admin, b"b\n", "b.txt")
    root = database.base_dir / "blobs" / "tenants"
    assert (root / admin.tenant_id / "files" / a["id"]).read_bytes() == b"a\n"
    assert (root / other_admin.tenant_id / "files" / b["id"]).read_bytes() == b"b\n"
