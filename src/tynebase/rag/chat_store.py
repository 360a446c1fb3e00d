"""Chat sessions and messages, scoped to their tenant (RLS) and their user (here); never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.errors import NotFound
from tynebase.rag.models import chat_messages, chat_sessions

MAX_TITLE_CHARS = 120


@dataclass(frozen=True)
class ChatSession:
    id: UUID
    tenant_id: UUID
    user_id: UUID
    title: str
    created_at: datetime
    updated_at: datetime


def _session(row: Any) -> ChatSession:
    return ChatSession(**{name: getattr(row, name) for name in ChatSession.__dataclass_fields__})


async def create_session(
    conn: AsyncConnection, *, tenant_id: UUID, user_id: UUID, title: str
) -> ChatSession:
    title = " ".join(title.split())[:MAX_TITLE_CHARS] or "Chat"
    row = (
        await conn.execute(
            chat_sessions.insert()
            .values(tenant_id=tenant_id, user_id=user_id, title=title)
            .returning(*chat_sessions.c)
        )
    ).one()
    return _session(row)


async def access_session(conn: AsyncConnection, *, user_id: UUID, session_id: UUID) -> ChatSession:
    """The caller's own session; the same 404 for missing and someone else's."""
    row = (
        await conn.execute(
            sa.select(*chat_sessions.c).where(
                chat_sessions.c.id == session_id, chat_sessions.c.user_id == user_id
            )
        )
    ).first()
    if row is None:
        raise NotFound("Chat not found", code="CHAT_NOT_FOUND")
    return _session(row)


async def list_sessions(
    conn: AsyncConnection, *, user_id: UUID, limit: int = 50
) -> list[ChatSession]:
    query = (
        sa.select(*chat_sessions.c)
        .where(chat_sessions.c.user_id == user_id)
        .order_by(chat_sessions.c.updated_at.desc(), chat_sessions.c.id)
        .limit(limit)
    )
    return [_session(row) for row in (await conn.execute(query)).all()]


async def add_message(
    conn: AsyncConnection,
    *,
    session: ChatSession,
    role: str,
    content: str,
    answer_kind: str | None = None,
    citations: list[dict[str, Any]] | None = None,
) -> int:
    message_id: int = (
        await conn.execute(
            chat_messages.insert()
            .values(
                tenant_id=session.tenant_id,
                session_id=session.id,
                role=role,
                content=content,
                answer_kind=answer_kind,
                citations=citations or [],
            )
            .returning(chat_messages.c.id)
        )
    ).scalar_one()
    await conn.execute(
        chat_sessions.update()
        .where(chat_sessions.c.id == session.id)
        .values(updated_at=sa.func.now())
    )
    return message_id


async def messages_of(conn: AsyncConnection, session_id: UUID) -> list[Any]:
    query = (
        sa.select(*chat_messages.c)
        .where(chat_messages.c.session_id == session_id)
        .order_by(chat_messages.c.id)
    )
    return list((await conn.execute(query)).all())
