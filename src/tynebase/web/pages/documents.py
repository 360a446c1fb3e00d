"""Workspace home, document view, new/edit, workflow, versions with diff and restore."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.documents import access, versions, workflow
from tynebase.documents import service as documents_service
from tynebase.documents.repo import Document, ListFilters
from tynebase.errors import ValidationFailed
from tynebase.taxonomy import collections_service
from tynebase.taxonomy import repo as taxonomy_repo
from tynebase.taxonomy import service as taxonomy_service
from tynebase.taxonomy.repo import Category
from tynebase.web.context import Page, PageCtx
from tynebase.web.markdown import render_markdown
from tynebase.web.pages.forms import attempt, form_dict, split_tags

router = APIRouter(prefix="/w/{subdomain}", include_in_schema=False)
VersionNo = Annotated[int, Query(ge=1, le=2**31 - 1)]


def _p(page: Page) -> tuple[AsyncConnection, Principal]:
    conn, me, _ = page.parts()
    return conn, me


async def _category_options(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Categories for a <select>, in tree order (no document counts: cheaper than the tree)."""
    children: dict[UUID | None, list[Category]] = {}
    for category in await taxonomy_repo.list_categories(conn):
        children.setdefault(category.parent_id, []).append(category)
    out: list[dict[str, Any]] = []

    def walk(parent: UUID | None, depth: int) -> None:
        for category in children.get(parent, []):
            out.append({"id": category.id, "label": "— " * depth + category.name})
            walk(category.id, depth + 1)

    walk(None, 0)
    return out


def _uuid_or_none(raw: str | None, field: str) -> UUID | None:
    if not raw:
        return None
    try:
        return UUID(raw)
    except ValueError:
        raise ValidationFailed("Not a valid choice", details={"field": field}) from None


