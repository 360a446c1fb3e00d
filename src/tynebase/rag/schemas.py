from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

SourceState = Literal["never_indexed", "stale", "failed", "ok"]


class SourceOut(BaseModel):
    document_id: UUID
    title: str
    status: str = Field(description="The document's status (draft, in_review, published)")
    current_version: int
    state: SourceState
    queued: bool = Field(description="An indexing run is waiting")
    indexed_version: int | None
    indexed_at: datetime | None
    chunk_count: int
    embedder: str | None
    error: dict[str, Any] | None = Field(description="{code, message} of the failed run")


class SourcesPageOut(BaseModel):
    items: list[SourceOut]
    counts: dict[str, int] = Field(description="Documents of the workspace in each state")
    next_cursor: str | None


class ReindexIn(BaseModel):
    document_id: UUID | None = Field(
        default=None, description="One document (editors); leave out for all (admins)"
    )


class ReindexOut(BaseModel):
    job_ids: list[UUID]


class CitationOut(BaseModel):
    n: int
    document_id: UUID
    version_id: UUID | None
    version_number: int
    chunk_id: UUID
    title: str
    snippet: str


class ChatIn(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    session_id: UUID | None = Field(default=None, description="Continue this conversation")


class ChatMessageOut(BaseModel):
    id: int
    role: str
    content: str
    answer_kind: str | None
    citations: list[dict[str, Any]]
    created_at: datetime


class ChatSessionOut(BaseModel):
    id: UUID
    title: str
    created_at: datetime
    updated_at: datetime


class ChatSessionDetailOut(ChatSessionOut):
    messages: list[ChatMessageOut]
