"""AI generation (AI-4): a prompt (and optionally source documents) becomes a draft document -
an article, a summary, an outline or a template - in a job with real progress.

Request (`do_start_generation`, in the request's transaction): the caller needs the contributor
role and must not have refused AI processing (403 CONSENT_REQUIRED); the job is queued and the
price of the operation on the model that will be asked first is reserved (403
INSUFFICIENT_CREDITS).

Job (`run_generation`, in the job's transaction): the model's answer is streamed and the job's
progress follows the text received; the draft is created with an `ai_generated` version and
lineage entry recording kind, provider, model and prompt; the credits are charged at the price of
the model that answered, in the same transaction that records the job as succeeded (so exactly
once). A provider failure fails the job with the provider layer's code (AI_TIMEOUT,
AI_QUOTA_EXCEEDED ...); the reservation is then released. Without a language model configured,
the offline extractive provider assembles the draft from the prompt and sources, and the draft
says so in its first line and in its lineage (`extractive: true`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.ai.chat import ChatMessage, llm_configured, stream_chat
from tynebase.ai.preferences import load_preferences
from tynebase.ai.providers import extractive
from tynebase.ai.providers.base import AIPreferences
from tynebase.ai.providers.config import LOCAL_PROVIDER, AITask
from tynebase.ai.providers.errors import AIBadResponse
from tynebase.ai.providers.registry import first_choice
from tynebase.auth.principal import Principal
from tynebase.consents import service as consents
from tynebase.credits import costs
from tynebase.credits import service as credits_service
from tynebase.documents import service as documents_service
from tynebase.jobs import service as jobs_service
from tynebase.jobs.acting import access_acting_principal
from tynebase.jobs.registry import JobContext
from tynebase.jobs.repo import Job
from tynebase.settings import Settings
from tynebase.tenants.repo import Tenant

GENERATE_KIND = "ai.generate"
Kind = Literal["article", "summary", "outline", "template"]
Length = Literal["short", "medium", "long"]
KINDS: tuple[str, ...] = ("article", "summary", "outline", "template")
MAX_TOKENS: dict[str, int] = {"short": 700, "medium": 1600, "long": 3200}
# About how much text a length gives (progress is the share of it received so far).
EXPECTED_CHARS: dict[str, int] = {"short": 1800, "medium": 4500, "long": 9000}
MAX_SOURCE_DOCUMENTS = 5
MAX_SOURCE_CHARS = 60_000
PROMPT_RECORD_CHARS = 4000  # of the prompt kept in the lineage
TITLE_CHARS = 200
EXTRACTIVE_LABEL = (
    "> Drafted offline by TyneBase's extractive provider (no language model is configured): "
    "the text below is taken from the prompt and the source documents, not written by a model."
)
_H1 = re.compile(r"^\s*#\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^```(?:markdown|md)?\s*\n(.*?)\n```\s*$", re.S)

_INSTRUCTIONS: dict[str, str] = {
    "article": (
        "Write a complete knowledge-base article in Markdown: one H1 title, a short "
        "introduction, sections with H2 headings, concrete and accurate details, lists where "
        "they help."
    ),
    "summary": (
        "Write a summary in Markdown: one H1 title, a short overview paragraph, then the key "
        "points as a bullet list. Keep only what the material says."
    ),
    "outline": (
        "Write an outline in Markdown: one H1 title, then the structure of the document as "
        "H2 headings with nested bullet points of what each section covers."
    ),
    "template": (
        "Write a reusable document template in Markdown: one H1 title, H2 sections, and under "
        "each a short italic hint of what to fill in, with placeholders like [Name] or [Date]."
    ),
}


@dataclass(frozen=True)
class GenerationRequest:
    kind: Kind
    prompt: str
    title: str | None = None
    tone: str | None = None
    language: str | None = None
    length: Length = "medium"
    document_ids: Sequence[UUID] = field(default_factory=tuple)
    category_id: UUID | None = None

    def payload(self, role: str) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "prompt": self.prompt,
            "options": {
                "title": self.title,
                "tone": self.tone,
                "language": self.language,
                "length": self.length,
                "document_ids": [str(d) for d in self.document_ids],
                "category_id": str(self.category_id) if self.category_id else None,
            },
            # The role the request acted with (an API key's scope may cap it).
            "role": role,
        }


async def check_ai_allowed(conn: AsyncConnection, principal: Principal) -> None:
    """What every AI feature asks first: a contributor who allows AI processing."""
    principal.check_role("contributor")
    await consents.require_consent(conn, principal.user_id, "ai_processing")


async def do_start_generation(
    conn: AsyncConnection,
    *,
    settings: Settings,
    principal: Principal,
    tenant: Tenant,
    request: GenerationRequest,
) -> tuple[Job, int, tuple[str, str]]:
    """Queue the generation; returns the job, the credits reserved (millis) and the
    (provider, model) they were priced on."""
    await check_ai_allowed(conn, principal)
    if request.title is not None:
        documents_service.check_content(title=request.title, body=None)
    if request.category_id is not None:
        await documents_service.check_category(conn, request.category_id)
    for document_id in request.document_ids:
        await documents_service.access_document(conn, principal=principal, document_id=document_id)
    preferences = await load_preferences(conn, tenant_id=tenant.id)
    provider, model = first_choice(settings, preferences, AITask.generate)
    job = await jobs_service.do_enqueue(
        conn,
        tenant_id=tenant.id,
        kind=GENERATE_KIND,
        payload=request.payload(principal.role),
        created_by=principal.user_id,
    )
    reservation = await credits_service.do_reserve(
        conn,
        settings=settings,
        tenant_id=tenant.id,
        tier=tenant.tier,
        operation=f"generate.{request.kind}",
        provider=provider,
        model=model,
        user_id=principal.user_id,
        job_id=job.id,
        details={"kind": request.kind},
    )
    return job, reservation.reserved_millis, (provider, model)


# --- the job ------------------------------------------------------------------------------------


def build_messages(
    kind: str, prompt: str, options: dict[str, Any], sources: Sequence[tuple[str, str]]
) -> list[ChatMessage]:
    system = [
        "You write for a company's internal knowledge base.",
        _INSTRUCTIONS[kind],
        "Answer with the Markdown document only, without code fences or commentary.",
    ]
    if options.get("tone"):
        system.append(f"Tone: {options['tone']}.")
    if options.get("language"):
        system.append(f"Write in {options['language']}.")
    if options.get("title"):
        system.append(f"Use this title: {options['title']}")
    messages = [ChatMessage("system", " ".join(system))]
    if sources:
        material = "\n\n".join(f"## Source: {title}\n\n{body}" for title, body in sources)
        messages.append(ChatMessage("user", f"Source material:\n\n{material}"))
    messages.append(ChatMessage("user", prompt))
    return messages


def extractive_draft(
    kind: str, prompt: str, options: dict[str, Any], sources: Sequence[tuple[str, str]]
) -> str:
    """The offline draft: sentences and structure taken from the prompt and the sources."""
    material = "\n\n".join([prompt, *(f"# {title}\n\n{body}" for title, body in sources)])
    title = options.get("title") or _title_from(prompt)
    if kind == "outline":
        text = extractive.outline(material, title=title)
    elif kind == "template":
        headings = [line.strip("#").strip() for line in material.splitlines() if _H1.match(line)]
        sections = headings[1:] or ["Context", "Details", "Next steps"]
        text = f"# {title}\n\n" + "\n\n".join(f"## {s}\n\n_[Write here]_" for s in sections)
    else:  # article, summary
        summary = extractive.summarize(material, max_words=400 if kind == "article" else 150)
        points = extractive.outline(material)
        text = f"# {title}\n\n{summary}\n\n## Key points\n\n{points}"
    return f"{EXTRACTIVE_LABEL}\n\n{text.strip()}\n"


def _title_from(prompt: str) -> str:
    words = " ".join(prompt.split())
    if len(words) <= 80:
        return words or "Untitled draft"
    return words[:80].rsplit(" ", 1)[0] + "…"


def split_title(markdown: str, fallback: str) -> tuple[str, str]:
    """(title, body): the first H1 becomes the title (and leaves the body)."""
    text = markdown.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    lines = text.split("\n")
    for index, line in enumerate(lines[:5]):
        match = _H1.match(line)
        if match:
            body = "\n".join(lines[:index] + lines[index + 1 :]).strip()
            return match.group(1)[:TITLE_CHARS], body + "\n"
    return fallback[:TITLE_CHARS], text + "\n"


async def load_sources(
    ctx: JobContext, principal: Principal, document_ids: Sequence[str]
) -> list[tuple[str, str]]:
    """Title and working text of each source the person may still read (cut to the budget)."""
    sources: list[tuple[str, str]] = []
    budget = MAX_SOURCE_CHARS
    for raw in document_ids:
        document = await documents_service.access_document(
            ctx.conn, principal=principal, document_id=UUID(raw)
        )
        body = document.editing_body
        sources.append((document.title, body[: max(0, budget)]))
        budget -= len(body)
    return sources


async def stream_with_progress(
    ctx: JobContext,
    *,
    preferences: AIPreferences,
    messages: list[ChatMessage],
    length: str,
    start: int = 15,
    end: int = 90,
) -> tuple[str, str, str]:
    """The model's answer, with the job's progress following the text received; (text,
    provider, model)."""
    expected = EXPECTED_CHARS.get(length, EXPECTED_CHARS["medium"])
    parts: list[str] = []
    received, reported, last_report = 0, start, time.monotonic()
    await ctx.report(start, "asking the model")
    async with stream_chat(
        ctx.settings,
        tenant_preference=preferences,
        messages=messages,
        max_tokens=MAX_TOKENS.get(length, MAX_TOKENS["medium"]),
        task=AITask.generate,
    ) as stream:
        async for delta in stream:
            parts.append(delta)
            received += len(delta)
            percent = start + int((end - start) * min(1.0, received / expected))
            # Each report is a transaction: at most one per 5 % and per quarter second.
            if percent >= reported + 5 and time.monotonic() - last_report >= 0.25:
                reported, last_report = percent, time.monotonic()
                await ctx.report(percent, f"{received} characters written by {stream.provider}")
        provider, model = stream.provider or "unknown", stream.model or "unknown"
    text = "".join(parts)
    if not text.strip():
        raise AIBadResponse(
            f"The AI provider {provider} answered with no text", provider=provider, model=model
        )
    return text, provider, model


@dataclass(frozen=True)
class Draft:
    title: str
    body: str
    provider: str
    model: str
    extractive: bool


async def compose_draft(
    ctx: JobContext,
    *,
    kind: str,
    prompt: str,
    options: dict[str, Any],
    sources: Sequence[tuple[str, str]],
    preferences: AIPreferences,
    start: int = 15,
    end: int = 90,
) -> Draft:
    """A draft of `kind` from the model (streamed, with progress from `start` to `end` %), or
    from the extractive provider when no model is configured (labelled as such)."""
    length = str(options.get("length") or "medium")
    if llm_configured(ctx.settings, tenant_preference=preferences, task=AITask.generate):
        messages = build_messages(kind, prompt, options, sources)
        text, provider, model = await stream_with_progress(
            ctx, preferences=preferences, messages=messages, length=length, start=start, end=end
        )
    else:
        await ctx.report(start, "assembling an extractive draft (no language model configured)")
        text = extractive_draft(kind, prompt, options, sources)
        provider, model = LOCAL_PROVIDER, "extractive"
    is_extractive = provider == LOCAL_PROVIDER
    title, body = split_title(text, options.get("title") or _title_from(prompt))
    if is_extractive and not body.startswith(EXTRACTIVE_LABEL):
        body = f"{EXTRACTIVE_LABEL}\n\n{body}"
    return Draft(title, body, provider, model, is_extractive)


async def run_generation(ctx: JobContext) -> dict[str, Any]:
    """The job: sources, the model's (or the extractive) draft, the document, the charge."""
    kind, prompt = str(ctx.payload["kind"]), str(ctx.payload["prompt"])
    options: dict[str, Any] = ctx.payload.get("options") or {}
    principal = await access_acting_principal(ctx, gone_code="AI_USER_GONE")
    await consents.require_consent(ctx.conn, principal.user_id, "ai_processing")
    await ctx.report(5, "reading the sources")
    sources = await load_sources(ctx, principal, options.get("document_ids") or [])
    preferences = await load_preferences(ctx.conn, tenant_id=ctx.tenant_id)
    draft = await compose_draft(
        ctx, kind=kind, prompt=prompt, options=options, sources=sources, preferences=preferences
    )
    title, body, provider, model, is_extractive = (
        draft.title,
        draft.body,
        draft.provider,
        draft.model,
        draft.extractive,
    )
    await ctx.report(95, "saving the draft")
    category = options.get("category_id")
    document = await documents_service.do_create(
        ctx.conn,
        principal=principal,
        tenant_id=ctx.tenant_id,
        title=options.get("title") or title,
        body=body,
        category_id=UUID(category) if category else None,
        version_reason="ai_generated",
        lineage_event="ai_generated",
        lineage_details={
            "operation": "generate",
            "kind": kind,
            "provider": provider,
            "model": model,
            "extractive": is_extractive,
            "prompt": prompt[:PROMPT_RECORD_CHARS],
            "options": {k: v for k, v in options.items() if v not in (None, [], "")},
            "job_id": str(ctx.job_id),
        },
    )
    operation = f"generate.{kind}"
    await credits_service.do_commit(
        ctx.conn,
        settings=ctx.settings,
        tenant_id=ctx.tenant_id,
        job_id=ctx.job_id,
        operation=operation,
        provider=provider,
        model=model,
        user_id=principal.user_id,
        details={"document_id": str(document.id)},
    )
    price = costs.cost_millis(ctx.settings, operation, provider=provider, model=model)
    return {
        "document_id": str(document.id),
        "title": document.title,
        "kind": kind,
        "provider": provider,
        "model": model,
        "extractive": is_extractive,
        "credits": costs.to_credits(price),
    }
