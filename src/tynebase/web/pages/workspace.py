"""Search, files and imports, jobs, members and invites, settings and branding."""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import ROLE_RANK, Principal
from tynebase.errors import ValidationFailed
from tynebase.files import repo as files_repo
from tynebase.files import service as files_service
from tynebase.jobs import service as jobs_service
from tynebase.search import service as search_service
from tynebase.users import repo as users_repo
from tynebase.users import service as users_service
from tynebase.users.schemas import InviteIn
from tynebase.web import branding
from tynebase.web.context import Page, PageCtx
from tynebase.web.pages.forms import attempt, form_dict, parse

router = APIRouter(prefix="/w/{subdomain}", include_in_schema=False)
ROLES = sorted(ROLE_RANK, key=ROLE_RANK.__getitem__)


def _p(page: Page) -> tuple[AsyncConnection, Principal]:
    conn, me, _ = page.parts()
    return conn, me


def _segments(text: str, highlights: Any) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    cursor = 0
    for start, end in highlights:
        if start > cursor:
            out.append((text[cursor:start], False))
        out.append((text[start:end], True))
        cursor = end
    if cursor < len(text):
        out.append((text[cursor:], False))
    return out


async def _search(page: Page, q: str, mode: str) -> dict[str, Any]:
    conn, me = _p(page)
    values: dict[str, Any] = {"q": q, "mode": mode, "modes": search_service.MODES, "results": []}
    if not q.strip():
        return values

    async def run() -> Any:
        return await search_service.search_documents(
            conn, principal=me, text=q, mode=mode, limit=20
        )

    result, error = await attempt(conn, run)
    if error is not None or result is None:
        values["search_error"] = error.message if error else "Search failed"
        return values
    values["results"] = [
        {
            "id": r.hit.id,
            "status": r.hit.status,
            "title": _segments(r.hit.title, r.title_highlights),
            "snippet": _segments(r.snippet.text, r.snippet.highlights),
        }
        for r in result.results
    ]
    return values


@router.get("/search")
async def search(
    page: PageCtx,
    q: Annotated[str, Query(max_length=500)] = "",
    mode: Annotated[str, Query(max_length=20)] = "keyword",
) -> Response:
    return page.render("ws/search.html", **await _search(page, q, mode))


@router.get("/search/results")
async def search_results(
    page: PageCtx,
    q: Annotated[str, Query(max_length=500)] = "",
    mode: Annotated[str, Query(max_length=20)] = "keyword",
) -> Response:
    """The results fragment for the Ctrl/Cmd+K dialog (htmx)."""
    return page.render("ws/search_results.html", **await _search(page, q, mode))


def _size(n: int | None) -> str:
    if n is None:
        return "unlimited"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1024  # type: ignore[assignment]
    return str(n)


@router.get("/files")
async def files(page: PageCtx) -> Response:
    conn, me = _p(page)
    me.check_role("contributor")
    rows = await files_repo.list_readable(
        conn, principal=me, limit=100, document_id=None, after=None
    )
    used = await files_repo.used_bytes(conn)
    quota = files_service.quota_for(page.state.settings, page.parts()[2].tier)
    return page.render(
        "ws/files.html", files=rows, usage_text=f"{_size(used)} used of {_size(quota)}"
    )


@router.get("/files/{file_id}/download")
async def download(page: PageCtx, file_id: UUID) -> Response:
    conn, me = _p(page)
    file = await files_service.access_file(conn, principal=me, file_id=file_id)
    path, _ = files_service.download_url(
        page.state.settings, tenant_id=page.parts()[2].id, file_id=file.id
    )
    return page.redirect(f"{page.base}{path}")


@router.get("/jobs/{job_id}")
async def job(page: PageCtx, job_id: UUID) -> Response:
    """A job's status fragment; polls itself (htmx) until the job is finished."""
    conn, me = _p(page)
    found = await jobs_service.access_job(conn, principal=me, job_id=job_id)
    result = found.result or {}
    error = found.error or {}
    view = {
        "id": found.id,
        "kind": found.kind,
        "status": found.status,
        "progress": found.progress,
        "error": error.get("message") if isinstance(error, dict) else None,
    }
    return page.render("ws/job.html", job=view, document_id=result.get("document_id"))


# --- members and invites -------------------------------------------------------------------------


