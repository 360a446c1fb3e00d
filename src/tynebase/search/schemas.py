from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field


class SnippetOut(BaseModel):
    text: str = Field(description="Plain text (not HTML)")
    highlights: list[tuple[int, int]] = Field(
        description="[start, end) character offsets of the matches in `text`"
    )
    html: str = Field(description="`text` HTML-escaped, matches wrapped in <mark>")


class SearchHitOut(BaseModel):
    id: UUID
    title: str
    title_highlights: list[tuple[int, int]]
    status: str
    visibility: str
    category_id: UUID | None
    author_id: UUID | None
    updated_at: datetime
    rank: float
    snippet: SnippetOut


class SearchPageOut(BaseModel):
    mode: str
    items: list[SearchHitOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end")
