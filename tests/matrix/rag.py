"""Matrix entries for retrieval and chat: B's chunks never reach A's answers, B's sources and
chats are not A's to see, B's documents not A's to reindex."""

from __future__ import annotations

import psycopg

from tests.conftest import unique
from tests.matrix.core import Target, World, _path
from tests.matrix.search import insert_document
from tynebase.db.engine import libpq_url

# B's indexed passage says this; A asking about it must not be told.
B_TOPIC = "matrixrag volcano evacuation drill procedure"


def _b_indexed_document(world: World) -> str:
    """A published document of B with one indexed chunk (embedded as the worker would)."""

    def make() -> str:
        from tynebase.rag.embedders import WordLlamaEmbedder, local_embedder

        embedder = local_embedder("wordllama")
        assert isinstance(embedder, WordLlamaEmbedder)
        secret = unique("bragsecret")
        title = unique("B volcano plan ")
        content = f"The {B_TOPIC}: gather at the {secret} assembly point."
        document_id = insert_document(world.accounts.owner_url, world.b, title, content)
        (vector,) = embedder.embed_sync([f"{title}\n\n{content}"])
        with psycopg.connect(libpq_url(world.accounts.owner_url)) as conn:
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (world.b.tenant_id,))
            chunk = conn.execute(
                "INSERT INTO rag_chunks (tenant_id, document_id, version_number, ordinal, "
                "heading, content, embedder, dims, embedding) "
                "VALUES (%s, %s, 1, 0, %s, %s, %s, %s, %s::vector) RETURNING id::text",
                (
                    world.b.tenant_id,
                    document_id,
                    title,
                    content,
                    embedder.name,
                    embedder.dimensions,
                    str(list(vector)),
                ),
            ).fetchone()
            conn.execute(
                "INSERT INTO rag_sources (document_id, tenant_id, status, indexed_at, "
                "indexed_version, chunk_count) VALUES (%s, %s, 'ok', now(), 1, 1)",
                (document_id, world.b.tenant_id),
            )
        assert chunk is not None
        world.b_markers |= {document_id, title, secret, chunk[0]}
        return document_id

    return world.once("rag_b_document", make)


def _b_chat(world: World) -> str:
    def make() -> str:
        with psycopg.connect(libpq_url(world.accounts.owner_url)) as conn:
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (world.b.tenant_id,))
            row = conn.execute(
                "INSERT INTO chat_sessions (tenant_id, user_id, title) VALUES (%s, %s, %s) "
                "RETURNING id::text",
                (world.b.tenant_id, world.b.user_id, unique("B chat ")),
            ).fetchone()
        assert row is not None
        world.b_markers.add(row[0])
        return str(row[0])

    return world.once("rag_b_chat", make)


def _chat_path(world: World) -> str:
    _b_indexed_document(world)
    return "/api/ai/chat"


def _sources_path(world: World) -> str:
    _b_indexed_document(world)
    return "/api/rag/sources"


ENTRIES: dict[tuple[str, str], Target] = {
    ("GET", "/api/rag/sources"): Target("collection", _sources_path),
    ("POST", "/api/rag/reindex"): Target(
        "object",
        _path("/api/rag/reindex"),
        body=lambda w, _holder: {"document_id": _b_indexed_document(w)},
    ),
    ("POST", "/api/ai/chat"): Target(
        "collection", _chat_path, body=lambda _w, _holder: {"question": f"What is the {B_TOPIC}?"}
    ),
    ("GET", "/api/ai/chats"): Target("collection", lambda w: (_b_chat(w), "/api/ai/chats")[1]),
    ("GET", "/api/ai/chats/{chat_id}"): Target("object", lambda w: f"/api/ai/chats/{_b_chat(w)}"),
}