@router.get("/")
async def home(
    page: PageCtx,
    category: UUID | None = None,
    uncategorised: bool = False,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    conn, me = _p(page)
    tenant_id = page.parts()[2].id
    tree = await taxonomy_service.category_tree(conn, principal=me, tenant_id=tenant_id)
    collections = await collections_service.list_collections(conn, principal=me)
    listing = await documents_service.list_documents(
        conn,
        principal=me,
        tenant_id=tenant_id,
        filters=ListFilters(category_id=category, uncategorised=uncategorised, tag=tag),
        cursor_token=cursor,
        limit=30,
    )
    filters = {
        k: v
        for k, v in {
            "category": category,
            "uncategorised": uncategorised or None,
            "tag": tag,
        }.items()
        if v
    }
    return page.render(
        "ws/home.html",
        categories=tree,
        collections=collections,
        documents=listing.rows,
        tags=listing.tags,
        next_cursor=listing.next_cursor,
        filter_qs="&" + urlencode(filters) if filters else "",
        heading="Documents" if filters else "Recent documents",
    )


@router.get("/documents/new")
async def new_form(page: PageCtx) -> Response:
    conn, _me = _p(page)
    return page.render(
        "ws/document_new.html",
        form={},
        category_options=await _category_options(conn),
        templates=await taxonomy_service.list_templates(conn),
    )


@router.post("/documents/new")
async def create(page: PageCtx) -> Response:
    conn, me = _p(page)
    data = await form_dict(page.request)
    tenant_id = page.parts()[2].id

    async def change() -> Document:
        return await documents_service.do_create(
            conn,
            principal=me,
            tenant_id=tenant_id,
            title=data.get("title", ""),
            body=data.get("body", "").replace("\r\n", "\n"),
            visibility=data.get("visibility") or "team",
            category_id=_uuid_or_none(data.get("category_id"), "category_id"),
            tags=split_tags(data.get("tags")),
        )

    if data.get("visibility", "team") not in ("team", "private", "public"):
        data["visibility"] = "team"
    document, error = await attempt(conn, change)
    if error is not None or document is None:
        return page.render(
            "ws/document_new.html",
            status_code=error.status if error else 400,
            form=data,
            category_options=await _category_options(conn),
            templates=await taxonomy_service.list_templates(conn),
            error=error.message if error else "Not created",
        )
    return page.redirect(f"{page.base}/d/{document.id}/edit")


@router.post("/templates/{template_id}/use")
async def use_template(page: PageCtx, template_id: UUID) -> Response:
    conn, me = _p(page)
    document = await taxonomy_service.do_use_template(
        conn, principal=me, tenant_id=page.parts()[2].id, template_id=template_id, title=None,
        category_id=None,
    )  # fmt: skip
    return page.redirect(f"{page.base}/d/{document.id}/edit")


async def _document_page(page: Page, document: Document, *, error: str | None = None) -> Response:
    conn, me = _p(page)
    rights = document.rights
    editing = access.can_edit(me, **rights)
    # Editors see the pending draft; readers the published text.
    showing_draft = editing and document.has_pending_draft
    title = (document.draft_title or document.title) if showing_draft else document.title
    body = (
        document.draft_body if showing_draft and document.draft_body is not None else document.body
    )
    return page.render(
        "ws/document.html",
        doc=document,
        title=title,
        html=await render_markdown(body),
        tags=await documents_service.tags_of(conn, document.id),
        version_number=document.current_version,
        showing_draft=showing_draft,
        can_edit=editing,
        can_publish=access.can_publish(me, **rights)
        and (document.status != "published" or document.has_pending_draft),
        can_submit=editing and not me.has_role("editor") and document.status == "draft",
        can_delete=access.can_delete(me, **rights),
        error=error,
    )


@router.get("/d/{document_id}")
async def view(page: PageCtx, document_id: UUID) -> Response:
    conn, me = _p(page)
    document = await documents_service.access_document(conn, principal=me, document_id=document_id)
    return await _document_page(page, document)


@router.get("/d/{document_id}/edit")
async def editor(page: PageCtx, document_id: UUID) -> Response:
    conn, me = _p(page)
    document = await documents_service.access_document(conn, principal=me, document_id=document_id)
    return page.render(
        "ws/editor.html",
        doc=document,
        tags=await documents_service.tags_of(conn, document.id),
        can_edit=access.can_edit(me, **document.rights),
        category_options=await _category_options(conn),
    )


@router.post("/d/{document_id}/meta")
async def save_meta(page: PageCtx, document_id: UUID) -> Response:
    conn, me = _p(page)
    data = await form_dict(page.request)
    visibility = data.get("visibility")
    await documents_service.do_update(
        conn,
        principal=me,
        document_id=document_id,
        title=data.get("title"),
        visibility=visibility if visibility in ("team", "private", "public") else None,
        category_id=_uuid_or_none(data.get("category_id"), "category_id"),
        tags=split_tags(data.get("tags")),
    )
    return page.redirect(f"{page.base}/d/{document_id}/edit")


@router.get("/d/{document_id}/edit-text")
async def edit_text_form(page: PageCtx, document_id: UUID) -> Response:
    conn, me = _p(page)
    document = await documents_service.access_document(conn, principal=me, document_id=document_id)
    access.check_edit(me, **document.rights)
    body = document.draft_body if document.draft_body is not None else document.body
    return page.render("ws/edit_text.html", doc=document, body=body)


@router.post("/d/{document_id}/edit-text")
async def edit_text(page: PageCtx, document_id: UUID) -> Response:
    conn, me = _p(page)
    data = await form_dict(page.request)
    await documents_service.do_update(
        conn, principal=me, document_id=document_id, title=data.get("title"),
        body=data.get("body", "").replace("\r\n", "\n"),
    )  # fmt: skip
    return page.redirect(f"{page.base}/d/{document_id}")


async def _workflow(page: Page, document_id: UUID, action: str) -> Response:
    conn, me = _p(page)
    steps = {
        "publish": workflow.do_publish,
        "submit": workflow.do_submit,
        "discard": workflow.do_discard_draft,
    }

    async def change() -> Document:
        return await steps[action](conn, principal=me, document_id=document_id)

    _, error = await attempt(conn, change)
    document = await documents_service.access_document(conn, principal=me, document_id=document_id)
    if error is not None:
        return await _document_page(page, document, error=error.message)
    return page.redirect(f"{page.base}/d/{document_id}")


@router.post("/d/{document_id}/publish")
async def publish(page: PageCtx, document_id: UUID) -> Response:
    return await _workflow(page, document_id, "publish")


@router.post("/d/{document_id}/submit")
async def submit(page: PageCtx, document_id: UUID) -> Response:
    return await _workflow(page, document_id, "submit")


@router.post("/d/{document_id}/delete")
async def delete(page: PageCtx, document_id: UUID) -> Response:
    conn, me = _p(page)
    await documents_service.do_delete(conn, principal=me, document_id=document_id)
    return page.redirect(f"{page.base}/")


@router.get("/d/{document_id}/versions")
async def version_list(
    page: PageCtx, document_id: UUID, cursor: Annotated[str | None, Query(max_length=200)] = None
) -> Response:
    conn, me = _p(page)
    document = await documents_service.access_document(conn, principal=me, document_id=document_id)
    listing = await versions.list_versions(
        conn, principal=me, document_id=document_id, cursor_token=cursor, limit=50
    )
    return page.render(
        "ws/versions.html",
        doc=document,
        versions=listing.rows,
        next_cursor=listing.next_cursor,
        can_edit=access.can_edit(me, **document.rights),
    )


@router.get("/d/{document_id}/versions/{number}")
async def version_view(page: PageCtx, document_id: UUID, number: int) -> Response:
    conn, me = _p(page)
    if not 1 <= number < 2**31:
        raise ValidationFailed("No such version number", details={"field": "number"})
    document = await documents_service.access_document(conn, principal=me, document_id=document_id)
    version = await versions.access_version(
        conn, principal=me, document_id=document_id, number=number
    )
    return page.render(
        "ws/version.html", doc=document, version=version, html=await render_markdown(version.body)
    )


def _diff_lines(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        kind = "ctx"
        if line.startswith(("+++", "---")):
            kind = "hdr"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        elif line.startswith("@@"):
            kind = "hunk"
        out.append((kind, line))
    return out


@router.get("/d/{document_id}/diff")
async def diff(
    page: PageCtx,
    document_id: UUID,
    from_: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    to: VersionNo | None = None,
) -> Response:
    conn, me = _p(page)
    document = await documents_service.access_document(conn, principal=me, document_id=document_id)
    result = await versions.diff(
        conn, principal=me, document_id=document_id, from_number=from_, to_number=to
    )
    return page.render(
        "ws/diff.html",
        doc=document,
        diff=result,
        title_lines=_diff_lines(result.title_diff),
        body_lines=_diff_lines(result.body_diff),
    )


@router.post("/d/{document_id}/versions/{number}/restore")
async def restore(page: PageCtx, document_id: UUID, number: int) -> Response:
    conn, me = _p(page)
    if not 1 <= number < 2**31:
        raise ValidationFailed("No such version number", details={"field": "number"})
    await versions.do_restore(conn, principal=me, document_id=document_id, number=number)
    return page.redirect(f"{page.base}/d/{document_id}/versions")
