"""Write a tenant's archive (see `archive` for the format). Runs inside the caller's unit of
work with the tenant set, so RLS limits every read to that tenant."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase import __version__
from tynebase.db.metadata import AnyRow
from tynebase.errors import TynebaseError
from tynebase.export import archive
from tynebase.export.archive import SPECS, TableSpec
from tynebase.files.models import files
from tynebase.files.storage import BlobNotFound, BlobStore
from tynebase.tenants.repo import Tenant
from tynebase.users.models import users


class BlobMismatch(TynebaseError):
    status = 500
    code = "BLOB_MISMATCH"


@dataclass
class ExportSummary:
    counts: dict[str, int] = field(default_factory=dict)
    people: int = 0
    blobs: int = 0
    blob_bytes: int = 0


@dataclass
class _People:
    """User id -> archived reference (email), and the people named so far."""

    by_id: dict[UUID, tuple[str, str]]
    used: dict[str, str] = field(default_factory=dict)  # email -> name

    def ref(self, user_id: UUID | None) -> str | None:
        if user_id is None:
            return None
        found = self.by_id.get(user_id)
        if found is None:  # only where no foreign key holds it (lineage actors)
            return archive.GONE_USER_PREFIX + str(user_id)
        email, name = found
        self.used[email] = name
        return email


async def _load_people(conn: AsyncConnection) -> _People:
    referenced = [
        sa.select(spec.table.c[column].label("user_id")) for spec in SPECS for column in spec.people
    ]
    ids = sa.union(*referenced).subquery()
    rows = await conn.execute(
        sa.select(users.c.id, users.c.email, users.c.name).where(users.c.id.in_(sa.select(ids)))
    )
    return _People(by_id={row.id: (row.email, row.name) for row in rows})


async def _entity_ids(conn: AsyncConnection) -> set[UUID]:
    found: set[UUID] = set()
    for table in archive.DETAIL_ID_TABLES:
        found.update((await conn.execute(sa.select(table.c.id))).scalars())
    return found


def _order(spec: TableSpec, key: int) -> list[sa.ColumnElement[Any]]:
    table = spec.table
    if not spec.order:
        return [table.c.id]  # lineage: the order it was written in
    order: list[sa.ColumnElement[Any]] = []
    for column in spec.order:
        if column in spec.entity:
            order.append(archive.sql_sort_key(table.c[column], key))
        elif column in spec.people:
            email = sa.select(users.c.email).where(users.c.id == table.c[column])
            order.append(email.scalar_subquery())
        else:
            order.append(table.c[column])
    return order


class _Writer:
    def __init__(self, tenant: Tenant, known: set[UUID], people: _People) -> None:
        self.tenant = tenant
        self.key = archive.id_key(tenant.id)
        self.known = {str(i) for i in known}
        self.people = people

    def _map_detail(self, value: str) -> str:
        return str(archive.map_id(UUID(value), self.key)) if value in self.known else value

    def encode(self, spec: TableSpec, row: AnyRow) -> dict[str, Any]:
        values = row._mapping
        out: dict[str, Any] = {}
        for column in spec.columns:
            value = values[column.name]
            if column.name in spec.people:
                out[archive.person_key(column.name)] = self.people.ref(value)
                continue
            if column.name in spec.entity and value is not None:
                value = archive.map_id(value, self.key)
            elif column.name == "details":
                value = archive.map_details(value, self._map_detail)
            out[column.name] = archive.encode_value(value)
        if spec.table is files:
            out["key_template"] = self.key_template(values["storage_key"], values["id"])
        return out

    def key_template(self, storage_key: str, file_id: UUID) -> str:
        prefix = f"tenants/{self.tenant.id}/"
        if not storage_key.startswith(prefix):
            raise BlobMismatch(
                f"file {file_id} is stored outside the workspace's prefix",
                details={"file_id": str(file_id)},
            )
        return storage_key[len(prefix) :].replace(str(file_id), "{id}")


async def _write_blob(
    zf: zipfile.ZipFile, store: BlobStore, *, storage_key: str, sha256: str, size: int
) -> int:
    digest, written = hashlib.sha256(), 0
    info = archive.member_info(archive.BLOBS + sha256, compress=False)
    with zf.open(info, "w", force_zip64=size > 2**30) as out:
        try:
            async for chunk in store.read(storage_key):
                digest.update(chunk)
                written += len(chunk)
                out.write(chunk)
        except BlobNotFound:
            raise BlobMismatch(
                "A file's bytes are missing from the blob store",
                details={"storage_key": storage_key},
            ) from None
    if digest.hexdigest() != sha256 or written != size:
        raise BlobMismatch(
            "A file's bytes do not match its recorded checksum",
            details={"storage_key": storage_key, "sha256": sha256},
        )
    return written


async def do_export(
    conn: AsyncConnection, *, tenant: Tenant, blobs: BlobStore, out: IO[bytes]
) -> ExportSummary:
    """Write the tenant's archive to `out` (a binary file; seekable or not)."""
    writer = _Writer(tenant, await _entity_ids(conn), await _load_people(conn))
    summary = ExportSummary()
    pending_blobs: dict[str, tuple[str, int]] = {}  # sha256 -> (a storage key, size)
    with zipfile.ZipFile(out, "w") as zf:
        for spec in SPECS:
            count = 0
            query = sa.select(*spec.table.columns).order_by(*_order(spec, writer.key))
            info = archive.member_info(spec.member)
            with zf.open(info, "w", force_zip64=True) as member:
                result = await conn.stream(query.execution_options(yield_per=500))
                async for row in result:
                    member.write(archive.dump_line(writer.encode(spec, row)))
                    count += 1
                    if spec.table is files:
                        pending_blobs.setdefault(row.sha256, (row.storage_key, row.size_bytes))
            summary.counts[spec.table.name] = count
        for sha256 in sorted(pending_blobs):
            storage_key, size = pending_blobs[sha256]
            summary.blob_bytes += await _write_blob(
                zf, blobs, storage_key=storage_key, sha256=sha256, size=size
            )
            summary.blobs += 1
        people = sorted(writer.people.used.items())
        summary.people = len(people)
        with zf.open(archive.member_info(archive.PEOPLE), "w") as member:
            for email, name in people:
                member.write(archive.dump_line({"email": email, "name": name}))
        manifest = {
            "format": archive.FORMAT,
            "version": archive.VERSION,
            "counts": summary.counts,
            "people": summary.people,
            "blobs": summary.blobs,
            "source": {
                "subdomain": tenant.subdomain,
                "name": tenant.name,
                "tier": tenant.tier,
                "exported_at": datetime.now(UTC).isoformat(),
                "tynebase_version": __version__,
            },
        }
        zf.writestr(
            archive.member_info(archive.MANIFEST),
            json.dumps(manifest, sort_keys=True, indent=1).encode(),
        )
    return summary
