"""Read a tenant archive into an EMPTY tenant (see `archive` for the format). Runs inside the
caller's unit of work with the target tenant set: one transaction, so a failed import leaves
no rows (and the blobs it wrote are removed)."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.documents.models import documents
from tynebase.errors import Conflict, ValidationFailed
from tynebase.export import archive
from tynebase.export.archive import SPECS, TableSpec
from tynebase.files.models import files
from tynebase.files.storage import CHUNK_BYTES, BlobStore, staged_file, tenant_key
from tynebase.jobs import service as jobs_service
from tynebase.rag.indexing import REINDEX_ALL_KIND
from tynebase.taxonomy.models import categories
from tynebase.tenants.repo import Tenant
from tynebase.users import repo as users_repo

BATCH_ROWS = 500
# Tables whose rows make a tenant "not empty" for an import (memberships and jobs do not).
CONTENT_TABLES = tuple(spec.table for spec in SPECS)


def invalid(message: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(message, code="INVALID_ARCHIVE", details=details)


@dataclass
class ImportSummary:
    counts: dict[str, int] = field(default_factory=dict)
    people_created: list[str] = field(default_factory=list)
    blobs: int = 0


async def check_empty(conn: AsyncConnection) -> None:
    """An import only goes into a workspace without content: nothing is merged or overwritten."""
    found = {}
    for table in CONTENT_TABLES:
        exists = await conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1))
        if exists.first() is not None:
            found[table.name] = True
    if found:
        raise Conflict(
            "The workspace already has content; import only into an empty workspace",
            code="TENANT_NOT_EMPTY",
            details={"tables": sorted(found)},
        )


def read_manifest(zf: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(zf.read(archive.MANIFEST))
    except (KeyError, ValueError) as exc:
        raise invalid("The archive has no readable manifest.json") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != archive.FORMAT:
        raise invalid("This is not a TyneBase tenant archive")
    if manifest.get("version") != archive.VERSION:
        raise invalid(
            f"Archive format version {manifest.get('version')!r} is not supported",
            supported=[archive.VERSION],
        )
    return manifest


def _lines(zf: zipfile.ZipFile, member: str) -> Iterator[dict[str, Any]]:
    try:
        handle = zf.open(member)
    except KeyError:
        raise invalid(f"The archive has no {member}", member=member) from None
    with handle:
        for number, line in enumerate(handle, 1):
            try:
                row = json.loads(line)
            except ValueError:
                raise invalid(f"{member} line {number} is not JSON", member=member) from None
            if not isinstance(row, dict):
                raise invalid(f"{member} line {number} is not an object", member=member)
            yield row


def _parents_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {row["id"]: row for row in rows}
    placed: set[str] = set()
    ordered: list[dict[str, Any]] = []

    def place(row: dict[str, Any], trail: tuple[str, ...]) -> None:
        if row["id"] in placed:
            return
        parent = row.get("parent_id")
        if parent is not None:
            if parent in trail or parent not in by_id:
                raise invalid("Categories do not form a tree", category=row["id"])
            place(by_id[parent], (*trail, row["id"]))
        placed.add(row["id"])
        ordered.append(row)

    for row in rows:
        place(row, (row["id"],))
    return ordered


class _Reader:
    def __init__(self, tenant: Tenant, people: dict[str, UUID]) -> None:
        self.tenant = tenant
        self.key = archive.id_key(tenant.id)
        self.people = people
        self.known: set[str] = set()  # archive ids of rows lineage details may name

    def _map_detail(self, value: str) -> str:
        return str(archive.map_id(UUID(value), self.key)) if value in self.known else value

    def _person(self, ref: Any) -> UUID | None:
        if ref is None:
            return None
        if isinstance(ref, str) and ref.startswith(archive.GONE_USER_PREFIX):
            return UUID(ref[len(archive.GONE_USER_PREFIX) :])
        if ref not in self.people:
            raise invalid("A row names a person missing from people.jsonl", person=str(ref))
        return self.people[ref]

    def decode(self, spec: TableSpec, row: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {"tenant_id": self.tenant.id}
        try:
            for column in spec.columns:
                name = column.name
                if name in spec.people:
                    values[name] = self._person(row[archive.person_key(name)])
                    continue
                value = row[name]
                if name in spec.entity and value is not None:
                    value = archive.map_id(UUID(value), self.key)
                elif name == "details":
                    value = archive.map_details(value, self._map_detail)
                elif value is not None and isinstance(column.type, sa.DateTime):
                    value = datetime.fromisoformat(value)
                values[name] = value
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise invalid(f"A row of {spec.member} is malformed", member=spec.member) from exc
        if spec.table in archive.DETAIL_ID_TABLES:
            self.known.add(row["id"])
        if spec.table is files:
            values["storage_key"] = self.storage_key(row, values["id"])
        if spec.table.name == "shares":
            # A fresh secret nobody holds: the link exists (and shows in lists) but cannot be
            # opened until its owner makes a new one.
            values["token_hash"] = hashlib.sha256(secrets.token_bytes(32)).digest()
        return values

    def storage_key(self, row: dict[str, Any], file_id: UUID) -> str:
        template = row.get("key_template")
        if not isinstance(template, str):
            raise invalid("A file row has no key_template", member="files.jsonl")
        try:
            return tenant_key(self.tenant.id, *template.replace("{id}", str(file_id)).split("/"))
        except ValueError as exc:
            raise invalid("A file row has an unusable key_template") from exc


async def _people(
    conn: AsyncConnection, zf: zipfile.ZipFile, summary: ImportSummary
) -> dict[str, UUID]:
    """Email -> user id in this installation; people it does not know get an account without
    password or membership (they keep their authorship; invite them to give them access)."""
    found: dict[str, UUID] = {}
    for row in _lines(zf, archive.PEOPLE):
        email, name = row.get("email"), row.get("name")
        if not isinstance(email, str) or not isinstance(name, str) or "@" not in email:
            raise invalid("people.jsonl has a malformed row", member=archive.PEOPLE)
        user = await users_repo.get_user_by_email(conn, email)
        if user is None:
            user = await users_repo.insert_user(
                conn, email=email, name=name, password_hash=None, confirmed_at=None
            )
            summary.people_created.append(user.email)
        found[email] = user.id
    return found


async def _copy_blob(
    zf: zipfile.ZipFile, store: BlobStore, *, sha256: str, size: int, key: str
) -> None:
    member = archive.BLOBS + sha256
    digest, copied = hashlib.sha256(), 0
    with staged_file(store) as staged:
        try:
            source = zf.open(member)
        except KeyError:
            raise invalid(f"The archive has no {member}", member=member) from None
        with source, staged.open("wb") as out:
            while chunk := source.read(CHUNK_BYTES):
                digest.update(chunk)
                copied += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256 or copied != size:
            raise invalid("A file's bytes do not match its checksum", member=member)
        await store.put_file(key, staged)


async def _insert(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(table.insert(), rows)
        rows.clear()


async def do_import(
    conn: AsyncConnection, *, tenant: Tenant, blobs: BlobStore, zf: zipfile.ZipFile
) -> ImportSummary:
    """Import the archive into `tenant`, which must be empty (TENANT_NOT_EMPTY otherwise)."""
    manifest = read_manifest(zf)
    await check_empty(conn)
    summary = ImportSummary()
    reader = _Reader(tenant, await _people(conn, zf, summary))
    written: list[str] = []
    try:
        for spec in SPECS:
            rows = _lines(zf, spec.member)
            if spec.table is categories:
                rows = iter(_parents_first(list(rows)))
            batch: list[dict[str, Any]] = []
            count = 0
            for row in rows:
                values = reader.decode(spec, row)
                if spec.table is files:
                    await _copy_blob(
                        zf,
                        blobs,
                        sha256=values["sha256"],
                        size=values["size_bytes"],
                        key=values["storage_key"],
                    )
                    written.append(values["storage_key"])
                    summary.blobs += 1
                batch.append(values)
                count += 1
                if len(batch) >= BATCH_ROWS:
                    await _insert(conn, spec.table, batch)
            await _insert(conn, spec.table, batch)
            summary.counts[spec.table.name] = count
        if summary.counts != manifest.get("counts"):
            raise invalid(
                "The archive's rows do not match its manifest",
                expected=manifest.get("counts"),
                found=summary.counts,
            )
    except BaseException:
        for key in written:  # the transaction rolls back; do not leave its blobs behind
            await blobs.delete(key)
        raise
    if summary.counts.get(documents.name):
        # Search chunks are derived data, not archived: index what was imported.
        await jobs_service.do_enqueue(
            conn, tenant_id=tenant.id, kind=REINDEX_ALL_KIND, payload={}, created_by=None
        )
    return summary
