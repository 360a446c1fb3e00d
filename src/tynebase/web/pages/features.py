"""Pages for features built by other areas (AI generation, chat).

Each page looks for its API route in the running app: when the route exists the page offers the
feature (its script calls the API through the browser bridge), otherwise it says plainly that
the feature is not available on this server yet. Nothing is faked."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.routing import BaseRoute, Match, Mount

from tynebase.web.context import Page, PageCtx

router = APIRouter(prefix="/w/{subdomain}", include_in_schema=False)


def has_route(page: Page, path: str, method: str = "GET") -> bool:
    """Whether the API app serves `method path` (asked through Starlette's own matching, so
    nested routers count; the page app's catch-all mount does not)."""
    root = page.request.app.state.app
    scope = {"type": "http", "path": path, "method": method, "root_path": "", "path_params": {}}
    routes: list[BaseRoute] = root.router.routes
    for route in routes:
        if isinstance(route, Mount) and route.path == "":
            continue
        match, _ = route.matches(scope)
        if match in (Match.FULL, Match.PARTIAL):
            return True
    return False


def _pending(page: Page, heading: str, what: str) -> Response:
    return page.render(
        "ws/pending.html",
        heading=heading,
        message=f"{what} is not available on this server yet.",
    )


@router.get("/chat")
async def chat(page: PageCtx) -> Response:
    if not has_route(page, "/api/ai/chat", "POST"):
        return _pending(page, "Ask the knowledge base", "Chat")
    return page.render("ws/chat.html")


@router.get("/generate")
async def generate(page: PageCtx) -> Response:
    assert page.principal is not None
    page.principal.check_role("contributor")
    if not has_route(page, "/api/ai/generate", "POST"):
        return _pending(page, "Generate with AI", "AI generation")
    return page.render("ws/generate.html")
