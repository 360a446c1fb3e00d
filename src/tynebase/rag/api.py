"""Routes of retrieval: source health and reindexing (/api/rag), chat (/api/ai/chat, chats)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.errors import ValidationFailed
from tynebase.rag import chat, chat_store, sources
from tynebase.rag.schemas import (
    ChatIn,
    ChatMessageOut,
    ChatSessionDetailOut,
    ChatSessionOut,
    ReindexIn,
    ReindexOut,
    SourceOut,
    SourcesPageOut,
    SourceState,
)

router = APIRouter(prefix="/api/rag", tags=["retrieval"], responses=COMMON_ERRORS)
chat_router = APIRouter(prefix="/api/ai", tags=["chat"], responses=COMMON_ERRORS)


def _cursor(document_id: UUID) -> str:
    return base64.urlsafe_b64encode(document_id.bytes).decode().rstrip("=")


def _after(cursor: str) -> UUID:
    try:
        return UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise ValidationFailed(
            "This cursor is not valid", code="INVALID_CURSOR", details={"field": "cursor"}
        ) from None


@router.get("/sources")
async def list_sources(
    ctx: AuthCtx,
    state: SourceState | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> SourcesPageOut:
    """Index health of each document you may read: never_indexed, stale, failed or ok
    (editors and admins)."""
    rows = await sources.list_sources(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        state=state,
        after=_after(cursor) if cursor else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return SourcesPageOut(
        items=[SourceOut(**row.__dict__) for row in rows],
        counts=await sources.summary(ctx.conn, tenant_id=ctx.tenant.id),
        next_cursor=_cursor(rows[-1].document_id) if more else None,
    )


@router.post("/reindex", status_code=202)
async def reindex(ctx: AuthCtx, body: ReindexIn | None = None) -> ReindexOut:
    """Reindex one document (editors) or every document (admins); GET /api/jobs/{id} follows."""
    job_ids = await sources.do_reindex(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        document_id=body.document_id if body else None,
    )
    return ReindexOut(job_ids=job_ids)


@chat_router.post(
    "/chat",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def ask(ctx: AuthCtx, body: ChatIn) -> StreamingResponse:
    """Ask the knowledge base: an answer streamed as Server-Sent Events (meta, token…,
    citations, done), with numbered citations of the passages it rests on."""
    settings = ctx.state.settings
    prepared = await chat.prepare(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        tier=ctx.tenant.tier,
        settings=settings,
        question=body.question,
        session_id=body.session_id,
    )
    return StreamingResponse(
        chat.answer(prepared, db=ctx.state.db, settings=settings),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@chat_router.get("/chats")
async def list_chats(
    ctx: AuthCtx, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[ChatSessionOut]:
    """Your conversations, most recent first."""
    rows = await chat_store.list_sessions(ctx.conn, user_id=ctx.principal.user_id, limit=limit)
    return [ChatSessionOut(**row.__dict__) for row in rows]


@chat_router.get("/chats/{chat_id}")
async def get_chat(chat_id: UUID, ctx: AuthCtx) -> ChatSessionDetailOut:
    session = await chat_store.access_session(
        ctx.conn, user_id=ctx.principal.user_id, session_id=chat_id
    )
    messages = await chat_store.messages_of(ctx.conn, session.id)
    return ChatSessionDetailOut(
        **session.__dict__,
        messages=[
            ChatMessageOut(
                id=m.id,
                role=m.role,
                content=m.content,
                answer_kind=m.answer_kind,
                citations=m.citations,
                created_at=m.created_at,
            )
            for m in messages
        ],
    )
