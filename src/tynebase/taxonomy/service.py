"""Categories, tags and templates (DOC-4, DOC-5). Collections are in `collections_service`.

Rules:

- Everyone in the workspace reads the category tree, the tags and the templates; editors and
  admins create, rename, move and delete categories, tags and tenant templates; contributors and
  above use a template (it makes a draft through the documents service).
- Categories form a tree; sibling names are unique ignoring case (409 CATEGORY_EXISTS); a move
  that would put a category under itself or a descendant is refused (409 CATEGORY_CYCLE).
  Deleting a category moves its documents to the virtual "Uncategorised" (category_id NULL), with
  a "moved" lineage entry each, and its children to its parent. Changes to the tree's shape
  take a per-tenant lock, so concurrent moves cannot build a cycle together.
- Counts (per category, per tag) count only documents the caller may read. A tag that is only on
  documents the caller may not read is hidden from them (its name can say what such a document
  is about); admins see every tag. Renaming a tag onto another tag's name merges the two.
- Global templates ship with TyneBase and are read-only (403 TEMPLATE_READ_ONLY).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.documents import lineage
from tynebase.documents import service as documents_service
from tynebase.documents.repo import Document
from tynebase.errors import Conflict, Forbidden, NotFound
from tynebase.taxonomy import repo
from tynebase.taxonomy.repo import Category, Tag, TagCount, Template

# --- categories ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryNode:
    category: Category
    document_count: int  # readable documents directly in it
    total_count: int  # readable documents in it and its descendants
    children: list[CategoryNode]


@dataclass(frozen=True)
class CategoryTree:
    roots: list[CategoryNode]
    uncategorised_count: int


async def access_category(
    conn: AsyncConnection, *, category_id: UUID, field: str | None = None
) -> Category:
    """The tenant's category; the same 404 whether it is missing or another tenant's."""
    category = await repo.get_category(conn, category_id)
    if category is None:
        details = {"field": field} if field else None
        raise NotFound("Category not found", code="CATEGORY_NOT_FOUND", details=details)
    return category


async def category_tree(
    conn: AsyncConnection, *, principal: Principal, tenant_id: UUID
) -> CategoryTree:
    """The whole tree with readable-document counts, plus the Uncategorised count."""
    everything = await repo.list_categories(conn)
    counts = await repo.readable_counts_by_category(conn, principal, tenant_id)
    children: dict[UUID | None, list[Category]] = {}
    for category in everything:
        children.setdefault(category.parent_id, []).append(category)

    def build(category: Category) -> CategoryNode:
        kids = [build(child) for child in children.get(category.id, [])]
        direct = counts.get(category.id, 0)
        return CategoryNode(
            category=category,
            document_count=direct,
            total_count=direct + sum(kid.total_count for kid in kids),
            children=kids,
        )

    return CategoryTree(
        roots=[build(root) for root in children.get(None, [])],
        uncategorised_count=counts.get(None, 0),
    )


async def _check_name_free(
    conn: AsyncConnection, *, parent_id: UUID | None, name: str, exclude_id: UUID | None = None
) -> None:
    if await repo.sibling_named(conn, parent_id=parent_id, name=name, exclude_id=exclude_id):
        raise Conflict(
            "A category with this name already exists here",
            code="CATEGORY_EXISTS",
            details={"name": name, "parent_id": str(parent_id) if parent_id else None},
        )


async def do_create_category(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    name: str,
    parent_id: UUID | None,
    position: int,
) -> Category:
    principal.check_role("editor")
    await repo.lock_category_tree(conn, tenant_id)
    if parent_id is not None:
        await access_category(conn, category_id=parent_id, field="parent_id")
    await _check_name_free(conn, parent_id=parent_id, name=name)
    return await repo.insert_category(
        conn, tenant_id=tenant_id, parent_id=parent_id, name=name, position=position
    )


async def do_update_category(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    category_id: UUID,
    name: str | None = None,
    position: int | None = None,
    move: bool = False,
    parent_id: UUID | None = None,
) -> Category:
    """Rename, reorder, and (with `move`) put under `parent_id` (None: the top level)."""
    principal.check_role("editor")
    await repo.lock_category_tree(conn, tenant_id)
    category = await access_category(conn, category_id=category_id)
    new_parent = parent_id if move else category.parent_id
    if new_parent != category.parent_id and new_parent is not None:
        await access_category(conn, category_id=new_parent, field="parent_id")
        if await repo.is_within(conn, category_id=new_parent, ancestor_id=category.id):
            raise Conflict(
                "A category cannot move under itself or one of its descendants",
                code="CATEGORY_CYCLE",
                details={"category_id": str(category.id), "parent_id": str(new_parent)},
            )
    new_name = category.name if name is None else name
    if new_parent != category.parent_id or new_name != category.name:
        await _check_name_free(conn, parent_id=new_parent, name=new_name, exclude_id=category.id)
    values: dict[str, object] = {"name": new_name, "parent_id": new_parent}
    if position is not None:
        values["position"] = position
    return await repo.update_category(conn, category.id, **values)


async def do_delete_category(
    conn: AsyncConnection, *, principal: Principal, tenant_id: UUID, category_id: UUID
) -> list[UUID]:
    """Delete a category: its documents go to Uncategorised (ids returned), its children to its
    parent. Refused (409 CATEGORY_EXISTS) if a child's name is taken there."""
    principal.check_role("editor")
    await repo.lock_category_tree(conn, tenant_id)
    category = await access_category(conn, category_id=category_id)
    clashes = await repo.clashing_child_names(
        conn, category_id=category.id, new_parent_id=category.parent_id
    )
    if clashes:
        raise Conflict(
            "Some subcategories would clash with categories of the same name where they would "
            "move; rename or move them first",
            code="CATEGORY_EXISTS",
            details={"names": clashes},
        )
    await repo.move_children(conn, category_id=category.id, new_parent_id=category.parent_id)
    moved = await repo.uncategorise_documents(conn, category.id)
    for document_id in moved:
        await lineage.record(
            conn,
            tenant_id=tenant_id,
            document_id=document_id,
            event="moved",
            actor_id=principal.user_id,
            # The keys of the documents service's own "moved" entries, plus why.
            details={
                "from": str(category.id),
                "to": None,
                "reason": "category_deleted",
                "category": category.name,
            },
        )
    await repo.delete_category(conn, category.id)
    return moved


