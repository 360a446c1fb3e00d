"""Backups (OPS-7), through the CLI as an operator runs them: create -> wipe everything -> restore
reproduces every workspace exactly (full tenant archives compared); verify catches a damaged
archive; restore refuses another schema version and asks before it replaces anything."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from tests.api.test_export import seed
from tests.matrix.files import store_file
from tests.ops.conftest import OpsWorld
from tynebase.export.archive import canonical


@pytest.fixture(scope="module")
def world(ops: OpsWorld) -> dict[str, Any]:
    """Two seeded workspaces and the environment to back them up (superuser: bypasses RLS)."""
    admins = [ops.accounts.signup(tier="base") for _ in range(2)]
    with ops.owner() as sql:
        for admin in admins:
            editor = ops.accounts.member(admin, "editor")
            seed(sql, SimpleNamespace(base_dir=ops.data_dir), admin, editor)  # type: ignore[arg-type]
    store_file(admins[1], b"uploaded through the API\n", "notes.txt")
    return {"admins": admins}


def cli(ops: OpsWorld, *args: str, input: str | None = None) -> Any:
    result = ops.cli(*args, input=input)
    return result


@pytest.fixture(scope="module")
def backup_env(ops: OpsWorld) -> Iterator[None]:
    # The CLI runs against the ops database as an external DATABASE_URL; the backup role is
    # the embedded server's superuser.
    ops.extra_env["TYNEBASE_BACKUP_DATABASE_URL"] = ops.database.server.superuser_url
    yield
    ops.extra_env.pop("TYNEBASE_BACKUP_DATABASE_URL", None)


def export_all(ops: OpsWorld, admins: list[Any], out: Path) -> dict[str, bytes]:
    archives = {}
    out.mkdir(parents=True, exist_ok=True)
    for admin in admins:
        target = out / f"{admin.subdomain}.zip"
        result = cli(ops, "tenant", "export", admin.subdomain, "--out", str(target))
        assert result.exit_code == 0, result.output
        archives[admin.subdomain] = canonical(target.read_bytes())
    return archives


def make_backup(ops: OpsWorld, out: Path) -> Path:
    result = cli(ops, "backup", "create", "--out", str(out))
    assert result.exit_code == 0, result.output
    archive = Path(result.stdout.strip().splitlines()[-1])
    assert archive.is_file()
    return archive


def rewrite(archive: Path, target: Path, change: Any) -> None:
    """Copy `archive` to `target`, passing each member's bytes through `change(name, data)`."""
    with tarfile.open(archive) as src, tarfile.open(target, "w") as dst:
        for member in src:
            handle = src.extractfile(member)
            assert handle is not None
            data = change(member.name, handle.read())
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))


def test_backup_wipe_restore_reproduces_every_tenant(
    ops: OpsWorld, world: dict[str, Any], backup_env: None, tmp_path: Path
) -> None:
    admins = world["admins"]
    before = export_all(ops, admins, tmp_path / "before")
    archive = make_backup(ops, tmp_path / "backups")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert names[0] == "database.dump"
    assert names[-1] == "manifest.json"
    assert any(name.startswith("blobs/tenants/") for name in names)
    assert manifest["alembic_revision"]
    assert manifest["row_counts"]["documents"] >= 2 * 5
    assert set(manifest["files"]) == set(names) - {"manifest.json"}

    verified = cli(ops, "backup", "verify", str(archive))
    assert verified.exit_code == 0, verified.output
    assert "OK" in verified.output

    # Disaster: the database is gone (an empty one in its place) and so are the blobs.
    with psycopg.connect(ops.database.server.superuser_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{ops.name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{ops.name}" OWNER tynebase_owner')
    shutil.rmtree(ops.data_dir / "blobs")
    assert cli(ops, "tenant", "list", "--json").exit_code != 0

    restored = cli(ops, "backup", "restore", str(archive), "--yes")
    assert restored.exit_code == 0, restored.output
    assert "Previous database kept as" in " ".join(restored.output.split())
    after = export_all(ops, admins, tmp_path / "after")
    assert after == before
    listed = json.loads(cli(ops, "tenant", "list", "--json").stdout)
    assert {a.subdomain for a in admins} <= {t["subdomain"] for t in listed}
    # The restore itself is on the record (platform audit log of the restored database).
    trail = json.loads(
        cli(ops, "audit", "export", "--platform", "--format", "json", "--action", "backup.").stdout
    )
    assert [e["action"] for e in trail][-1] == "backup.restored"
    # The app role works on the restored database (grants restored, RLS on).
    with ops.app_role() as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM tenants").fetchone()[0] >= 2  # type: ignore[index]
    with psycopg.connect(ops.database.server.superuser_url, autocommit=True) as conn:
        leftovers = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{ops.name}_%",)
        ).fetchall()
        for (name,) in leftovers:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    kept = [n for (n,) in leftovers if "_pre_restore_" in n]
    assert len(kept) == 1  # the wiped database, kept for a change of mind
    assert len(leftovers) == 1  # and no scratch database


def test_verify_catches_a_damaged_archive(
    ops: OpsWorld, world: dict[str, Any], backup_env: None, tmp_path: Path
) -> None:
    archive = make_backup(ops, tmp_path)

    def flip(name: str, data: bytes) -> bytes:
        if name != "database.dump":
            return data
        middle = len(data) // 2
        return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]

    damaged = tmp_path / "damaged.tar"
    rewrite(archive, damaged, flip)
    result = cli(ops, "backup", "verify", str(damaged))
    assert result.exit_code == 1
    assert "BACKUP_CORRUPT" in result.output
    assert "database.dump does not match its checksum" in result.output

    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 3])
    result = cli(ops, "backup", "verify", str(truncated))
    assert result.exit_code == 1
    assert "BACKUP_CORRUPT" in result.output

    # A blob changed after the backup was made is caught too.
    lost_blob = tmp_path / "blob.tar"
    rewrite(archive, lost_blob, lambda n, d: d + b"x" if n.startswith("blobs/") else d)
    assert "BACKUP_CORRUPT" in cli(ops, "backup", "verify", str(lost_blob)).output

    # No archive at all is a failed backup operation, not a damaged archive.
    missing = cli(ops, "backup", "verify", str(tmp_path / "nowhere.tar"))
    assert missing.exit_code == 1
    assert "BACKUP_FAILED" in missing.output


def test_restore_refuses_another_schema_version_and_asks_first(
    ops: OpsWorld, world: dict[str, Any], backup_env: None, tmp_path: Path
) -> None:
    archive = make_backup(ops, tmp_path)

    def older(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["alembic_revision"] = "0001"
        return json.dumps(manifest).encode()

    old = tmp_path / "old.tar"
    rewrite(archive, old, older)
    before = databases(ops)
    result = cli(ops, "backup", "restore", str(old), "--yes")
    assert databases(ops) == before
    assert result.exit_code == 1
    assert "BACKUP_SCHEMA_MISMATCH" in result.output
    assert "holds schema 0001" in result.output

    before = databases(ops)
    declined = cli(ops, "backup", "restore", str(archive), input="n\n")
    assert declined.exit_code == 1
    assert "Aborted" in declined.output
    assert databases(ops) == before  # nothing was touched
    assert ops.name in before


def databases(ops: OpsWorld) -> list[str]:
    with psycopg.connect(ops.database.server.superuser_url, autocommit=True) as conn:
        return sorted(n for (n,) in conn.execute("SELECT datname FROM pg_database").fetchall())
