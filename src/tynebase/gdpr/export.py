"""A person's data export (GDPR-1): a zip of JSON files and their uploads, streamed as made.

Layout::

    manifest.json        who, which workspace, when, counts per section
    profile.json         the account (no password hash)
    memberships.json     every workspace the account belongs to, with role and status
    consents.json        current consents and their history
    sessions.json        sessions in this workspace (device, IP, times)
    api_keys.json        API keys in this workspace (names and prefixes, never secrets)
    documents.json       documents they authored here, each with all its versions
    uploads.json         their uploads here; the bytes under uploads/<id>/<filename>
    chats.json           their conversations here, with messages
    audit.json           audit entries about them here (as actor or as target)

Example::

    async with db.unit_of_work(tenant.id) as conn:
        async for chunk in export.stream_zip(conn, store=store, user_id=uid, tenant=tenant):
            ...
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import IO, Any, cast
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit.models import audit_log
from tynebase.audit.service import entry_dict
from tynebase.auth.models import api_keys, auth_sessions
from tynebase.consents.models import user_consent_events
from tynebase.consents.service import get_consents
from tynebase.db.engine import set_user
from tynebase.db.metadata import AnyRow
from tynebase.documents.models import document_versions, documents
from tynebase.export.archive import member_info
from tynebase.export.zipstream import ChunkSink
from tynebase.files.models import files
from tynebase.files.storage import BlobStore
from tynebase.gdpr.erasure import access_user
from tynebase.rag.models import chat_messages, chat_sessions
from tynebase.taxonomy.models import document_tags, tags
from tynebase.tenants.models import tenants
from tynebase.tenants.repo import Tenant
from tynebase.users.models import memberships, users

FORMAT = "tynebase-personal-export/1"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return None  # hashes and secrets never leave
    return value


def _row(row: AnyRow, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: _plain(v) for k, v in row._mapping.items() if k not in skip}


def _safe_name(filename: str) -> str:
    name = filename.replace("/", "_").replace("\\", "_").strip(". ") or "file"
    return name[:200]


async def _rows(conn: AsyncConnection, query: sa.Select[Any]) -> list[AnyRow]:
    return list((await conn.execute(query)).all())


async def collect(conn: AsyncConnection, *, user_id: UUID, tenant: Tenant) -> dict[str, Any]:
    """Every JSON section of the export (the transaction's tenant is `tenant`)."""
    user = await access_user(conn, user_id=user_id)
    profile = _row(
        (await conn.execute(sa.select(users).where(users.c.id == user_id))).one(),
        skip=("password_hash", "failed_logins", "first_failed_login_at", "locked_until"),
    )
    await set_user(conn, user_id)  # own memberships in every workspace
    member_rows = await _rows(
        conn,
        sa.select(
            tenants.c.subdomain,
            tenants.c.name.label("workspace"),
            memberships.c.role,
            memberships.c.status,
            memberships.c.created_at.label("joined_at"),
        )
        .select_from(memberships.join(tenants, tenants.c.id == memberships.c.tenant_id))
        .where(memberships.c.user_id == user_id)
        .order_by(memberships.c.created_at),
    )
    consents = await get_consents(conn, user_id)
    consent_events = await _rows(
        conn,
        sa.select(
            user_consent_events.c.kind,
            user_consent_events.c.granted,
            user_consent_events.c.created_at,
        )
        .where(user_consent_events.c.user_id == user_id)
        .order_by(user_consent_events.c.id),
    )
    sessions = await _rows(
        conn,
        sa.select(auth_sessions)
        .where(auth_sessions.c.user_id == user_id, auth_sessions.c.tenant_id == tenant.id)
        .order_by(auth_sessions.c.created_at),
    )
    keys = await _rows(
        conn,
        sa.select(api_keys).where(api_keys.c.user_id == user_id).order_by(api_keys.c.created_at),
    )
    docs = await _rows(
        conn,
        sa.select(documents)
        .where(documents.c.author_id == user_id)
        .order_by(documents.c.created_at, documents.c.id),
    )
    doc_ids = [d.id for d in docs]
    versions: dict[UUID, list[dict[str, Any]]] = {}
    for v in await _rows(
        conn,
        sa.select(document_versions)
        .where(document_versions.c.document_id.in_(doc_ids))
        .order_by(document_versions.c.document_id, document_versions.c.number),
    ):
        versions.setdefault(v.document_id, []).append(_row(v, skip=("tenant_id", "document_id")))
    doc_tags: dict[UUID, list[str]] = {}
    for t in await _rows(
        conn,
        sa.select(document_tags.c.document_id, tags.c.name)
        .join(tags, tags.c.id == document_tags.c.tag_id)
        .where(document_tags.c.document_id.in_(doc_ids))
        .order_by(tags.c.name),
    ):
        doc_tags.setdefault(t.document_id, []).append(t.name)
    chats = await _rows(
        conn,
        sa.select(chat_sessions)
        .where(chat_sessions.c.user_id == user_id)
        .order_by(chat_sessions.c.created_at),
    )
    messages: dict[UUID, list[dict[str, Any]]] = {}
    for m in await _rows(
        conn,
        sa.select(chat_messages)
        .where(chat_messages.c.session_id.in_([c.id for c in chats]))
        .order_by(chat_messages.c.id),
    ):
        messages.setdefault(m.session_id, []).append(_row(m, skip=("tenant_id", "session_id")))
    audit = await _rows(
        conn,
        sa.select(audit_log)
        .where(
            audit_log.c.tenant_id == tenant.id,
            sa.or_(
                audit_log.c.actor_user_id == user_id,
                audit_log.c.target_id == str(user_id),
                audit_log.c.actor_label == user.email,
            ),
        )
        .order_by(audit_log.c.occurred_at, audit_log.c.id),
    )
    return {
        "profile": profile,
        "memberships": [_row(m) for m in member_rows],
        "consents": {
            "ai_processing": consents.ai_processing,
            "knowledge_indexing": consents.knowledge_indexing,
            "analytics": consents.analytics,
            "updated_at": _plain(consents.updated_at),
            "history": [_row(e) for e in consent_events],
        },
        "sessions": [_row(s, skip=("tenant_id", "user_id")) for s in sessions],
        "api_keys": [_row(k, skip=("tenant_id", "user_id", "key_hash")) for k in keys],
        "documents": [
            {
                **_row(d, skip=("tenant_id", "search_vector")),
                "tags": doc_tags.get(d.id, []),
                "versions": versions.get(d.id, []),
            }
            for d in docs
        ],
        "chats": [
            {**_row(c, skip=("tenant_id", "user_id")), "messages": messages.get(c.id, [])}
            for c in chats
        ],
        "audit": [entry_dict(a) for a in audit],
    }


async def _uploads(conn: AsyncConnection, *, user_id: UUID) -> list[AnyRow]:
    return await _rows(
        conn,
        sa.select(files).where(files.c.created_by == user_id).order_by(files.c.created_at),
    )


async def stream_zip(
    conn: AsyncConnection, *, store: BlobStore, user_id: UUID, tenant: Tenant
) -> AsyncIterator[bytes]:
    """The export zip, chunk by chunk (upload bytes are copied through, never held whole)."""
    sections = await collect(conn, user_id=user_id, tenant=tenant)
    uploads = await _uploads(conn, user_id=user_id)
    sink = ChunkSink()
    zf = zipfile.ZipFile(cast(IO[bytes], sink), "w")

    def put(name: str, data: Any) -> bytes:
        text = json.dumps(data, indent=2, ensure_ascii=False, default=_plain)
        zf.writestr(member_info(name), text.encode())
        return sink.take()

    upload_entries = []
    for row in uploads:
        path = f"uploads/{row.id}/{_safe_name(row.filename)}"
        upload_entries.append(
            {**_row(row, skip=("tenant_id", "storage_key", "created_by")), "path": path}
        )
    yield put(
        "manifest.json",
        {
            "format": FORMAT,
            "user_id": str(user_id),
            "workspace": tenant.subdomain,
            "exported_at": datetime.now(UTC).isoformat(),
            "counts": {
                **{k: len(v) for k, v in sections.items() if isinstance(v, list)},
                "uploads": len(uploads),
            },
        },
    )
    for name, data in sections.items():
        yield put(f"{name}.json", data)
    yield put("uploads.json", upload_entries)
    for row, entry in zip(uploads, upload_entries, strict=True):
        if not await store.exists(row.storage_key):
            continue  # listed in uploads.json; a lost blob is `tynebase files check`'s finding
        info = member_info(entry["path"])
        with zf.open(info, "w", force_zip64=True) as out:
            async for chunk in store.read(row.storage_key):
                out.write(chunk)
                yield sink.take()
        yield sink.take()
    zf.close()
    yield sink.take()