# --- tags ---------------------------------------------------------------------------------------


def _tag_visible(principal: Principal, count: TagCount) -> bool:
    return principal.role == "admin" or count.readable > 0 or count.total == 0


async def list_tags(conn: AsyncConnection, *, principal: Principal) -> list[TagCount]:
    counts = await repo.list_tag_counts(conn, principal)
    return [count for count in counts if _tag_visible(principal, count)]


async def access_tag(conn: AsyncConnection, *, principal: Principal, tag_id: UUID) -> TagCount:
    count = await repo.get_tag_count(conn, principal, tag_id)
    if count is None or not _tag_visible(principal, count):
        raise NotFound("Tag not found", code="TAG_NOT_FOUND")
    return count


async def do_create_tag(
    conn: AsyncConnection, *, principal: Principal, tenant_id: UUID, name: str
) -> Tag:
    principal.check_role("editor")
    if await repo.get_tag_by_name(conn, name) is not None:
        raise Conflict("This tag already exists", code="TAG_EXISTS", details={"name": name})
    return await repo.insert_tag(conn, tenant_id=tenant_id, name=name)


async def do_rename_tag(
    conn: AsyncConnection, *, principal: Principal, tag_id: UUID, name: str
) -> tuple[Tag, UUID | None]:
    """Rename a tag; onto another tag's name, merge it into that tag. Returns the tag that
    remains and, after a merge, the id of the one merged away."""
    principal.check_role("editor")
    tag = (await access_tag(conn, principal=principal, tag_id=tag_id)).tag
    if name == tag.name:
        return tag, None
    other = await repo.get_tag_by_name(conn, name)
    if other is not None:
        await repo.merge_tag(conn, source_id=tag.id, target_id=other.id)
        return other, tag.id
    return await repo.rename_tag(conn, tag.id, name), None


