"""Category, tag and template routes: /api/categories, /api/tags, /api/templates."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.documents.schemas import DocumentOut, document_out
from tynebase.taxonomy import service
from tynebase.taxonomy.repo import Category, Tag, TagCount, Template
from tynebase.taxonomy.schemas import (
    CategoryIn,
    CategoryNode,
    CategoryOut,
    CategoryTreeOut,
    CategoryUpdateIn,
    TagCountOut,
    TagIn,
    TagOut,
    TagRenamedOut,
    TemplateIn,
    TemplateOut,
    TemplateUpdateIn,
    TemplateUseIn,
    UncategorisedNode,
)

categories_router = APIRouter(
    prefix="/api/categories", tags=["categories"], responses=COMMON_ERRORS
)
tags_router = APIRouter(prefix="/api/tags", tags=["tags"], responses=COMMON_ERRORS)
templates_router = APIRouter(prefix="/api/templates", tags=["templates"], responses=COMMON_ERRORS)


# --- categories ---------------------------------------------------------------------------------


def _category_out(category: Category) -> CategoryOut:
    return CategoryOut(
        id=category.id,
        parent_id=category.parent_id,
        name=category.name,
        position=category.position,
        created_at=category.created_at,
    )


def _node_out(node: service.CategoryNode) -> CategoryNode:
    return CategoryNode(
        **_category_out(node.category).model_dump(),
        document_count=node.document_count,
        total_count=node.total_count,
        children=[_node_out(child) for child in node.children],
    )


@categories_router.get("")
async def category_tree(ctx: AuthCtx) -> CategoryTreeOut:
    """The category tree with readable-document counts, and the virtual Uncategorised node."""
    tree = await service.category_tree(ctx.conn, principal=ctx.principal, tenant_id=ctx.tenant.id)
    return CategoryTreeOut(
        categories=[_node_out(root) for root in tree.roots],
        uncategorised=UncategorisedNode(document_count=tree.uncategorised_count),
    )


@categories_router.post("", status_code=201)
async def create_category(body: CategoryIn, ctx: AuthCtx) -> CategoryOut:
    category = await service.do_create_category(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        name=body.name,
        parent_id=body.parent_id,
        position=body.position,
    )
    return _category_out(category)


@categories_router.patch("/{category_id}")
async def update_category(category_id: UUID, body: CategoryUpdateIn, ctx: AuthCtx) -> CategoryOut:
    category = await service.do_update_category(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        category_id=category_id,
        name=body.name,
        position=body.position,
        move="parent_id" in body.model_fields_set,
        parent_id=body.parent_id,
    )
    return _category_out(category)


@categories_router.delete("/{category_id}", status_code=204, response_class=Response)
async def delete_category(category_id: UUID, ctx: AuthCtx) -> None:
    """Its documents move to Uncategorised, its subcategories to its parent."""
    await service.do_delete_category(
        ctx.conn, principal=ctx.principal, tenant_id=ctx.tenant.id, category_id=category_id
    )


# --- tags ---------------------------------------------------------------------------------------


def _tag_out(tag: Tag) -> TagOut:
    return TagOut(id=tag.id, name=tag.name, created_at=tag.created_at)


def _tag_count_out(count: TagCount) -> TagCountOut:
    return TagCountOut(**_tag_out(count.tag).model_dump(), document_count=count.readable)


@tags_router.get("")
async def list_tags(ctx: AuthCtx) -> list[TagCountOut]:
    """Tags with the number of documents the caller may read that carry each."""
    return [_tag_count_out(c) for c in await service.list_tags(ctx.conn, principal=ctx.principal)]


@tags_router.post("", status_code=201)
async def create_tag(body: TagIn, ctx: AuthCtx) -> TagOut:
    tag = await service.do_create_tag(
        ctx.conn, principal=ctx.principal, tenant_id=ctx.tenant.id, name=body.name
    )
    return _tag_out(tag)


@tags_router.patch("/{tag_id}")
async def rename_tag(tag_id: UUID, body: TagIn, ctx: AuthCtx) -> TagRenamedOut:
    """Rename; onto an existing tag's name, the two merge (the answer is the remaining tag)."""
    tag, merged_from = await service.do_rename_tag(
        ctx.conn, principal=ctx.principal, tag_id=tag_id, name=body.name
    )
    return TagRenamedOut(**_tag_out(tag).model_dump(), merged_from=merged_from)


@tags_router.delete("/{tag_id}", status_code=204, response_class=Response)
async def delete_tag(tag_id: UUID, ctx: AuthCtx) -> None:
    await service.do_delete_tag(ctx.conn, principal=ctx.principal, tag_id=tag_id)


# --- templates ----------------------------------------------------------------------------------


def _template_out(template: Template) -> TemplateOut:
    return TemplateOut(
        id=template.id,
        scope="global" if template.is_global else "tenant",
        name=template.name,
        description=template.description,
        title=template.title,
        body=template.body,
        created_by=template.created_by,
        created_at=template.created_at,
    )


@templates_router.get("")
async def list_templates(ctx: AuthCtx) -> list[TemplateOut]:
    """Global templates (read-only), then the workspace's own."""
    return [_template_out(t) for t in await service.list_templates(ctx.conn)]


@templates_router.post("", status_code=201)
async def create_template(body: TemplateIn, ctx: AuthCtx) -> TemplateOut:
    template = await service.do_create_template(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        name=body.name,
        description=body.description,
        title=body.title,
        body=body.body,
    )
    return _template_out(template)


@templates_router.get("/{template_id}")
async def get_template(template_id: UUID, ctx: AuthCtx) -> TemplateOut:
    return _template_out(await service.access_template(ctx.conn, template_id=template_id))


@templates_router.patch("/{template_id}")
async def update_template(template_id: UUID, body: TemplateUpdateIn, ctx: AuthCtx) -> TemplateOut:
    template = await service.do_update_template(
        ctx.conn,
        principal=ctx.principal,
        template_id=template_id,
        name=body.name,
        description=body.description,
        title=body.title,
        body=body.body,
    )
    return _template_out(template)


@templates_router.delete("/{template_id}", status_code=204, response_class=Response)
async def delete_template(template_id: UUID, ctx: AuthCtx) -> None:
    await service.do_delete_template(ctx.conn, principal=ctx.principal, template_id=template_id)


@templates_router.post("/{template_id}/use", status_code=201)
async def use_template(
    template_id: UUID, ctx: AuthCtx, body: TemplateUseIn | None = None
) -> DocumentOut:
    """A new draft document from the template (contributors and above)."""
    body = body or TemplateUseIn()
    document = await service.do_use_template(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        template_id=template_id,
        title=body.title,
        category_id=body.category_id,
    )
    return document_out(ctx.principal, document, tags=[])
