"""AI enhance (AI-4): a score and concrete suggestions for a document, and applying chosen ones
as a new version.

`do_enhance` runs in three steps so that no database transaction waits on a model:
1. (`check_enhance`, request transaction) access, role, consent, the price reserved;
2. (`suggest`, no transaction) the rules' suggestions (`enhance_rules`), plus, with a language
   model configured, the model's, each turned into an exact edit of the text;
3. (`do_record`, a second transaction) the suggestions stored under the text's hash, the price
   charged - or, when the model failed, released (the error goes back to the caller).

`do_apply` applies suggestions by id to the text they were made for (409 ENHANCE_STALE if it
changed since): on a draft as a new version (reason `ai_generated`), on a published document into
its pending draft, with an `ai_generated` lineage entry either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.ai.chat import ChatMessage, complete_chat, llm_configured
from tynebase.ai.enhance_models import ai_enhancements
from tynebase.ai.enhance_rules import (
    Edit,
    Suggestion,
    analyse,
    apply_edits,
    make_suggestion,
    overlapping,
    text_hash,
)
from tynebase.ai.generation import check_ai_allowed
from tynebase.ai.preferences import load_preferences
from tynebase.ai.providers.base import AIPreferences
from tynebase.ai.providers.config import LOCAL_PROVIDER, AITask
from tynebase.ai.providers.errors import AIBadResponse
from tynebase.ai.providers.registry import first_choice
from tynebase.auth.principal import Principal
from tynebase.credits import costs
from tynebase.credits import service as credits_service
from tynebase.credits.repo import Charge
from tynebase.documents import access as document_access
from tynebase.documents import editing, lineage
from tynebase.documents import repo as documents_repo
from tynebase.documents import service as documents_service
from tynebase.documents.repo import Document
from tynebase.errors import Conflict, NotFound
from tynebase.settings import Settings
from tynebase.tenants.repo import Tenant

OPERATION = "enhance"
MAX_MODEL_SUGGESTIONS = 10
MODEL_TEXT_CHARS = 30_000  # of the document sent to the model
_JSON = re.compile(r"\{.*\}", re.S)
_SYSTEM = (
    "You review documents of a company knowledge base for clarity, structure, grammar and "
    "style. Reply with JSON only, no commentary: "
    '{"score": <0-100>, "suggestions": [{"kind": "clarity|grammar|structure|style", '
    '"message": "<why, one sentence>", "find": "<exact text copied from the document>", '
    '"replace": "<the improved text>"}]}. At most 10 suggestions; each "find" must appear in '
    "the document exactly as written."
)


@dataclass(frozen=True)
class Prepared:
    document: Document
    text: str
    preferences: AIPreferences
    reservation: Charge


@dataclass(frozen=True)
class Enhancement:
    id: UUID
    document_id: UUID
    version: int
    text_sha256: str
    score: int
    provider: str
    model: str
    extractive: bool
    suggestions: list[Suggestion]
    metrics: dict[str, Any]
    credits: float


async def check_enhance(
    conn: AsyncConnection,
    *,
    settings: Settings,
    principal: Principal,
    tenant: Tenant,
    document_id: UUID,
) -> Prepared:
    """Step 1: who may, on what, and the price reserved (a reservation without a job lapses
    after TYNEBASE_CREDIT_RESERVATION_TTL_SECONDS if this process dies before step 3)."""
    await check_ai_allowed(conn, principal)
    document = await documents_service.access_document(
        conn, principal=principal, document_id=document_id
    )
    preferences = await load_preferences(conn, tenant_id=tenant.id)
    provider, model = first_choice(settings, preferences, AITask.generate)
    reservation = await credits_service.do_reserve(
        conn,
        settings=settings,
        tenant_id=tenant.id,
        tier=tenant.tier,
        operation=OPERATION,
        provider=provider,
        model=model,
        user_id=principal.user_id,
        details={"document_id": str(document_id)},
    )
    return Prepared(document, document.editing_body, preferences, reservation)


def _model_suggestions(
    text: str, answer: str, provider: str, model: str
) -> tuple[int | None, list[Suggestion]]:
    match = _JSON.search(answer)
    try:
        data = orjson.loads(match.group(0)) if match else None
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("suggestions", []), list):
        raise AIBadResponse(
            f"The AI provider {provider} did not answer with the suggestions asked for",
            provider=provider,
            model=model,
            reason="unexpected_shape",
        )
    score = data.get("score")
    sha = text_hash(text)
    found: list[Suggestion] = []
    for item in data.get("suggestions", [])[:MAX_MODEL_SUGGESTIONS]:
        if not isinstance(item, dict):
            continue
        find, replace = item.get("find"), item.get("replace")
        if not isinstance(find, str) or not isinstance(replace, str) or not find or find == replace:
            continue
        start = text.find(find)
        if start < 0:
            continue  # the model misquoted the text: nothing exact to apply
        edit = Edit("replace", start, start + len(find), replace, find)
        kind = str(item.get("kind") or "clarity")[:40]
        message = str(item.get("message") or "Suggested rewording")[:500]
        found.append(make_suggestion(sha, kind, message, edit, source="model"))
    valid_score = int(score) if isinstance(score, int | float) and 0 <= score <= 100 else None
    return valid_score, found


async def suggest(
    settings: Settings, prepared: Prepared
) -> tuple[int, list[Suggestion], dict[str, Any], str, str]:
    """Step 2 (no transaction): score, suggestions, metrics, provider, model."""
    text = prepared.text
    score, suggestions, metrics = analyse(text)
    if not llm_configured(settings, tenant_preference=prepared.preferences, task=AITask.generate):
        return score, suggestions, metrics, LOCAL_PROVIDER, "rules"
    document = prepared.document
    result = await complete_chat(
        settings,
        tenant_preference=prepared.preferences,
        task=AITask.generate,
        messages=[
            ChatMessage("system", _SYSTEM),
            ChatMessage(
                "user", f"Title: {document.title}\n\nDocument:\n\n{text[:MODEL_TEXT_CHARS]}"
            ),
        ],
        max_tokens=1500,
        temperature=0.2,
    )
    if result.extractive:  # the chain fell back to the offline provider: rules only
        return score, suggestions, metrics, result.provider, "rules"
    model_score, extra = _model_suggestions(text, result.text, result.provider, result.model)
    known = {s.id for s in suggestions}
    suggestions += [s for s in extra if s.id not in known]
    if model_score is not None:
        score = round((score + model_score) / 2)
    return score, suggestions, metrics, result.provider, result.model


async def do_record(
    conn: AsyncConnection,
    *,
    settings: Settings,
    tenant: Tenant,
    principal: Principal,
    prepared: Prepared,
    score: int,
    suggestions: list[Suggestion],
    metrics: dict[str, Any],
    provider: str,
    model: str,
) -> Enhancement:
    """Step 3: keep the suggestions for `do_apply` and charge the reservation."""
    document = prepared.document
    sha = text_hash(prepared.text)
    row = (
        await conn.execute(
            ai_enhancements.insert()
            .values(
                tenant_id=tenant.id,
                document_id=document.id,
                text_sha256=sha,
                score=score,
                provider=provider,
                model=model,
                suggestions=[s.as_dict() for s in suggestions],
                created_by=principal.user_id,
            )
            .returning(ai_enhancements.c.id)
        )
    ).one()
    # The rules alone are free; the price is the model's that answered.
    priced_provider, priced_model = (
        (provider, model) if model != "rules" else (LOCAL_PROVIDER, model)
    )
    charge = await credits_service.do_commit(
        conn,
        settings=settings,
        tenant_id=tenant.id,
        operation=OPERATION,
        provider=priced_provider,
        model=priced_model,
        charge_id=prepared.reservation.id,
        details={"document_id": str(document.id), "enhancement_id": str(row.id)},
    )
    charged = charge.charged_millis if charge is not None else 0
    return Enhancement(
        id=row.id,
        document_id=document.id,
        version=document.current_version,
        text_sha256=sha,
        score=score,
        provider=provider,
        model=model,
        extractive=model == "rules",
        suggestions=suggestions,
        metrics=metrics,
        credits=costs.to_credits(charged or 0),
    )


async def do_release(conn: AsyncConnection, *, prepared: Prepared, reason: str) -> None:
    await credits_service.do_release(conn, charge_id=prepared.reservation.id, reason=reason)


@dataclass(frozen=True)
class Applied:
    document: Document
    applied: list[str]
    version: int | None  # the new version; None when it went into a pending draft
    pending_draft: bool


async def do_apply(
    conn: AsyncConnection,
    *,
    principal: Principal,
    document_id: UUID,
    suggestion_ids: list[str],
) -> Applied:
    """Apply suggestions (by id) to the text they were made for."""
    document = await documents_service.access_document(
        conn, principal=principal, document_id=document_id, for_update=True
    )
    document_access.check_edit(principal, **document.rights)
    text = document.editing_body
    rows = (
        await conn.execute(
            sa.select(ai_enhancements.c.suggestions)
            .where(
                ai_enhancements.c.document_id == document_id,
                ai_enhancements.c.text_sha256 == text_hash(text),
            )
            .order_by(ai_enhancements.c.created_at.desc())
        )
    ).all()
    if not rows:
        raise Conflict(
            "The document changed since these suggestions were made; ask for new ones",
            code="ENHANCE_STALE",
        )
    known = {item["id"]: Suggestion.from_dict(item) for row in rows for item in row.suggestions}
    missing = [i for i in suggestion_ids if i not in known]
    if missing:
        raise NotFound(
            "These suggestions are not for the document's current text",
            code="SUGGESTION_NOT_FOUND",
            details={"ids": missing},
        )
    chosen = [known[i] for i in dict.fromkeys(suggestion_ids)]
    edits = [s.edit for s in chosen]
    if overlapping(edits):
        raise Conflict(
            "Some of these suggestions change the same text; apply them one at a time",
            code="SUGGESTIONS_OVERLAP",
        )
    new_text = apply_edits(text, edits)
    documents_service.check_content(title=None, body=new_text)
    details: dict[str, Any] = {
        "operation": "enhance",
        "suggestions": [s.id for s in chosen],
        "sources": sorted({s.source for s in chosen}),
    }
    # Written through the documents feature's own repo and lineage, as its versions module
    # does: the documents service has no "revise with a reason" operation yet.
    if document.status == "published":
        updated = await documents_repo.update(
            conn,
            document_id,
            touch=False,
            draft_title=document.editing_title,
            draft_body=new_text,
            draft_updated_at=sa.func.now(),
        )
        version = None
    else:
        version = document.current_version + 1
        await documents_repo.insert_version(
            conn,
            tenant_id=document.tenant_id,
            document_id=document_id,
            number=version,
            title=document.title,
            body=new_text,
            reason="ai_generated",
            created_by=principal.user_id,
        )
        updated = await documents_repo.update(
            conn, document_id, body=new_text, current_version=version
        )
    await editing.do_announce(conn, before=document, after=updated)
    await lineage.record(
        conn,
        tenant_id=document.tenant_id,
        document_id=document_id,
        event="ai_generated",
        actor_id=principal.user_id,
        version=version or document.current_version,
        details={**details, "pending_draft": version is None},
    )
    return Applied(
        document=updated,
        applied=[s.id for s in chosen],
        version=version,
        pending_draft=version is None,
    )
