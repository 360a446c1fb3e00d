"""`create_web_app(root)`: the page application mounted at `/` of the API app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from tynebase.api.errors import error_response
from tynebase.collab.api import collab_url
from tynebase.errors import TynebaseError
from tynebase.settings import Settings
from tynebase.web.context import LoginRequired, login_redirect
from tynebase.web.pages import admin, audit, auth, documents, features, status, usage, workspace
from tynebase.web.session import CsrfSigner, Refresher
from tynebase.web.state import STATIC_DIR, WebState, build_templates

_TITLES = {
    400: "That did not work",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    410: "Gone",
    413: "Too large",
    429: "Slow down",
    503: "Temporarily unavailable",
}


def build_web_state(settings: Settings) -> WebState:
    return WebState(
        templates=build_templates(),
        csrf=CsrfSigner(settings.secret),
        refresher=Refresher(),
        collab_url=collab_url(settings),
    )


def _error_page(request: Request, status: int, code: str, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        # An unknown API path fell through to the page app: answer as the API does.
        return error_response(status, code, message)
    web: WebState = request.app.state.web
    html = web.templates.get_template("error.html").render(
        request=request,
        banner=getattr(request.state, "maintenance", None),
        title=_TITLES.get(status, "Error"),
        message=message,
        code=code,
        csrf_token="",
        back=request.headers.get("referer") if status != 404 else "/",
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def create_web_app(root: FastAPI, settings: Settings) -> FastAPI:
    """Pages, static files and error pages; reads the root app's state at request time."""
    web = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    # One state for both apps: pages read the API's AppState (built in the root's lifespan),
    # its maintenance cache and the web state from the same place.
    web.state = root.state
    root.state.app = root
    root.state.web = build_web_state(settings)

    @web.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        response = login_redirect(exc)
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": response.headers["location"]})
        return response

    @web.exception_handler(TynebaseError)
    async def _tynebase(request: Request, exc: TynebaseError) -> Response:
        response = _error_page(request, exc.status, exc.code, exc.message)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @web.exception_handler(RequestValidationError)
    async def _validation(request: Request, _: RequestValidationError) -> Response:
        return _error_page(request, 400, "VALIDATION_ERROR", "The request is not valid")

    @web.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
        message = "Page not found" if exc.status_code == 404 else str(exc.detail)
        return _error_page(request, exc.status_code, code, message)

    for router in (
        auth.router,
        status.router,
        documents.router,
        workspace.router,
        features.router,
        usage.router,
        audit.router,
        admin.router,
    ):
        web.include_router(router)
    web.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return web
