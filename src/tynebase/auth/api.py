"""Auth routes: /api/auth/* and /api/api-keys."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Request, Response

from tynebase.api.deps import AuthCtx, AuthRateLimit, State, client_ip, tenant_unit_of_work
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.api.state import AppState
from tynebase.auth import api_keys, email_flows, sessions
from tynebase.auth import service as auth_service
from tynebase.auth.schemas import (
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    ApiKeyRotateIn,
    EmailIn,
    LoginIn,
    MeOut,
    RefreshIn,
    ResetIn,
    SessionOut,
    SignupIn,
    SignupOut,
    StatusOut,
    TenantOut,
    TokenIn,
    TokensOut,
    UserOut,
)
from tynebase.auth.service import IssuedTokens, Refusal
from tynebase.mail import service as mail_service
from tynebase.tenants.repo import Tenant

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=COMMON_ERRORS)
keys_router = APIRouter(prefix="/api/api-keys", tags=["api-keys"], responses=COMMON_ERRORS)


async def deliver_mail(state: AppState) -> None:
    """After the commit that queued it; a no-op without SMTP (the outbox keeps the mail)."""
    if state.settings.smtp_host is None:
        return
    async with state.db.unit_of_work() as conn:
        await mail_service.do_deliver_pending(conn, state.settings)


def _tenant_out(tenant: Tenant) -> TenantOut:
    return TenantOut(
        id=tenant.id,
        subdomain=tenant.subdomain,
        name=tenant.name,
        tier=tenant.tier,
        status=tenant.status,
    )


def _tokens_out(tokens: IssuedTokens) -> TokensOut:
    return TokensOut(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=max(tokens.access_expires_at - int(time.time()), 0),
        session_id=tokens.session_id,
    )


def _raise_refusal(outcome: IssuedTokens | Refusal, state: AppState) -> IssuedTokens:
    if isinstance(outcome, Refusal):
        state.metrics.auth_failures.labels(outcome.error.code).inc()
        raise outcome.error
    return outcome


@router.post("/signup", status_code=201, dependencies=[AuthRateLimit])
async def signup(body: SignupIn, state: State, background: BackgroundTasks) -> SignupOut:
    async with state.db.unit_of_work() as conn:
        result = await auth_service.do_signup(
            conn,
            settings=state.settings,
            email=body.email,
            password=body.password,
            name=body.name,
            tenant_name=body.tenant_name,
            subdomain=body.subdomain,
        )
    background.add_task(deliver_mail, state)
    user = result.user
    return SignupOut(
        user=UserOut(id=user.id, email=user.email, name=user.name),
        tenant=_tenant_out(result.tenant),
        email_confirmation_required=result.confirmation_required,
    )


@router.post("/login", dependencies=[AuthRateLimit])
async def login(body: LoginIn, request: Request) -> TokensOut:
    async with tenant_unit_of_work(request) as ctx:
        outcome = await auth_service.do_login(
            ctx.conn,
            settings=ctx.state.settings,
            keyring=ctx.state.keyring,
            tenant=ctx.tenant,
            email=body.email,
            password=body.password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    return _tokens_out(_raise_refusal(outcome, ctx.state))


@router.post("/refresh", dependencies=[AuthRateLimit])
async def refresh(body: RefreshIn, request: Request) -> TokensOut:
    async with tenant_unit_of_work(request) as ctx:
        outcome = await auth_service.do_refresh(
            ctx.conn, keyring=ctx.state.keyring, tenant=ctx.tenant, refresh_token=body.refresh_token
        )
    return _tokens_out(_raise_refusal(outcome, ctx.state))


@router.post("/logout", status_code=204, response_class=Response)
async def logout(ctx: AuthCtx) -> None:
    await sessions.do_logout(ctx.conn, principal=ctx.principal)


@router.get("/me")
async def me(ctx: AuthCtx) -> MeOut:
    p = ctx.principal
    return MeOut(
        user=UserOut(id=p.user_id, email=p.email, name=p.name, is_superadmin=p.is_superadmin),
        tenant=_tenant_out(ctx.tenant),
        role=p.role,
        auth="api_key" if p.api_key_id else "session",
    )


@router.post("/confirm", dependencies=[AuthRateLimit])
async def confirm(body: TokenIn, state: State) -> StatusOut:
    async with state.db.unit_of_work() as conn:
        await email_flows.do_confirm(conn, token=body.token)
    return StatusOut(status="confirmed")


@router.post("/confirm/resend", status_code=202, dependencies=[AuthRateLimit])
async def resend_confirmation(
    body: EmailIn, state: State, background: BackgroundTasks
) -> StatusOut:
    async with state.db.unit_of_work() as conn:
        await email_flows.do_resend_confirmation(conn, settings=state.settings, email=body.email)
    background.add_task(deliver_mail, state)
    return StatusOut(status="sent if the account exists and is unconfirmed")


@router.post("/password/forgot", status_code=202, dependencies=[AuthRateLimit])
async def forgot_password(body: EmailIn, state: State, background: BackgroundTasks) -> StatusOut:
    async with state.db.unit_of_work() as conn:
        await email_flows.do_forgot_password(conn, settings=state.settings, email=body.email)
    background.add_task(deliver_mail, state)
    return StatusOut(status="sent if the account exists")


@router.post("/password/reset", dependencies=[AuthRateLimit])
async def reset_password(body: ResetIn, state: State) -> StatusOut:
    async with state.db.unit_of_work() as conn:
        await email_flows.do_reset_password(conn, token=body.token, password=body.password)
    return StatusOut(status="password changed; all sessions were signed out")


@router.get("/sessions")
async def list_sessions(ctx: AuthCtx) -> list[SessionOut]:
    rows = await sessions.list_own_sessions(ctx.conn, principal=ctx.principal)
    return [
        SessionOut(
            id=r.id,
            created_at=r.created_at,
            last_used_at=r.last_used_at,
            expires_at=r.expires_at,
            ip=r.ip,
            user_agent=r.user_agent,
            current=r.id == ctx.principal.session_id,
        )
        for r in rows
    ]


@router.delete("/sessions/{session_id}", status_code=204, response_class=Response)
async def revoke_session(session_id: UUID, ctx: AuthCtx) -> None:
    await sessions.do_revoke_own_session(ctx.conn, principal=ctx.principal, session_id=session_id)


def _key_out(row: object) -> ApiKeyOut:
    return ApiKeyOut.model_validate(row, from_attributes=True)


@keys_router.get("")
async def list_api_keys(ctx: AuthCtx) -> list[ApiKeyOut]:
    return [_key_out(row) for row in await api_keys.list_visible(ctx.conn, principal=ctx.principal)]


@keys_router.post("", status_code=201)
async def create_api_key(body: ApiKeyIn, ctx: AuthCtx) -> ApiKeyCreatedOut:
    expires_at = (
        datetime.now(UTC) + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    )
    created = await api_keys.do_create(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        name=body.name,
        scope=body.scope,
        expires_at=expires_at,
    )
    return ApiKeyCreatedOut(**_key_out(created.row).model_dump(), key=created.key)


@keys_router.delete("/{key_id}", status_code=204, response_class=Response)
async def revoke_api_key(key_id: UUID, ctx: AuthCtx) -> None:
    await api_keys.do_revoke(ctx.conn, principal=ctx.principal, key_id=key_id)


@keys_router.post("/{key_id}/rotate", status_code=201)
async def rotate_api_key(key_id: UUID, body: ApiKeyRotateIn, ctx: AuthCtx) -> ApiKeyCreatedOut:
    created = await api_keys.do_rotate(
        ctx.conn,
        principal=ctx.principal,
        key_id=key_id,
        overlap=timedelta(hours=body.overlap_hours),
    )
    return ApiKeyCreatedOut(**_key_out(created.row).model_dump(), key=created.key)
