"""Verify and restore backups (OPS-7).

Both restore the dump into a scratch database first and check it there (schema revision, row
counts against the manifest, row-level security on every tenant table). `restore` then swaps
databases by renaming (the old one is kept as `<name>_pre_restore_<time>`), and blobs likewise
(the old directory is kept as `<dir>.pre-restore-<time>`): a failure before the swap leaves the
running data untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from tynebase.db.rls import UNPROTECTED_TENANT_TABLES_SQL
from tynebase.db.roles import grant_app_privileges
from tynebase.files.storage import BlobStore, LocalBlobStore, check_key
from tynebase.ops.backup import (
    BLOBS,
    CHUNK,
    BackupCorrupt,
    BackupError,
    Manifest,
    NoProgress,
    Progress,
    Target,
    alembic_revision,
    check_checksums,
    check_schema,
    extract_dump,
    open_archive,
    pg_tool,
    read_manifest,
    row_counts,
    run_tool,
)

MAINTENANCE_DB = "postgres"


@dataclass(frozen=True)
class Verified:
    manifest: Manifest
    tables: int
    rows: int
    blobs: int
    restorable_here: bool


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")


def _admin(target: Target) -> psycopg.Connection[Any]:
    return psycopg.connect(target.admin_on(MAINTENANCE_DB), autocommit=True)


def drop_database(target: Target, name: str) -> None:
    with _admin(target) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _restore_scratch(
    target: Target, tar: tarfile.TarFile, manifest: Manifest, *, app_role: str, progress: Progress
) -> str:
    """The dump restored into a new database, checked; returns its name (dropped on failure)."""
    name = f"{target.name}_restore_{_stamp()}"[:63]
    owner = make_url(target.urls.owner).username
    with _admin(target) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(owner or "postgres")
            )
        )
    try:
        with tempfile.TemporaryDirectory(prefix="tbrestore") as scratch:
            progress.stage("database", None)
            dump = extract_dump(tar, Path(scratch))
            run_tool(
                [
                    pg_tool("pg_restore"),
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={target.admin_on(name)}",
                    str(dump),
                ]
            )
        with psycopg.connect(target.admin_on(name), autocommit=True) as conn:
            # Per-database catalog settings the dump cannot carry (see db/embedded.py).
            # Not a superuser: `tynebase db check` will say what to run.
            with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
                conn.execute("ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF")
            grant_app_privileges(conn, role=app_role)
            _check_restored(conn, manifest)
        return name
    except BaseException:
        drop_database(target, name)
        raise


def _check_restored(conn: psycopg.Connection[Any], manifest: Manifest) -> None:
    revision = alembic_revision(conn)
    if revision != manifest.alembic_revision:
        raise BackupCorrupt(
            f"restored schema is at {revision}, the manifest says {manifest.alembic_revision}"
        )
    counts = row_counts(conn)
    different = {
        table: (counts.get(table), expected)
        for table, expected in manifest.row_counts.items()
        if counts.get(table) != expected
    }
    if different:
        raise BackupCorrupt(
            f"row counts differ from the manifest (restored, expected): {different}"
        )
    unprotected = [row[0] for row in conn.execute(UNPROTECTED_TENANT_TABLES_SQL).fetchall()]
    if unprotected:
        raise BackupCorrupt(
            f"tenant tables without row-level security after restore: {unprotected}"
        )
    row = conn.execute("SELECT count(*) FROM tenants").fetchone()  # a plain query answers
    if row is None or row[0] != manifest.row_counts.get("tenants", row[0]):
        raise BackupCorrupt("the restored database does not answer queries")


def verify(
    target: Target, archive: Path, *, app_role: str, progress: Progress | None = None
) -> Verified:
    """Checksums, then a full restore into a scratch database that is checked and dropped."""
    progress = progress or NoProgress()
    manifest = read_manifest(archive)
    check_checksums(archive, manifest, progress)
    with open_archive(archive) as tar:
        name = _restore_scratch(target, tar, manifest, app_role=app_role, progress=progress)
    drop_database(target, name)
    try:
        check_schema(manifest)
        restorable = True
    except BackupError:
        restorable = False
    return Verified(
        manifest=manifest,
        tables=len(manifest.row_counts),
        rows=sum(manifest.row_counts.values()),
        blobs=sum(1 for member in manifest.files if member.startswith(BLOBS)),
        restorable_here=restorable,
    )


def _extract_blobs(tar: tarfile.TarFile, into: Path, progress: Progress) -> int:
    count = 0
    for member in tar:
        if not member.name.startswith(BLOBS):
            continue
        key = check_key(member.name[len(BLOBS) :])  # refuses ../ and absolute paths
        source = tar.extractfile(member)
        assert source is not None
        path = into / key
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            shutil.copyfileobj(source, out, CHUNK)
        progress.advance(member.size)
        count += 1
    return count


def _swap_databases(target: Target, scratch: str) -> str:
    """Rename the live database away and the restored one into its place; returns the old name."""
    old = f"{target.name}_pre_restore_{_stamp()}"[:63]
    live, new, kept = (sql.Identifier(n) for n in (target.name, scratch, old))
    with _admin(target) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(live))
        try:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (target.name,),
            )
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(live, kept))
        except psycopg.Error:
            conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(live))
            raise
        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(new, live))
    return old


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    previous_database: str
    previous_blobs: Path | None
    blobs: int


async def _upload_blobs(store: BlobStore, staged: Path, paths: list[Path]) -> None:
    for path in paths:
        await store.put_file(path.relative_to(staged).as_posix(), path)


def restore(
    target: Target,
    archive: Path,
    *,
    store: BlobStore,
    app_role: str,
    progress: Progress | None = None,
) -> Restored:
    """Replace the database and the blobs with the archive's (schema version must match)."""
    progress = progress or NoProgress()
    manifest = read_manifest(archive)
    check_schema(manifest)
    check_checksums(archive, manifest, progress)
    stamp = _stamp()
    local_root = store.root if isinstance(store, LocalBlobStore) else None
    staged = (
        local_root.with_name(f"{local_root.name}.restore-{stamp}")
        if local_root
        else Path(tempfile.mkdtemp(prefix="tbblobs", dir=store.staging_dir))
    )
    with open_archive(archive) as tar:
        scratch = _restore_scratch(target, tar, manifest, app_role=app_role, progress=progress)
    try:
        with open_archive(archive) as tar:
            progress.stage("blobs", sum(int(f["size"]) for f in manifest.files.values()))
            blobs = _extract_blobs(tar, staged, progress)
        (staged / ".staging").mkdir(parents=True, exist_ok=True)
        previous_database = _swap_databases(target, scratch)
    except BaseException:
        drop_database(target, scratch)
        shutil.rmtree(staged, ignore_errors=True)
        raise
    previous_blobs = None
    if local_root is not None:
        if local_root.exists():
            previous_blobs = local_root.with_name(f"{local_root.name}.pre-restore-{stamp}")
            local_root.rename(previous_blobs)
        staged.rename(local_root)
    else:
        try:
            paths = sorted(p for p in (staged / "tenants").rglob("*") if p.is_file())
            asyncio.run(_upload_blobs(store, staged, paths))
        finally:
            shutil.rmtree(staged, ignore_errors=True)
    return Restored(
        manifest=manifest,
        previous_database=previous_database,
        previous_blobs=previous_blobs,
        blobs=blobs,
    )
