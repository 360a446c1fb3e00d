"""AI routes: POST /api/ai/generate, /api/ai/enhance, /api/ai/enhance/apply, /api/ai/transcribe.

Generation and transcription answer 202 with a job (progress and result at GET /api/jobs/{id});
enhance answers with its suggestions at once. Each AI call counts against the workspace's AI rate
limit (TYNEBASE_RATE_LIMIT_AI_PER_TENANT), needs the AI-processing consent (403
CONSENT_REQUIRED) and credits (403 INSUFFICIENT_CREDITS); provider failures answer with the
provider layer's codes (AI_TIMEOUT, AI_QUOTA_EXCEEDED ...).
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from tynebase.ai import enhance, generation, transcription
from tynebase.ai.generation_schemas import (
    AIJobOut,
    ApplyIn,
    ApplyOut,
    EnhanceIn,
    EnhanceOut,
    GenerateIn,
    TranscribeIn,
)
from tynebase.api.deps import AuthCtx, RequestContext, authenticated_unit_of_work, bearer
from tynebase.api.schemas import COMMON_ERRORS, error_responses
from tynebase.documents import service as documents_service
from tynebase.documents.schemas import document_out

router = APIRouter(
    prefix="/api/ai",
    tags=["ai"],
    responses={**COMMON_ERRORS, **error_responses(415, 502, 504)},
)


async def _limit(ctx: RequestContext) -> None:
    try:
        await ctx.state.limiter.check_ai_tenant(str(ctx.tenant.id))
    except Exception:
        ctx.state.metrics.rate_limited.labels("ai_per_tenant").inc()
        raise


@router.post("/generate", status_code=202)
async def generate(body: GenerateIn, ctx: AuthCtx) -> AIJobOut:
    """Draft an article, summary, outline or template from a prompt (and optionally source
    documents). Without a language model configured, the offline extractive provider assembles
    the draft and the draft says so."""
    await _limit(ctx)
    options = body.options
    job, millis, choice = await generation.do_start_generation(
        ctx.conn,
        settings=ctx.state.settings,
        principal=ctx.principal,
        tenant=ctx.tenant,
        request=generation.GenerationRequest(
            kind=body.kind,
            prompt=body.prompt,
            title=options.title,
            tone=options.tone,
            language=options.language,
            length=options.length,
            document_ids=tuple(options.document_ids),
            category_id=options.category_id,
        ),
    )
    return AIJobOut.of(job.id, job.kind, job.status, millis, choice)


@router.post("/enhance")
async def enhance_document(
    body: EnhanceIn,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> EnhanceOut:
    """A 0-100 score and concrete suggestions for the document's working text, each with a
    stable id and an exact edit; apply chosen ones with POST /api/ai/enhance/apply."""
    async with authenticated_unit_of_work(request, credentials) as ctx:
        await _limit(ctx)
        prepared = await enhance.check_enhance(
            ctx.conn,
            settings=ctx.state.settings,
            principal=ctx.principal,
            tenant=ctx.tenant,
            document_id=body.document_id,
        )
    state, tenant, principal = ctx.state, ctx.tenant, ctx.principal
    try:
        score, suggestions, metrics, provider, model = await enhance.suggest(
            state.settings, prepared
        )
    except BaseException as exc:
        # The model failed (or the client left): the credits go back, even while cancelled.
        with anyio.CancelScope(shield=True):
            async with state.db.unit_of_work(tenant.id) as conn:
                await enhance.do_release(
                    conn, prepared=prepared, reason=getattr(exc, "code", type(exc).__name__)
                )
        raise
    async with state.db.unit_of_work(tenant.id) as conn:
        result = await enhance.do_record(
            conn,
            settings=state.settings,
            tenant=tenant,
            principal=principal,
            prepared=prepared,
            score=score,
            suggestions=suggestions,
            metrics=metrics,
            provider=provider,
            model=model,
        )
    return EnhanceOut.of(result)


@router.post("/enhance/apply")
async def apply_suggestions(body: ApplyIn, ctx: AuthCtx) -> ApplyOut:
    """Apply suggestions by id: a new version of a draft (reason `ai_generated`), or the
    pending draft of a published document. 409 ENHANCE_STALE if the text changed since."""
    applied = await enhance.do_apply(
        ctx.conn,
        principal=ctx.principal,
        document_id=body.document_id,
        suggestion_ids=body.suggestion_ids,
    )
    tags = await documents_service.tags_of(ctx.conn, applied.document.id)
    return ApplyOut.of(applied, document_out(ctx.principal, applied.document, tags))


@router.post("/transcribe", status_code=202)
async def transcribe(body: TranscribeIn, ctx: AuthCtx) -> AIJobOut:
    """Transcribe a stored audio or video file (POST /api/files first) into a transcript, a
    summary and an article draft."""
    await _limit(ctx)
    job, millis, choice = await transcription.do_start_transcription(
        ctx.conn,
        settings=ctx.state.settings,
        principal=ctx.principal,
        tenant=ctx.tenant,
        file_id=body.file_id,
        language=body.language,
        title=body.title,
    )
    return AIJobOut.of(job.id, job.kind, job.status, millis, choice)
