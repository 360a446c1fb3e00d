"""Page dependencies: the workspace from the path, the user from the cookie session, CSRF on
every state-changing request, and one unit of work per request (commits before the response)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.api.state import AppState
from tynebase.auth import service as auth_service
from tynebase.auth.principal import Principal
from tynebase.errors import NotFound, RateLimited, Unauthenticated, Unavailable
from tynebase.logging import tenant_var, user_var
from tynebase.ops.middleware import maintenance_cache
from tynebase.tenants import service as tenants_service
from tynebase.tenants.repo import Tenant
from tynebase.tenants.service import SUBDOMAIN_PATTERN
from tynebase.web import branding
from tynebase.web.session import (
    ACCESS_COOKIE,
    ANON_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    REFRESH_COOKIE,
    SAFE_METHODS,
    Renewed,
    new_anon_nonce,
    set_anon_cookie,
    set_session_cookies,
    workspace_path,
)
from tynebase.web.state import WebState

_RETRY_WITH_REFRESH = frozenset({"TOKEN_EXPIRED", "INVALID_TOKEN"})


class LoginRequired(Exception):
    def __init__(self, subdomain: str, next_path: str) -> None:
        self.subdomain = subdomain
        self.next_path = next_path


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.tynebase  # the web app shares the API app's state
    return state


def web_state(request: Request) -> WebState:
    web: WebState = request.app.state.web
    return web


# Writes a page may still make during maintenance: signing in to read, and leaving.
MAINTENANCE_OPEN_WRITES = re.compile(r"^/w/[a-z0-9-]+/(login|logout)$")


async def check_maintenance(request: Request, state: AppState) -> None:
    """Banner text for the page; refuse page writes while the service is read-only (the same
    gate the API's OperationsMiddleware applies to /api writes)."""
    current = await maintenance_cache(request.app.state, state).get(state.db)
    active = current.active
    if active is not None:
        until = f" (until {active.ends_at:%Y-%m-%d %H:%M} UTC)" if active.ends_at else ""
        request.state.maintenance = f"Maintenance: {active.message}{until}. Read-only for now."
        if request.method not in SAFE_METHODS and not MAINTENANCE_OPEN_WRITES.match(
            request.url.path
        ):
            retry = current.retry_after(
                now=datetime.now(UTC), default=state.settings.maintenance_retry_after_seconds
            )
            raise Unavailable(
                active.message, code="MAINTENANCE", headers={"Retry-After": str(retry)}
            )
    elif current.upcoming:
        window = current.upcoming[0]
        request.state.maintenance = (
            f"Scheduled maintenance from {window.starts_at:%Y-%m-%d %H:%M} UTC: {window.message}"
        )


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def csrf_given(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


@dataclass
class BasePage:
    request: Request
    state: AppState
    web: WebState
    csrf_token: str
    cookies_to_set: list[Any] = field(default_factory=list)

    def context(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "csrf_token": self.csrf_token,
            "csrf_field": CSRF_FIELD,
            "banner": getattr(self.request.state, "maintenance", None),
        }

    def finish(self, response: Response) -> Response:
        """The response with the session cookies the request renewed, never cached."""
        for apply in self.cookies_to_set:
            apply(response)
        response.headers["Cache-Control"] = "no-store"
        return response

    def render(self, template: str, status_code: int = 200, **values: Any) -> Response:
        html = self.web.templates.get_template(template).render(**self.context(), **values)
        return self.finish(HTMLResponse(html, status_code=status_code))

    def redirect(self, url: str) -> Response:
        if self.request.headers.get("hx-request"):
            return self.finish(Response(status_code=204, headers={"HX-Redirect": url}))
        return self.finish(RedirectResponse(url, status_code=303))


@dataclass
class AnonPage(BasePage):
    pass


@dataclass
class Page(BasePage):
    conn: AsyncConnection | None = None
    tenant: Tenant | None = None
    principal: Principal | None = None

    @property
    def base(self) -> str:
        return workspace_path(self.parts()[2].subdomain)

    def parts(self) -> tuple[AsyncConnection, Principal, Tenant]:
        """The request's connection, caller and workspace (set once the page is entered)."""
        if self.conn is None or self.principal is None or self.tenant is None:
            raise RuntimeError("page used before it was entered")
        return self.conn, self.principal, self.tenant

    def context(self) -> dict[str, Any]:
        _, me, tenant = self.parts()
        brand = branding.branding_of(tenant)
        return {
            **super().context(),
            "tenant": tenant,
            "me": me,
            "base": self.base,
            "brand": brand,
            "banner": getattr(self.request.state, "maintenance", None),
            "logo_url": branding.logo_url(self.state.settings, tenant, brand),
        }


async def _anon_page(request: Request) -> AnonPage:
    state, web = app_state(request), web_state(request)
    nonce = request.cookies.get(ANON_COOKIE)
    page = AnonPage(request=request, state=state, web=web, csrf_token="")
    if not nonce or len(nonce) > 64:
        nonce = new_anon_nonce()
        secure = is_secure(request)
        page.cookies_to_set.append(lambda r: set_anon_cookie(r, nonce, secure=secure))
    page.csrf_token = web.csrf.for_anonymous(nonce)
    if request.method not in SAFE_METHODS:
        web.csrf.check(page.csrf_token, await csrf_given(request))
    await check_maintenance(request, state)
    return page


async def _principal(
    request: Request, page: Page, conn: AsyncConnection, tenant: Tenant
) -> Principal | None:
    state = page.state
    access = request.cookies.get(ACCESS_COOKIE)
    if access:
        try:
            return await auth_service.access_principal(
                conn, keyring=state.keyring, tenant=tenant, credential=access
            )
        except Unauthenticated as exc:
            if exc.code not in _RETRY_WITH_REFRESH:
                return None
    refresh = request.cookies.get(REFRESH_COOKIE)
    if not refresh:
        return None
    tokens = await page.web.refresher.refresh(
        state, subdomain=tenant.subdomain, refresh_token=refresh
    )
    if tokens is None:
        return None
    _remember(page, tenant.subdomain, tokens)
    return await auth_service.access_principal(
        conn, keyring=state.keyring, tenant=tenant, credential=tokens.access_token
    )


def _remember(page: Page, subdomain: str, tokens: Renewed) -> None:
    secure, ttl = is_secure(page.request), page.state.settings.refresh_token_ttl_seconds
    page.cookies_to_set.append(
        lambda r: set_session_cookies(
            r, subdomain=subdomain, tokens=tokens, secure=secure, refresh_ttl=ttl
        )
    )


def check_subdomain_path(subdomain: str) -> None:
    if not re.fullmatch(SUBDOMAIN_PATTERN, subdomain):
        raise NotFound(f"Workspace '{subdomain}' does not exist", code="TENANT_NOT_FOUND")


async def _page(request: Request, subdomain: str) -> AsyncIterator[Page]:
    check_subdomain_path(subdomain)
    state, web = app_state(request), web_state(request)
    page = Page(request=request, state=state, web=web, csrf_token="")
    await check_maintenance(request, state)
    async with state.db.unit_of_work() as conn:
        tenant = await tenants_service.access_and_enter(conn, subdomain=subdomain)
        tenant_var.set(tenant.subdomain)
        principal = await _principal(request, page, conn, tenant)
        if principal is None or principal.session_id is None:
            raise LoginRequired(subdomain, request.url.path)
        user_var.set(str(principal.user_id))
        page.conn, page.tenant, page.principal = conn, tenant, principal
        page.csrf_token = web.csrf.for_session(principal.session_id)
        if request.method not in SAFE_METHODS:
            web.csrf.check(page.csrf_token, await csrf_given(request))
        verdict = await state.limiter.hit(state.limiter.api_per_tenant, "tenant", str(tenant.id))
        if not verdict.allowed:
            raise RateLimited(
                "This workspace is sending too many requests", headers=verdict.headers()
            )
        yield page


def login_redirect(exc: LoginRequired) -> Response:
    url = f"{workspace_path(exc.subdomain)}/login?next={quote(exc.next_path)}"
    return RedirectResponse(url, status_code=303)


PageCtx = Annotated[Page, Depends(_page, scope="function")]
AnonCtx = Annotated[AnonPage, Depends(_anon_page)]