async def _members_page(
    page: Page, *, error: str | None = None, flash: str | None = None
) -> Response:
    conn, me = _p(page)
    me.check_role("admin")
    return page.render(
        "ws/members.html",
        members=await users_repo.list_members(conn),
        invites=await users_service.list_invites(conn, principal=me),
        roles=ROLES,
        error=error,
        flash=flash,
    )


@router.get("/members")
async def members(page: PageCtx) -> Response:
    return await _members_page(page)


@router.post("/members/invite")
async def invite(page: PageCtx) -> Response:
    conn, me = _p(page)
    data = await form_dict(page.request)
    email, role = data.get("email", "").strip(), data.get("role", "")
    tenant = page.parts()[2]

    async def change() -> Any:
        body = parse(InviteIn, {"email": email, "role": role})
        return await users_service.do_invite(
            conn, settings=page.state.settings, principal=me, tenant=tenant,
            email=str(body.email), role=body.role,
        )  # fmt: skip

    _, error = await attempt(conn, change)
    if error is not None:
        return await _members_page(page, error=error.message)
    return await _members_page(page, flash=f"Invited {email} as {role}.")


@router.post("/members/{user_id}/role")
async def change_role(page: PageCtx, user_id: UUID) -> Response:
    conn, me = _p(page)
    data = await form_dict(page.request)
    role = data.get("role", "")

    async def change() -> Any:
        if role not in ROLE_RANK:
            raise ValidationFailed("Unknown role", details={"field": "role"})
        return await users_service.do_update_member(
            conn, principal=me, user_id=user_id, role=role, status=None
        )

    _, error = await attempt(conn, change)
    return await _members_page(page, error=error.message if error else None)


@router.post("/members/{user_id}/remove")
async def remove_member(page: PageCtx, user_id: UUID) -> Response:
    conn, me = _p(page)

    async def change() -> None:
        await users_service.do_remove_member(conn, principal=me, user_id=user_id)

    _, error = await attempt(conn, change)
    return await _members_page(page, error=error.message if error else None)


@router.post("/members/invites/{invite_id}/revoke")
async def revoke_invite(page: PageCtx, invite_id: UUID) -> Response:
    conn, me = _p(page)

    async def change() -> None:
        await users_service.do_revoke_invite(conn, principal=me, invite_id=invite_id)

    _, error = await attempt(conn, change)
    return await _members_page(page, error=error.message if error else None)


# --- settings and branding -----------------------------------------------------------------------

_COLOUR = re.compile(r"^#[0-9a-f]{6}$")


@router.get("/brand.css")
async def brand_css(page: PageCtx) -> Response:
    """The workspace colours as CSS custom properties (validated #rrggbb, so nothing else)."""
    brand = branding.branding_of(page.parts()[2])
    css = f":root{{--brand:{brand.primary_color};--accent:{brand.accent_color}}}\n"
    return Response(css, media_type="text/css", headers={"Cache-Control": "private, max-age=86400"})


async def _settings_page(
    page: Page, *, error: str | None = None, flash: str | None = None
) -> Response:
    conn, me = _p(page)
    me.check_role("admin")
    rows = await files_repo.list_readable(
        conn, principal=me, limit=200, document_id=None, after=None
    )
    images = [f for f in rows if f.content_type in branding.LOGO_TYPES]
    return page.render("ws/settings.html", images=images, error=error, flash=flash)


@router.get("/settings")
async def settings(page: PageCtx) -> Response:
    return await _settings_page(page)


@router.post("/settings")
async def save_settings(page: PageCtx) -> Response:
    conn, me = _p(page)
    data = await form_dict(page.request)
    tenant = page.parts()[2]

    async def change() -> Any:
        logo_raw = data.get("logo_file_id") or None
        try:
            logo = UUID(logo_raw) if logo_raw else None
        except ValueError:
            raise ValidationFailed("Unknown logo", details={"field": "logo_file_id"}) from None
        return await branding.do_update(
            conn, principal=me, tenant=tenant, name=data.get("name"),
            primary_color=data.get("primary_color") or None,
            accent_color=data.get("accent_color") or None, logo_file_id=logo,
        )  # fmt: skip

    updated, error = await attempt(conn, change)
    if updated is not None:
        page.tenant = updated
    return await _settings_page(
        page, error=error.message if error else None, flash=None if error else "Saved."
    )
