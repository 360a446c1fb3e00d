"""GET /api/search: ranked keyword search with highlighted snippets (DOC-8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.rag.embedders import loaded_embedder
from tynebase.search import service
from tynebase.search.schemas import SearchHitOut, SearchPageOut, SnippetOut

router = APIRouter(prefix="/api/search", tags=["search"], responses=COMMON_ERRORS)


@router.get("")
async def search(
    ctx: AuthCtx,
    q: Annotated[str, Query(description="What to look for (websearch syntax; any language)")],
    mode: Annotated[
        str,
        Query(
            description="keyword (full text), semantic (embeddings) or hybrid (both, fused by "
            "reciprocal rank)"
        ),
    ] = "keyword",
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = service.DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
) -> SearchPageOut:
    if mode in ("semantic", "hybrid"):
        settings = ctx.state.settings
        page = await service.search_ranked(
            ctx.conn,
            principal=ctx.principal,
            tenant_id=ctx.tenant.id,
            text=q,
            mode=mode,
            embedder=await loaded_embedder(settings.rag_embedder),
            ef_search=settings.rag_hnsw_ef_search,
            limit=limit,
            cursor=cursor,
        )
    else:
        page = await service.search_documents(
            ctx.conn, principal=ctx.principal, text=q, mode=mode, limit=limit, cursor=cursor
        )
    return SearchPageOut(
        mode=mode,
        items=[
            SearchHitOut(
                id=r.hit.id,
                title=r.hit.title,
                title_highlights=list(r.title_highlights),
                status=r.hit.status,
                visibility=r.hit.visibility,
                category_id=r.hit.category_id,
                author_id=r.hit.author_id,
                updated_at=r.hit.updated_at,
                rank=r.hit.rank,
                snippet=SnippetOut(
                    text=r.snippet.text, highlights=list(r.snippet.highlights), html=r.snippet.html
                ),
            )
            for r in page.results
        ],
        next_cursor=page.next_cursor,
    )
