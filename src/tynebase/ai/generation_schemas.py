"""Request and response shapes of the AI routes (generate, enhance, transcribe)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tynebase.ai.enhance import Applied, Enhancement
from tynebase.ai.enhance_rules import Suggestion
from tynebase.ai.generation import MAX_SOURCE_DOCUMENTS
from tynebase.credits.costs import to_credits
from tynebase.documents.schemas import DocumentOut


def _storable(value: str) -> str:
    """Text that PostgreSQL can store (in a job's JSON payload): no NUL, valid UTF-8."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


Text = Annotated[str, AfterValidator(_storable)]


class GenerateOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text | None = Field(default=None, max_length=500)
    tone: Text | None = Field(default=None, max_length=40)  # "friendly", "formal" ...
    language: Text | None = Field(default=None, max_length=40)
    length: Literal["short", "medium", "long"] = "medium"
    # Documents (that the caller may read) to write from: their text goes to the model.
    document_ids: list[UUID] = Field(default_factory=list, max_length=MAX_SOURCE_DOCUMENTS)
    category_id: UUID | None = None


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["article", "summary", "outline", "template"]
    prompt: Text = Field(min_length=1, max_length=20_000)
    options: GenerateOptions = Field(default_factory=GenerateOptions)


class AIJobOut(BaseModel):
    """A queued AI job: follow it at GET /api/jobs/{job_id}."""

    job_id: UUID
    kind: str
    status: str
    credits_reserved: float
    provider: str  # asked first (the chain may fall back; the charge follows who answered)
    model: str

    @classmethod
    def of(
        cls, job_id: UUID, kind: str, status: str, millis: int, choice: tuple[str, str]
    ) -> AIJobOut:
        return cls(
            job_id=job_id,
            kind=kind,
            status=status,
            credits_reserved=to_credits(millis),
            provider=choice[0],
            model=choice[1],
        )


class EnhanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_id: UUID


class EditOut(BaseModel):
    op: Literal["replace", "insert"]
    start: int  # character offsets into the text that was enhanced
    end: int
    text: str  # the new text
    expect: str  # the text there now


class SuggestionOut(BaseModel):
    id: str  # stable: the same text gets the same ids
    kind: str
    message: str
    source: str  # "rules" or "model"
    edit: EditOut

    @classmethod
    def of(cls, suggestion: Suggestion) -> SuggestionOut:
        edit = suggestion.edit
        return cls(
            id=suggestion.id,
            kind=suggestion.kind,
            message=suggestion.message,
            source=suggestion.source,
            edit=EditOut(
                op=edit.op, start=edit.start, end=edit.end, text=edit.text, expect=edit.expect
            ),
        )


class EnhanceOut(BaseModel):
    enhancement_id: UUID
    document_id: UUID
    version: int
    text_sha256: str
    score: int  # 0-100
    provider: str
    model: str  # "rules" when no language model took part
    extractive: bool  # True: the offline rules alone (no language model configured)
    metrics: dict[str, Any]
    suggestions: list[SuggestionOut]
    credits: float  # charged

    @classmethod
    def of(cls, result: Enhancement) -> EnhanceOut:
        return cls(
            enhancement_id=result.id,
            document_id=result.document_id,
            version=result.version,
            text_sha256=result.text_sha256,
            score=result.score,
            provider=result.provider,
            model=result.model,
            extractive=result.extractive,
            metrics=result.metrics,
            suggestions=[SuggestionOut.of(s) for s in result.suggestions],
            credits=result.credits,
        )


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_id: UUID
    suggestion_ids: list[Annotated[Text, Field(max_length=100)]] = Field(
        min_length=1, max_length=100
    )


class ApplyOut(BaseModel):
    applied: list[str]
    version: int | None  # the new version; null when it went into the pending draft
    pending_draft: bool
    document: DocumentOut

    @classmethod
    def of(cls, applied: Applied, document: DocumentOut) -> ApplyOut:
        return cls(
            applied=applied.applied,
            version=applied.version,
            pending_draft=applied.pending_draft,
            document=document,
        )


class TranscribeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file_id: UUID  # an audio or video file stored with POST /api/files
    language: Text | None = Field(default=None, max_length=20)  # e.g. "en"; None: detected
    title: Text | None = Field(default=None, max_length=400)
