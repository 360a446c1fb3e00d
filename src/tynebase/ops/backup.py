"""Backups (OPS-7): one tar archive with the database (pg_dump custom format), every blob of the
blob store and `manifest.json` (versions, row counts, SHA-256 of every member).

The dump is taken by a role that bypasses row-level security (the embedded server's superuser,
or `TYNEBASE_BACKUP_DATABASE_URL`): the owner is held to FORCE RLS and would dump no rows. Row
counts are read in the very snapshot pg_dump uses (`--snapshot`), so verify and restore can
compare them exactly.

Layout of the archive::

    database.dump            pg_dump -Fc
    blobs/tenants/<id>/...   the blob store's keys
    manifest.json            last: written once every checksum is known
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from tynebase import __version__
from tynebase.db.engine import DatabaseUrls, libpq_url
from tynebase.db.migrate import FOREIGN_TABLE_PREFIXES, head_revision
from tynebase.errors import TynebaseError
from tynebase.files.storage import BlobStore

FORMAT = "tynebase-backup"
VERSION = 1
MANIFEST = "manifest.json"
DUMP = "database.dump"
BLOBS = "blobs/"
CHUNK = 1024 * 1024
BLOB_PREFIX = "tenants"


class BackupError(TynebaseError):
    code = "BACKUP_FAILED"


class BackupCorrupt(BackupError):
    code = "BACKUP_CORRUPT"


class Progress(Protocol):
    """How long operations report (the CLI draws rich progress bars)."""

    def stage(self, name: str, total: int | None) -> None: ...

    def advance(self, amount: int) -> None: ...


class NoProgress:
    def stage(self, name: str, total: int | None) -> None:
        return None

    def advance(self, amount: int) -> None:
        return None


@dataclass(frozen=True)
class Target:
    """The database to back up or restore: the app's URLs plus a role that bypasses RLS and may
    create databases (`admin`, on the server's maintenance database)."""

    urls: DatabaseUrls
    admin: str  # libpq URL of a superuser/BYPASSRLS role, any database on the server

    @property
    def name(self) -> str:
        database = make_url(self.urls.owner).database
        assert database, "the database URL names no database"
        return database

    def admin_on(self, database: str) -> str:
        return libpq_url(make_url(self.admin).set(database=database).render_as_string(False))


@dataclass
class Manifest:
    app_version: str
    alembic_revision: str | None
    created_at: str
    database: str
    server_version: str
    row_counts: dict[str, int]
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # member -> sha256, size
    blob_store: str = "local"

    def as_json(self) -> bytes:
        return json.dumps(
            {"format": FORMAT, "version": VERSION, **self.__dict__}, indent=1, sort_keys=True
        ).encode()

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            if data.pop("format") != FORMAT or data.pop("version") != VERSION:
                raise ValueError("format")
            return cls(**data)
        except (ValueError, TypeError, KeyError) as exc:
            raise BackupCorrupt("manifest.json is not a TyneBase backup manifest") from exc


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: the embedded server's own (same major version) or from PATH."""
    try:
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / name
        if bundled.exists():
            return str(bundled)
    except ImportError:  # pragma: no cover - pgserver is a dependency
        pass
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools")
    return found


def run_tool(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {result.stderr.strip()[:2000]}")


TABLES_SQL = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1
"""


def row_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Rows per table of ours (library tables such as the job queue's are left out)."""
    counts = {}
    for (table,) in conn.execute(TABLES_SQL).fetchall():
        if table.startswith(FOREIGN_TABLE_PREFIXES):
            continue
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        row = conn.execute(query).fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


def alembic_revision(conn: psycopg.Connection[Any]) -> str | None:
    try:
        with conn.transaction():
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    return str(row[0]) if row else None


def sha256_of(handle: IO[bytes], *, progress: Progress | None = None) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if progress is not None:
            progress.advance(len(chunk))
    return digest.hexdigest(), size


def _add_file(tar: tarfile.TarFile, name: str, path: Path, manifest: Manifest) -> None:
    with path.open("rb") as handle:
        sha, size = sha256_of(handle)
        handle.seek(0)
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, int(time.time()), 0o600
        tar.addfile(info, handle)
    manifest.files[name] = {"sha256": sha, "size": size}


async def _add_blobs(
    tar: tarfile.TarFile, store: BlobStore, manifest: Manifest, progress: Progress
) -> None:
    blobs = await store.list_blobs(BLOB_PREFIX)
    progress.stage("blobs", sum(blob.size for blob in blobs))
    for blob in blobs:
        digest, size = hashlib.sha256(), 0
        with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK) as spool:
            async for chunk in store.read(blob.key):
                spool.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                progress.advance(len(chunk))
            spool.seek(0)
            info = tarfile.TarInfo(BLOBS + blob.key)
            info.size, info.mtime, info.mode = size, int(blob.modified.timestamp()), 0o600
            tar.addfile(info, spool)
        manifest.files[BLOBS + blob.key] = {"sha256": digest.hexdigest(), "size": size}


def create(
    target: Target, *, store: BlobStore, out_dir: Path, progress: Progress | None = None
) -> tuple[Path, Manifest]:
    """Write `tynebase-backup-<time>.tar` into `out_dir` (via `.partial`, renamed when whole)."""
    progress = progress or NoProgress()
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    archive = out_dir / f"tynebase-backup-{stamp:%Y%m%dT%H%M%S%fZ}.tar"
    partial = archive.with_name(archive.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="tbbackup") as scratch:
        dump = Path(scratch) / DUMP
        # One snapshot for the row counts and the dump; held open until pg_dump has finished.
        with psycopg.connect(target.admin_on(target.name)) as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert snapshot is not None
            manifest = Manifest(
                app_version=__version__,
                alembic_revision=alembic_revision(conn),
                created_at=stamp.isoformat(),
                database=target.name,
                server_version=str(conn.info.server_version),
                row_counts=row_counts(conn),
                blob_store=type(store).__name__,
            )
            progress.stage("database", None)
            run_tool(
                [
                    pg_tool("pg_dump"),
                    "--format=custom",
                    f"--snapshot={snapshot[0]}",
                    f"--file={dump}",
                    f"--dbname={target.admin_on(target.name)}",
                ]
            )
            conn.rollback()
        progress.advance(dump.stat().st_size)
        try:
            with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
                _add_file(tar, DUMP, dump, manifest)
                asyncio.run(_add_blobs(tar, store, manifest, progress))
                raw = manifest.as_json()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime = len(raw), int(time.time())
                with tempfile.SpooledTemporaryFile() as spool:
                    spool.write(raw)
                    spool.seek(0)
                    tar.addfile(info, spool)
            partial.replace(archive)
        finally:
            partial.unlink(missing_ok=True)
    return archive, manifest


@contextmanager
def open_archive(path: Path) -> Iterator[tarfile.TarFile]:
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    try:
        with tarfile.open(path, "r:") as tar:
            yield tar
    except tarfile.TarError as exc:
        raise BackupCorrupt(f"{path} is not a readable backup archive: {exc}") from exc


def read_manifest(path: Path) -> Manifest:
    with open_archive(path) as tar:
        try:
            member = tar.extractfile(MANIFEST)
        except KeyError:
            raise BackupCorrupt(f"{path} has no {MANIFEST}") from None
        if member is None:
            raise BackupCorrupt(f"{MANIFEST} in {path} is not a file")
        return Manifest.parse(member.read())


def check_checksums(path: Path, manifest: Manifest, progress: Progress | None = None) -> None:
    """Every member listed, present once, with its size and SHA-256; nothing unlisted."""
    progress = progress or NoProgress()
    progress.stage("checksums", sum(int(f["size"]) for f in manifest.files.values()))
    seen: set[str] = set()
    with open_archive(path) as tar:
        for member in tar:
            if member.name == MANIFEST:
                continue
            expected = manifest.files.get(member.name)
            if expected is None or member.name in seen or not member.isfile():
                raise BackupCorrupt(f"unexpected member {member.name} in {path.name}")
            seen.add(member.name)
            handle = tar.extractfile(member)
            assert handle is not None
            sha, size = sha256_of(handle, progress=progress)
            if (sha, size) != (expected["sha256"], expected["size"]):
                raise BackupCorrupt(
                    f"{member.name} does not match its checksum: the archive is damaged"
                )
    missing = set(manifest.files) - seen
    if missing:
        raise BackupCorrupt(f"{len(missing)} member(s) missing, e.g. {sorted(missing)[0]}")


def check_schema(manifest: Manifest) -> None:
    """Refuse an archive made by another schema version (no silent half-upgrades)."""
    head = head_revision()
    if manifest.alembic_revision != head:
        raise BackupError(
            f"this backup holds schema {manifest.alembic_revision} (TyneBase "
            f"{manifest.app_version}); this TyneBase {__version__} needs {head}. Restore it with "
            "the TyneBase version that made it, then run `tynebase db upgrade`",
            code="BACKUP_SCHEMA_MISMATCH",
        )


def extract_dump(tar: tarfile.TarFile, into: Path) -> Path:
    member = tar.extractfile(DUMP)
    if member is None:
        raise BackupCorrupt(f"{DUMP} missing")
    target = into / DUMP
    with target.open("wb") as out:
        shutil.copyfileobj(member, out, CHUNK)
    return target
