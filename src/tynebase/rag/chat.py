"""Chat over the knowledge base (RAG-4): retrieve, answer with numbered citations, store.

`prepare` runs in the request's transaction: it checks the question, opens or continues the
caller's chat, stores the question and retrieves the passages the caller may read. `answer`
then streams events (after that transaction committed) and stores the answer in its own:

- `meta`: {session_id, answer_kind} - `llm`, `extractive` (no language model configured: the
  best sentences of the passages, quoted) or `not_found` (nothing relevant retrieved);
- `token`: {text} - answer text, in order;
- `citations`: [{n, document_id, version_id, version_number, chunk_id, title, snippet}] - the
  passages the answer cites, checked against their text (see `citations.check`); `dropped`
  lists citation numbers that named no passage or quoted what the passage does not say;
- `done`: {message_id}; or `error`: {code, message} when the language model failed mid-way.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.ai import chat as ai_chat
from tynebase.ai.preferences import load_preferences
from tynebase.ai.providers import extractive
from tynebase.ai.providers.base import AIPreferences, ChatMessage
from tynebase.ai.providers.errors import AIError
from tynebase.ai.providers.registry import first_choice
from tynebase.auth.principal import Principal
from tynebase.consents.service import require_consent
from tynebase.credits import service as credits_service
from tynebase.credits.repo import Charge
from tynebase.db.engine import Database
from tynebase.errors import ValidationFailed
from tynebase.rag import chat_store, citations, retrieval
from tynebase.rag.chat_store import ChatSession
from tynebase.rag.embedders import loaded_embedder
from tynebase.rag.retrieval import Passage
from tynebase.search.service import check_query
from tynebase.settings import Settings

CHAT_OPERATION = "chat"  # its price: tynebase.credits.costs
NOT_FOUND_ANSWER = (
    "Not found in the knowledge base: none of the documents you can read answers this question."
)
EXTRACTIVE_LABEL = "Extractive answer (no language model is configured), quoted from the sources:"
MAX_QUESTION_CHARS = 2000
HISTORY_MESSAGES = 6
SNIPPET_CHARS = 240
SYSTEM_PROMPT = (
    "You answer questions using only the numbered passages from the company knowledge base "
    "below. Cite every statement with the number of its passage in square brackets, like [1] "
    "or [2][3]. When you quote, quote exactly. If the passages do not contain the answer, say "
    "that it was not found in the knowledge base. Never invent facts or citation numbers."
)


@dataclass(frozen=True)
class Prepared:
    session: ChatSession
    tenant_id: UUID
    question: str
    answer_kind: str  # llm | extractive | not_found
    passages: list[Passage]  # relevant ones, cited as [1], [2] ...
    version_ids: dict[tuple[UUID, int], UUID]
    history: list[ChatMessage] = field(default_factory=list)
    preferences: AIPreferences | None = None  # the workspace's provider picks (ADM)
    reservation: Charge | None = None  # credits held for a model's answer (AI-3)
    user_id: UUID | None = None


def is_relevant(passage: Passage, *, min_similarity: float) -> bool:
    """Close enough in meaning, or holding every word of the question."""
    close = passage.similarity is not None and passage.similarity >= min_similarity
    return close or passage.keyword_all_terms


async def prepare(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    tier: str,
    settings: Settings,
    question: str,
    session_id: UUID | None,
) -> Prepared:
    """Check, store the question, retrieve (see the module docstring)."""
    question = question.strip()
    if not question or len(question) > MAX_QUESTION_CHARS or "\x00" in question:
        raise ValidationFailed(
            f"The question must have 1 to {MAX_QUESTION_CHARS} characters",
            details={"field": "question", "max": MAX_QUESTION_CHARS},
        )
    await require_consent(conn, principal.user_id, "ai_processing")
    parsed = check_query(question[:500])
    if session_id is not None:
        session = await chat_store.access_session(
            conn, user_id=principal.user_id, session_id=session_id
        )
        history = [
            ChatMessage("user" if m.role == "user" else "assistant", m.content)
            for m in (await chat_store.messages_of(conn, session.id))[-HISTORY_MESSAGES:]
        ]
    else:
        session = await chat_store.create_session(
            conn, tenant_id=tenant_id, user_id=principal.user_id, title=question
        )
        history = []
    await chat_store.add_message(conn, session=session, role="user", content=question)
    found = await retrieval.hybrid_passages(
        conn,
        principal=principal,
        tenant_id=tenant_id,
        parsed=parsed,
        question=question,
        embedder=await loaded_embedder(settings.rag_embedder),
        limit=settings.rag_chat_passages,
        ef_search=settings.rag_hnsw_ef_search,
    )
    passages = [p for p in found if is_relevant(p, min_similarity=settings.rag_min_similarity)]
    preferences = await load_preferences(conn, tenant_id=tenant_id)
    if not passages:
        kind = "not_found"
    elif ai_chat.llm_configured(settings, tenant_preference=preferences, task=ai_chat.AITask.chat):
        kind = "llm"
    else:
        kind = "extractive"
    reservation = None
    if kind == "llm":
        # Priced on the model asked first; charged on the one that answers, released on failure.
        provider, model = first_choice(settings, preferences, ai_chat.AITask.chat)
        reservation = await credits_service.do_reserve(
            conn,
            settings=settings,
            tenant_id=tenant_id,
            tier=tier,
            operation=CHAT_OPERATION,
            provider=provider,
            model=model,
            user_id=principal.user_id,
            details={"chat_session_id": str(session.id)},
        )
    keys = [(p.document_id, p.version_number) for p in passages]
    return Prepared(
        session=session,
        tenant_id=tenant_id,
        question=question,
        answer_kind=kind,
        passages=passages,
        version_ids=await retrieval.version_ids(conn, keys),
        history=history,
        preferences=preferences,
        reservation=reservation,
        user_id=principal.user_id,
    )


def prompt(prepared: Prepared) -> list[ChatMessage]:
    """The messages for the language model: instructions, numbered passages, history, question."""
    numbered = "\n\n".join(
        f"[{n}] {p.heading}\n{p.content}" for n, p in enumerate(prepared.passages, 1)
    )
    return [
        ChatMessage("system", f"{SYSTEM_PROMPT}\n\nPassages:\n\n{numbered}"),
        *prepared.history,
        ChatMessage("user", prepared.question),
    ]


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


def citation(prepared: Prepared, n: int, quote: str | None = None) -> dict[str, Any]:
    passage = prepared.passages[n - 1]
    version_id = prepared.version_ids.get((passage.document_id, passage.version_number))
    return {
        "n": n,
        "document_id": str(passage.document_id),
        "version_id": str(version_id) if version_id else None,
        "version_number": passage.version_number,
        "chunk_id": str(passage.chunk_id),
        "title": passage.title,
        "snippet": _snippet(quote or passage.content),
    }


def extractive_answer(prepared: Prepared) -> tuple[str, list[dict[str, Any]]]:
    """The sentences of the passages that best answer the question, each cited; without any
    shared word, the opening of the best passages."""
    texts = [p.content for p in prepared.passages]
    hits = extractive.answer(prepared.question, texts, max_sentences=3)
    quotes: dict[int, str] = {}
    lines: list[str] = []
    for hit in hits:
        n = hit.passage + 1
        quotes.setdefault(n, hit.sentence)
        lines.append(f"- {hit.sentence} [{n}]")
    if not lines:
        for n, passage in enumerate(prepared.passages[:2], 1):
            quotes[n] = _snippet(passage.content)
            lines.append(f"- {quotes[n]} [{n}]")
    text = EXTRACTIVE_LABEL + "\n\n" + "\n".join(lines)
    return text, [citation(prepared, n, quotes[n]) for n in sorted(quotes)]


def _pieces(text: str) -> list[str]:
    """Word-sized pieces of a finished text, to stream it like a model would."""
    return re.findall(r"\S+\s*|\s+", text)


def sse(event: str, data: Any) -> bytes:
    import json

    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def answer(prepared: Prepared, *, db: Database, settings: Settings) -> AsyncIterator[bytes]:
    """The answer as Server-Sent Events (see the module docstring); stores it when done."""
    yield sse("meta", {"session_id": str(prepared.session.id), "answer_kind": prepared.answer_kind})
    dropped: list[int] = []
    cited: list[dict[str, Any]]
    answered_by: tuple[str | None, str | None] | None = None  # (provider, model) on success
    if prepared.answer_kind == "not_found":
        text, cited = NOT_FOUND_ANSWER, []
        for piece in _pieces(text):
            yield sse("token", {"text": piece})
    elif prepared.answer_kind == "extractive":
        text, cited = extractive_answer(prepared)
        for piece in _pieces(text):
            yield sse("token", {"text": piece})
    else:
        received: list[str] = []
        try:
            async with ai_chat.stream_chat(
                settings,
                tenant_preference=prepared.preferences,
                messages=prompt(prepared),
                max_tokens=800,
            ) as stream:
                async for delta in stream:
                    received.append(delta)
                    yield sse("token", {"text": delta})
            answered_by = (stream.provider, stream.model)
        except AIError as exc:
            yield sse("error", {"code": exc.code, "message": exc.message})
        text = "".join(received)
        check = citations.check(text, [p.content for p in prepared.passages])
        dropped = sorted({*check.invalid, *check.unsupported})
        text = citations.strip_marks(text, set(dropped))
        cited = [citation(prepared, n) for n in check.valid]
    yield sse("citations", {"citations": cited, "dropped": dropped})
    async with db.unit_of_work(prepared.tenant_id) as conn:
        message_id = await chat_store.add_message(
            conn,
            session=prepared.session,
            role="assistant",
            content=text,
            answer_kind=prepared.answer_kind,
            citations=cited,
        )
        await _settle_credits(conn, prepared, settings=settings, answered_by=answered_by)
    yield sse("done", {"message_id": message_id})


async def _settle_credits(
    conn: AsyncConnection,
    prepared: Prepared,
    *,
    settings: Settings,
    answered_by: tuple[str | None, str | None] | None,
) -> None:
    """Charge the model's answer once, or release the credits when it failed."""
    if prepared.reservation is None:
        return
    provider, model = answered_by or (None, None)
    if provider is None or model is None:
        await credits_service.do_release(
            conn, charge_id=prepared.reservation.id, reason="the model did not answer"
        )
        return
    await credits_service.do_commit(
        conn,
        settings=settings,
        tenant_id=prepared.tenant_id,
        operation=CHAT_OPERATION,
        provider=provider,
        model=model,
        charge_id=prepared.reservation.id,
        user_id=prepared.user_id,
        details={"chat_session_id": str(prepared.session.id)},
    )
