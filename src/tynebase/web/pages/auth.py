"""Signup, login/logout, email confirmation, password reset and invite acceptance pages.

The mails' links point at `/confirm`, `/reset` and `/invite` (see auth.email_flows and
users.service), so these pages live at the root; the login page is per workspace."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from tynebase.api.deps import client_ip
from tynebase.auth import email_flows, sessions
from tynebase.auth import service as auth_service
from tynebase.auth.schemas import EmailIn, LoginIn, ResetIn, SignupIn, TokenIn
from tynebase.auth.service import Refusal
from tynebase.errors import TynebaseError
from tynebase.tenants import repo as tenants_repo
from tynebase.tenants import service as tenants_service
from tynebase.users import service as users_service
from tynebase.users.schemas import InviteAcceptIn
from tynebase.web.context import AnonCtx, PageCtx, check_subdomain_path, is_secure
from tynebase.web.pages.forms import form_dict, parse, safe_next
from tynebase.web.session import clear_session_cookies, set_session_cookies, workspace_path

router = APIRouter(include_in_schema=False)


async def _limit(page: AnonCtx) -> None:
    await page.state.limiter.check_auth_ip(client_ip(page.request))


@router.get("/")
async def landing(page: AnonCtx, workspace: str = "") -> Response:
    return page.render("auth/landing.html", workspace=workspace)


@router.get("/go")
async def go(page: AnonCtx, workspace: Annotated[str, Query(max_length=63)] = "") -> Response:
    sub = workspace.strip().lower()
    try:
        check_subdomain_path(sub)
    except TynebaseError as exc:
        return page.render("auth/landing.html", status_code=404, error=exc.message)
    return page.redirect(f"{workspace_path(sub)}/login")


@router.get("/signup")
async def signup_form(page: AnonCtx) -> Response:
    return page.render("auth/signup.html", form={})


@router.post("/signup")
async def signup(page: AnonCtx) -> Response:
    data = await form_dict(page.request)
    try:
        await _limit(page)
        body = parse(SignupIn, data)
        async with page.state.db.unit_of_work() as conn:
            result = await auth_service.do_signup(
                conn,
                settings=page.state.settings,
                email=body.email,
                password=body.password,
                name=body.name,
                tenant_name=body.tenant_name,
                subdomain=body.subdomain,
            )
    except TynebaseError as exc:
        data.pop("password", None)
        return page.render("auth/signup.html", status_code=exc.status, form=data, error=exc.message)
    login = f"{workspace_path(result.tenant.subdomain)}/login"
    if result.confirmation_required:
        return page.render(
            "auth/message.html",
            heading="Check your mail",
            message=f"We sent a confirmation link to {result.user.email}. Open it, then log in.",
            link=login,
            link_text="Go to the login page",
        )
    return page.redirect(login)


def _token_page(page: AnonCtx, **values: object) -> Response:
    status = values.pop("status_code", 200)
    assert isinstance(status, int)
    return page.render("auth/token_form.html", status_code=status, **values)


@router.get("/confirm")
async def confirm_form(
    page: AnonCtx, token: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    return _token_page(
        page, heading="Confirm your email", action="/confirm", token=token,
        ask_token=not token, button="Confirm my email",
    )  # fmt: skip


@router.post("/confirm")
async def confirm(page: AnonCtx) -> Response:
    data = await form_dict(page.request)
    try:
        await _limit(page)
        body = parse(TokenIn, data)
        async with page.state.db.unit_of_work() as conn:
            await email_flows.do_confirm(conn, token=body.token)
    except TynebaseError as exc:
        return _token_page(
            page, heading="Confirm your email", action="/confirm", ask_token=True,
            button="Confirm my email", error=exc.message, status_code=exc.status,
        )  # fmt: skip
    return page.render(
        "auth/message.html",
        heading="Email confirmed",
        message="Your email address is confirmed. You can log in now.",
        link="/",
        link_text="Log in",
    )


# The two "send me a mail" forms: an address in, a flow of `email_flows` run, the same answer
# whether or not the account exists (nothing to learn about who has one).
_RESEND = {"heading": "Resend the confirmation mail", "action": "/confirm/resend", "button": "Send"}
_FORGOT = {"heading": "Reset your password", "action": "/forgot", "button": "Send a reset link"}
EmailFlow = Callable[..., Awaitable[object]]


async def _send_mail_form(
    page: AnonCtx, form: dict[str, str], flow: EmailFlow, sent: str
) -> Response:
    data = await form_dict(page.request)
    try:
        await _limit(page)
        body = parse(EmailIn, data)
        async with page.state.db.unit_of_work() as conn:
            await flow(conn, settings=page.state.settings, email=body.email)
    except TynebaseError as exc:
        return _token_page(page, **form, ask_email=True, error=exc.message, status_code=exc.status)
    return page.render("auth/message.html", heading="Check your mail", message=sent)


@router.get("/confirm/resend")
async def resend_form(page: AnonCtx) -> Response:
    return _token_page(page, **_RESEND, ask_email=True)


@router.post("/confirm/resend")
async def resend(page: AnonCtx) -> Response:
    return await _send_mail_form(
        page,
        _RESEND,
        email_flows.do_resend_confirmation,
        "If that account exists and is unconfirmed, a new link is on its way.",
    )


@router.get("/forgot")
async def forgot_form(page: AnonCtx) -> Response:
    return _token_page(page, **_FORGOT, ask_email=True)


@router.post("/forgot")
async def forgot(page: AnonCtx) -> Response:
    return await _send_mail_form(
        page,
        _FORGOT,
        email_flows.do_forgot_password,
        "If an account exists for that address, a reset link is on its way.",
    )


@router.get("/reset")
async def reset_form(page: AnonCtx, token: Annotated[str, Query(max_length=200)] = "") -> Response:
    return _token_page(
        page, heading="Choose a new password", action="/reset", token=token,
        ask_token=not token, ask_password=True, button="Change password",
    )  # fmt: skip


@router.post("/reset")
async def reset(page: AnonCtx) -> Response:
    data = await form_dict(page.request)
    try:
        await _limit(page)
        body = parse(ResetIn, data)
        async with page.state.db.unit_of_work() as conn:
            await email_flows.do_reset_password(conn, token=body.token, password=body.password)
    except TynebaseError as exc:
        return _token_page(
            page, heading="Choose a new password", action="/reset", ask_token=True,
            token=data.get("token", ""), ask_password=True, button="Change password",
            error=exc.message, status_code=exc.status,
        )  # fmt: skip
    return page.render(
        "auth/message.html",
        heading="Password changed",
        message="Your password is changed and every session was signed out. Log in again.",
        link="/",
        link_text="Log in",
    )


@router.get("/invite")
async def invite_form(
    page: AnonCtx,
    tenant: Annotated[str, Query(max_length=63)] = "",
    token: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    return _token_page(
        page, heading="Join the workspace", action="/invite", token=token, ask_token=not token,
        hidden={"tenant": tenant}, ask_name=True, ask_password=True,
        password_label="Password (new accounts, at least 12 characters)",  # noqa: S106
        button="Join",
    )  # fmt: skip


@router.post("/invite")
async def accept_invite(page: AnonCtx) -> Response:
    data = await form_dict(page.request)
    sub = data.pop("tenant", "").strip().lower()
    try:
        await _limit(page)
        check_subdomain_path(sub)
        body = parse(
            InviteAcceptIn,
            {k: v for k, v in data.items() if v or k == "token"},
        )
        async with page.state.db.unit_of_work() as conn:
            tenant = await tenants_service.access_and_enter(conn, subdomain=sub)
            await users_service.do_accept_invite(
                conn, tenant=tenant, token=body.token, name=body.name, password=body.password
            )
    except TynebaseError as exc:
        return _token_page(
            page, heading="Join the workspace", action="/invite", token=data.get("token", ""),
            hidden={"tenant": sub}, ask_name=True, ask_password=True, button="Join",
            error=exc.message, status_code=exc.status,
        )  # fmt: skip
    return page.redirect(f"{workspace_path(sub)}/login")


@router.get("/w/{subdomain}/login")
async def login_form(
    page: AnonCtx, subdomain: str, next: Annotated[str, Query(max_length=500)] = ""
) -> Response:
    check_subdomain_path(subdomain)
    async with page.state.db.unit_of_work() as conn:
        tenant = await tenants_repo.get_by_subdomain(conn, subdomain)
    if tenant is None:
        return page.render(
            "auth/landing.html", status_code=404, error=f"Workspace '{subdomain}' does not exist"
        )
    return page.render(
        "auth/login.html", subdomain=subdomain, workspace_name=tenant.name, next=next
    )


@router.post("/w/{subdomain}/login")
async def login(page: AnonCtx, subdomain: str) -> Response:
    check_subdomain_path(subdomain)
    request: Request = page.request
    data = await form_dict(request)
    prefix = workspace_path(subdomain)
    name = subdomain
    try:
        await _limit(page)
        body = parse(LoginIn, data)
        async with page.state.db.unit_of_work() as conn:
            tenant = await tenants_service.access_and_enter(conn, subdomain=subdomain)
            name = tenant.name
            outcome = await auth_service.do_login(
                conn,
                settings=page.state.settings,
                keyring=page.state.keyring,
                tenant=tenant,
                email=body.email,
                password=body.password,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
            )
        if isinstance(outcome, Refusal):  # committed: the failed attempt counts
            raise outcome.error
    except TynebaseError as exc:
        page.state.metrics.auth_failures.labels(exc.code).inc()
        return page.render(
            "auth/login.html", status_code=exc.status, subdomain=subdomain, workspace_name=name,
            next=data.get("next", ""), email=data.get("email", ""), error=exc.message,
        )  # fmt: skip
    response = RedirectResponse(safe_next(data.get("next"), prefix), status_code=303)
    set_session_cookies(
        response,
        subdomain=subdomain,
        tokens=outcome,
        secure=is_secure(request),
        refresh_ttl=page.state.settings.refresh_token_ttl_seconds,
    )
    return page.finish(response)


@router.post("/w/{subdomain}/logout")
async def logout(page: PageCtx) -> Response:
    conn, me, tenant = page.parts()
    await sessions.do_logout(conn, principal=me)
    response = page.redirect(f"{page.base}/login")
    clear_session_cookies(response, subdomain=tenant.subdomain, secure=is_secure(page.request))
    return response