async def do_delete_tag(conn: AsyncConnection, *, principal: Principal, tag_id: UUID) -> None:
    """Delete a tag; documents keep everything else."""
    principal.check_role("editor")
    tag = (await access_tag(conn, principal=principal, tag_id=tag_id)).tag
    await repo.delete_tag(conn, tag.id)


# --- templates ----------------------------------------------------------------------------------


async def list_templates(conn: AsyncConnection) -> list[Template]:
    return await repo.list_templates(conn)


async def access_template(conn: AsyncConnection, *, template_id: UUID) -> Template:
    """A global template or one of the tenant's; the same 404 for another tenant's."""
    template = await repo.get_template(conn, template_id)
    if template is None:
        raise NotFound("Template not found", code="TEMPLATE_NOT_FOUND")
    return template


def _check_writable(template: Template) -> None:
    if template.is_global:
        raise Forbidden(
            "Global templates are read-only; use it, or copy it into a template of your own",
            code="TEMPLATE_READ_ONLY",
        )


async def _check_template_name_free(
    conn: AsyncConnection, name: str, *, exclude_id: UUID | None = None
) -> None:
    if await repo.tenant_template_named(conn, name, exclude_id=exclude_id):
        raise Conflict(
            "A template with this name already exists",
            code="TEMPLATE_EXISTS",
            details={"name": name},
        )


async def do_create_template(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    name: str,
    description: str,
    title: str,
    body: str,
) -> Template:
    principal.check_role("editor")
    documents_service.check_content(title=title, body=body)
    await _check_template_name_free(conn, name)
    return await repo.insert_template(
        conn,
        tenant_id=tenant_id,
        name=name,
        description=description,
        title=title.strip(),
        body=body,
        created_by=principal.user_id,
    )


async def do_update_template(
    conn: AsyncConnection,
    *,
    principal: Principal,
    template_id: UUID,
    name: str | None = None,
    description: str | None = None,
    title: str | None = None,
    body: str | None = None,
) -> Template:
    principal.check_role("editor")
    template = await access_template(conn, template_id=template_id)
    _check_writable(template)
    documents_service.check_content(title=title, body=body)
    if name is not None:
        await _check_template_name_free(conn, name, exclude_id=template.id)
    values = {
        key: value
        for key, value in {
            "name": name,
            "description": description,
            "title": title.strip() if title is not None else None,
            "body": body,
        }.items()
        if value is not None
    }
    return await repo.update_template(conn, template.id, **values)


async def do_delete_template(
    conn: AsyncConnection, *, principal: Principal, template_id: UUID
) -> None:
    principal.check_role("editor")
    template = await access_template(conn, template_id=template_id)
    _check_writable(template)
    await repo.delete_template(conn, template.id)


async def do_use_template(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    template_id: UUID,
    title: str | None,
    category_id: UUID | None,
) -> Document:
    """A new draft from a template (contributors and above), recorded in its lineage."""
    principal.check_role("contributor")
    template = await access_template(conn, template_id=template_id)
    if category_id is not None:
        await access_category(conn, category_id=category_id, field="category_id")
    return await documents_service.do_create(
        conn,
        principal=principal,
        tenant_id=tenant_id,
        title=template.title if title is None else title,
        body=template.body,
        category_id=category_id,
        version_reason="create",
        lineage_event="created",
        lineage_details={"template_id": str(template.id), "template": template.name},
    )
