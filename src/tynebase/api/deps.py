"""Request dependencies. The entry point owns the transaction: each yields one unit of work
(tenant set for RLS) that commits when the endpoint returns and rolls back if it raises."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.api.middleware import RATE_LIMIT_HEADERS
from tynebase.api.state import AppState
from tynebase.auth import service as auth_service
from tynebase.auth.principal import Principal
from tynebase.errors import RateLimited, Unauthenticated
from tynebase.logging import tenant_var, user_var
from tynebase.tenants import service as tenants_service
from tynebase.tenants.repo import Tenant
from tynebase.tenants.service import subdomain_of

bearer = HTTPBearer(auto_error=False, description="Access token (JWT) or API key (tb_...)")


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.tynebase
    return state


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class TenantContext:
    conn: AsyncConnection
    tenant: Tenant
    state: AppState


@dataclass(frozen=True)
class RequestContext(TenantContext):
    principal: Principal


async def _enter_tenant(request: Request, state: AppState, conn: AsyncConnection) -> Tenant:
    tenant = await tenants_service.access_and_enter(
        conn, subdomain=subdomain_of(request.headers, state.settings.base_domain)
    )
    request.scope["state"]["tenant"] = tenant.subdomain
    tenant_var.set(tenant.subdomain)  # for log lines written while handling this request
    return tenant


@asynccontextmanager
async def tenant_unit_of_work(request: Request) -> AsyncIterator[TenantContext]:
    """For endpoints that must commit before raising (a failed login still counts)."""
    state = app_state(request)
    async with state.db.unit_of_work() as conn:
        yield TenantContext(
            conn=conn, tenant=await _enter_tenant(request, state, conn), state=state
        )


async def _tenant_context(request: Request) -> AsyncIterator[TenantContext]:
    async with tenant_unit_of_work(request) as context:
        yield context


async def _request_context(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> AsyncIterator[RequestContext]:
    state = app_state(request)
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("Log in or send an API key (Authorization: Bearer ...)")
    async with state.db.unit_of_work() as conn:
        tenant = await _enter_tenant(request, state, conn)
        try:
            principal = await auth_service.access_principal(
                conn, keyring=state.keyring, tenant=tenant, credential=credentials.credentials
            )
        except Unauthenticated as exc:
            state.metrics.auth_failures.labels(exc.code).inc()
            raise
        request.scope["state"]["user"] = str(principal.user_id)
        user_var.set(str(principal.user_id))
        # Counted only once the caller is known, so nobody can spend a workspace's budget
        # (or grow the limiter's memory) with made-up credentials or subdomains.
        verdict = await state.limiter.hit(state.limiter.api_per_tenant, "tenant", str(tenant.id))
        request.scope["state"][RATE_LIMIT_HEADERS] = verdict.headers()
        if not verdict.allowed:
            state.metrics.rate_limited.labels("api_per_tenant").inc()
            raise RateLimited(
                "This workspace is sending too many requests", headers=verdict.headers()
            )
        yield RequestContext(conn=conn, tenant=tenant, state=state, principal=principal)


# For endpoints that must not hold one transaction for their whole run (streaming uploads):
# authenticate in a short unit of work, then open their own.
authenticated_unit_of_work = asynccontextmanager(_request_context)


# scope="function": commit before the response is sent, so a client never sees success for a
# transaction that then fails to commit.
TenantCtx = Annotated[TenantContext, Depends(_tenant_context, scope="function")]
AuthCtx = Annotated[RequestContext, Depends(_request_context, scope="function")]
State = Annotated[AppState, Depends(app_state)]


async def _limit_auth_ip(request: Request) -> None:
    state = app_state(request)
    try:
        await state.limiter.check_auth_ip(client_ip(request))
    except Exception:
        state.metrics.rate_limited.labels("auth_per_ip").inc()
        raise


AuthRateLimit = Depends(_limit_auth_ip)
