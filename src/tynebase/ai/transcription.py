"""Transcription (FILE-5): an uploaded audio or video file becomes three drafts - the
transcript, a summary and an article - through a transcription-capable provider, in a job.

`do_start_transcription` (request): contributor, AI-processing consent, a readable audio/video
file (415 UNSUPPORTED_TRANSCRIPTION_FORMAT otherwise), a provider that transcribes (503
AI_NOT_CONFIGURED otherwise), the "transcribe" price reserved. `run_transcription` (job): the
recording goes to the provider (OpenAI-compatible `/v1/audio/transcriptions`, Gemini ...), then
the summary and article are drafted from the transcript like `tynebase.ai.generation` drafts
(extractive, and labelled so, without a language model). All three documents, the file's
attachment to the transcript and the charge commit with the job.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.ai.generation import (
    PROMPT_RECORD_CHARS,
    check_ai_allowed,
    compose_draft,
)
from tynebase.ai.preferences import load_preferences
from tynebase.ai.providers.adapters import get_transcriber
from tynebase.ai.providers.config import AITask
from tynebase.ai.providers.errors import AINotConfigured
from tynebase.ai.providers.registry import first_choice
from tynebase.auth.principal import Principal
from tynebase.consents import service as consents
from tynebase.credits import costs
from tynebase.credits import service as credits_service
from tynebase.documents import service as documents_service
from tynebase.errors import NotFound
from tynebase.files import repo as files_repo
from tynebase.files import service as files_service
from tynebase.files.errors import UnsupportedFileType
from tynebase.files.repo import StoredFile
from tynebase.files.storage import BlobNotFound, open_blob_store
from tynebase.jobs import service as jobs_service
from tynebase.jobs.acting import access_acting_principal
from tynebase.jobs.registry import JobContext, JobFailed
from tynebase.jobs.repo import Job
from tynebase.settings import Settings
from tynebase.tenants.repo import Tenant

TRANSCRIBE_KIND = "ai.transcribe"
OPERATION = "transcribe"
MEDIA_KINDS = ("audio", "video")


def check_transcribable(file: StoredFile) -> None:
    if file.kind not in MEDIA_KINDS:
        raise UnsupportedFileType(
            f"Files of type {file.content_type} cannot be transcribed; upload audio or video",
            code="UNSUPPORTED_TRANSCRIPTION_FORMAT",
            details={"content_type": file.content_type, "kinds": list(MEDIA_KINDS)},
        )


async def do_start_transcription(
    conn: AsyncConnection,
    *,
    settings: Settings,
    principal: Principal,
    tenant: Tenant,
    file_id: UUID,
    language: str | None,
    title: str | None,
) -> tuple[Job, int, tuple[str, str]]:
    """Queue the transcription of a stored recording; (job, millis reserved, priced on)."""
    await check_ai_allowed(conn, principal)
    file = await files_service.access_file(conn, principal=principal, file_id=file_id)
    check_transcribable(file)
    if title is not None:
        documents_service.check_content(title=title, body=None)
    preferences = await load_preferences(conn, tenant_id=tenant.id)
    provider, model = first_choice(settings, preferences, AITask.transcribe)
    job = await jobs_service.do_enqueue(
        conn,
        tenant_id=tenant.id,
        kind=TRANSCRIBE_KIND,
        payload={
            "file_id": str(file.id),
            "language": language,
            "title": title,
            "role": principal.role,
        },
        created_by=principal.user_id,
    )
    reservation = await credits_service.do_reserve(
        conn,
        settings=settings,
        tenant_id=tenant.id,
        tier=tenant.tier,
        operation=OPERATION,
        provider=provider,
        model=model,
        user_id=principal.user_id,
        job_id=job.id,
        details={"file_id": str(file.id)},
    )
    return job, reservation.reserved_millis, (provider, model)


async def _read(ctx: JobContext, file: StoredFile) -> bytes:
    data = bytearray()
    try:
        async for chunk in open_blob_store(ctx.settings).read(file.storage_key):
            data += chunk
    except BlobNotFound as exc:
        raise JobFailed("The recording is missing from storage", code="FILE_NOT_FOUND") from exc
    return bytes(data)


async def run_transcription(ctx: JobContext) -> dict[str, Any]:
    """The job: transcript, then summary and article drafts, then the charge."""
    principal = await access_acting_principal(ctx, gone_code="AI_USER_GONE")
    await consents.require_consent(ctx.conn, principal.user_id, "ai_processing")
    try:
        file = await files_service.access_file(
            ctx.conn, principal=principal, file_id=UUID(ctx.payload["file_id"])
        )
    except NotFound as exc:
        raise JobFailed("The recording was deleted", code="FILE_NOT_FOUND") from exc
    check_transcribable(file)
    preferences = await load_preferences(ctx.conn, tenant_id=ctx.tenant_id)
    transcriber = get_transcriber(ctx.settings, tenant_preference=preferences)
    if transcriber is None:
        raise AINotConfigured(
            "No AI provider is configured for transcription; see TYNEBASE_AI_PROVIDERS",
            provider="none",
            details={"task": "transcribe"},
        )
    await ctx.report(5, "reading the recording")
    audio = await _read(ctx, file)
    await ctx.report(15, f"transcribing {file.filename}")
    transcript = await transcriber.transcribe(
        audio,
        filename=file.filename,
        content_type=file.content_type,
        language=ctx.payload.get("language"),
    )
    text = transcript.text.strip()
    if not text:
        raise JobFailed("No speech was found in this recording", code="TRANSCRIPT_EMPTY")
    name = ctx.payload.get("title") or PurePosixPath(file.filename).stem or "Recording"
    lineage = {
        "operation": "transcribe",
        "file": str(file.id),
        "filename": file.filename,
        "provider": transcript.provider,
        "model": transcript.model,
        "language": transcript.language,
        "duration_seconds": transcript.duration_seconds,
        "job_id": str(ctx.job_id),
    }
    transcript_doc = await documents_service.do_create(
        ctx.conn,
        principal=principal,
        tenant_id=ctx.tenant_id,
        title=f"Transcript: {name}"[:500],
        body=text + "\n",
        version_reason="ai_generated",
        lineage_event="ai_generated",
        lineage_details=lineage,
    )
    await files_repo.set_document(ctx.conn, file.id, transcript_doc.id)
    drafts: dict[str, Any] = {}
    for kind, (start, end) in (("summary", (45, 65)), ("article", (70, 90))):
        prompt = (
            f"Write the {kind} of this recording's transcript ({file.filename}); use only "
            f"what is said in it.\n\nTranscript:\n\n{text}"
        )
        draft = await compose_draft(
            ctx,
            kind=kind,
            prompt=prompt,
            options={"length": "medium"},
            sources=[],
            preferences=preferences,
            start=start,
            end=end,
        )
        document = await documents_service.do_create(
            ctx.conn,
            principal=principal,
            tenant_id=ctx.tenant_id,
            title=draft.title if not draft.extractive else f"{kind.title()}: {name}"[:500],
            body=draft.body,
            version_reason="ai_generated",
            lineage_event="ai_generated",
            lineage_details={
                "operation": f"transcribe.{kind}",
                "kind": kind,
                "provider": draft.provider,
                "model": draft.model,
                "extractive": draft.extractive,
                "prompt": prompt[:PROMPT_RECORD_CHARS],
                "transcript_document": str(transcript_doc.id),
                "job_id": str(ctx.job_id),
            },
        )
        drafts[kind] = {"document_id": str(document.id), "extractive": draft.extractive}
    await ctx.report(95, "saving the drafts")
    await credits_service.do_commit(
        ctx.conn,
        settings=ctx.settings,
        tenant_id=ctx.tenant_id,
        job_id=ctx.job_id,
        operation=OPERATION,
        provider=transcript.provider,
        model=transcript.model,
        user_id=principal.user_id,
        details={"transcript_document_id": str(transcript_doc.id)},
    )
    price = costs.cost_millis(
        ctx.settings, OPERATION, provider=transcript.provider, model=transcript.model
    )
    return {
        "transcript_document_id": str(transcript_doc.id),
        "summary_document_id": drafts["summary"]["document_id"],
        "article_document_id": drafts["article"]["document_id"],
        "summary_extractive": drafts["summary"]["extractive"],
        "article_extractive": drafts["article"]["extractive"],
        "file_id": str(file.id),
        "provider": transcript.provider,
        "model": transcript.model,
        "language": transcript.language,
        "duration_seconds": transcript.duration_seconds,
        "credits": costs.to_credits(price),
    }
