"""The Markdown zip (DOC-9): one `.md` file per document the caller may read, in a folder per
category path ("Uncategorised" for none), with YAML front matter (title, status, tags, ...).

    Engineering/Backend/Deploy checklist.md
    ---
    title: "Deploy checklist"
    status: published
    tags: ["ops", "release"]
    ...
    ---

    <body>
"""

from __future__ import annotations

import json
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, cast
from uuid import UUID

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.documents.access import readable_clause
from tynebase.documents.models import documents
from tynebase.export.archive import member_info
from tynebase.export.zipstream import ChunkSink
from tynebase.taxonomy.models import categories, document_tags, tags
from tynebase.users.models import users

UNCATEGORISED = "Uncategorised"
MAX_SEGMENT_CHARS = 100
BATCH_ROWS = 200
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(10)),
    *(f"LPT{i}" for i in range(10)),
}


def safe_segment(name: str, fallback: str = "untitled") -> str:
    """A file or folder name any unzip tool accepts on any OS (no separators, no `..`)."""
    cleaned = _UNSAFE.sub("-", unicodedata.normalize("NFC", name))
    cleaned = " ".join(cleaned.split()).strip(" .-")[:MAX_SEGMENT_CHARS].strip(" .")
    if not cleaned:
        return fallback
    if cleaned.split(".")[0].upper() in _RESERVED:
        cleaned = "_" + cleaned
    return cleaned


def category_paths(rows: list[tuple[UUID, UUID | None, str]]) -> dict[UUID, tuple[str, ...]]:
    parents = {cid: (parent, name) for cid, parent, name in rows}
    paths: dict[UUID, tuple[str, ...]] = {}

    def path(cid: UUID, seen: frozenset[UUID] = frozenset()) -> tuple[str, ...]:
        if cid in paths:
            return paths[cid]
        parent, name = parents[cid]
        above = (
            ()
            if parent is None or parent in seen or parent not in parents
            else path(parent, seen | {cid})
        )
        paths[cid] = (*above, safe_segment(name, "category"))
        return paths[cid]

    for cid in parents:
        path(cid)
    return paths


def _yaml(value: Any) -> str:
    # JSON scalars and lists are valid YAML flow values (and need no YAML library to write).
    if isinstance(value, datetime):
        value = value.isoformat()
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class MarkdownDocument:
    id: UUID
    title: str
    body: str
    status: str
    visibility: str
    category: tuple[str, ...]
    tags: list[str]
    author: str | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    def text(self) -> str:
        front = {
            "title": self.title,
            "status": self.status,
            "visibility": self.visibility,
            "category": "/".join(self.category) if self.category else None,
            "tags": self.tags,
            "author": self.author,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "published_at": self.published_at,
            "id": str(self.id),
        }
        lines = [f"{key}: {_yaml(value)}" for key, value in front.items()]
        return "---\n" + "\n".join(lines) + "\n---\n\n" + self.body


class Paths:
    """Unique archive paths: a second "Notes.md" in a folder becomes "Notes (2).md"."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, folder: tuple[str, ...], title: str) -> str:
        stem = "/".join((*folder, safe_segment(title)))
        candidate, n = f"{stem}.md", 1
        while candidate.casefold() in self._taken:
            n += 1
            candidate = f"{stem} ({n}).md"
        self._taken.add(candidate.casefold())
        return candidate


async def _tags_by_document(conn: AsyncConnection) -> dict[UUID, list[str]]:
    rows = await conn.execute(
        sa.select(document_tags.c.document_id, tags.c.name)
        .join(tags, sa.and_(tags.c.id == document_tags.c.tag_id))
        .order_by(document_tags.c.document_id, tags.c.name)
    )
    found: dict[UUID, list[str]] = defaultdict(list)
    for document_id, name in rows:
        found[document_id].append(name)
    return found


async def stream_zip(conn: AsyncConnection, *, principal: Principal) -> AsyncIterator[bytes]:
    """The zip's bytes, chunk by chunk, for the documents `principal` may read."""
    rows = await conn.execute(sa.select(categories.c.id, categories.c.parent_id, categories.c.name))
    paths = category_paths([(row.id, row.parent_id, row.name) for row in rows])
    doc_tags = await _tags_by_document(conn)
    query = (
        sa.select(
            documents.c.id,
            documents.c.title,
            documents.c.body,
            documents.c.status,
            documents.c.visibility,
            documents.c.category_id,
            users.c.email.label("author"),
            documents.c.created_at,
            documents.c.updated_at,
            documents.c.published_at,
        )
        .select_from(documents.outerjoin(users, users.c.id == documents.c.author_id))
        .where(readable_clause(principal))
        .order_by(documents.c.created_at, documents.c.id)
        .execution_options(yield_per=BATCH_ROWS)
    )
    sink, names = ChunkSink(), Paths()
    zf = zipfile.ZipFile(cast(IO[bytes], sink), "w")
    batch: list[MarkdownDocument] = []

    def write(docs: list[MarkdownDocument]) -> bytes:
        for doc in docs:
            folder = doc.category or (UNCATEGORISED,)
            zf.writestr(member_info(names.claim(folder, doc.title)), doc.text().encode())
        return sink.take()

    def close() -> bytes:
        zf.close()
        return sink.take()

    result = await conn.stream(query)
    async for row in result:
        batch.append(
            MarkdownDocument(
                id=row.id,
                title=row.title,
                body=row.body,
                status=row.status,
                visibility=row.visibility,
                category=paths.get(row.category_id, ()) if row.category_id else (),
                tags=doc_tags.get(row.id, []),
                author=row.author,
                created_at=row.created_at,
                updated_at=row.updated_at,
                published_at=row.published_at,
            )
        )
        if len(batch) >= BATCH_ROWS:
            yield await _in_thread(write, batch)
            batch = []
    if batch:
        yield await _in_thread(write, batch)
    yield await _in_thread(lambda _: close(), [])


async def _in_thread(
    work: Callable[[list[MarkdownDocument]], bytes], docs: list[MarkdownDocument]
) -> bytes:
    # Compressing is CPU work: keep it off the event loop.
    return await anyio.to_thread.run_sync(work, docs)
