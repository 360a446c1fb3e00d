"""Request and response shapes for categories, tags, collections and templates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

# PostgreSQL text cannot hold NUL: refuse it here (400) rather than fail the INSERT (500).
_NO_NUL = r"^[^\x00]*$"


def _name(max_length: int) -> StringConstraints:
    return StringConstraints(
        strip_whitespace=True, min_length=1, max_length=max_length, pattern=_NO_NUL
    )


CategoryName = Annotated[str, _name(200)]
TagName = Annotated[str, _name(64)]
CollectionName = Annotated[str, _name(200)]
TemplateName = Annotated[str, _name(200)]
Description = Annotated[str, StringConstraints(max_length=2000, pattern=_NO_NUL)]
# The documents service checks the limits (title ≤ 500 characters, body ≤ 10 MB) with its codes.
Title = Annotated[str, StringConstraints(pattern=_NO_NUL)]
Body = Annotated[str, StringConstraints(pattern=_NO_NUL)]
# Kept well inside PostgreSQL's integer.
Position = Annotated[int, Field(ge=0, le=1_000_000)]


# --- categories ---------------------------------------------------------------------------------


class CategoryIn(BaseModel):
    name: CategoryName
    parent_id: UUID | None = None
    position: Position = 0


class CategoryUpdateIn(BaseModel):
    """Only the fields sent change; `"parent_id": null` moves the category to the top level."""

    name: CategoryName | None = None
    parent_id: UUID | None = None
    position: Position | None = None


class CategoryOut(BaseModel):
    id: UUID
    parent_id: UUID | None
    name: str
    position: int
    created_at: datetime


class CategoryNode(CategoryOut):
    # Documents the caller may read: directly in this category, and in it or any descendant.
    document_count: int
    total_count: int
    children: list[CategoryNode]


class UncategorisedNode(BaseModel):
    """The virtual category of documents without one (`category_id` null)."""

    id: None = None
    name: Literal["Uncategorised"] = "Uncategorised"
    document_count: int


class CategoryTreeOut(BaseModel):
    categories: list[CategoryNode]
    uncategorised: UncategorisedNode


# --- tags ---------------------------------------------------------------------------------------


class TagIn(BaseModel):
    name: TagName


class TagOut(BaseModel):
    id: UUID
    name: str
    created_at: datetime


class TagCountOut(TagOut):
    document_count: int  # documents the caller may read


class TagRenamedOut(TagOut):
    # The id of the tag that was renamed onto this one and merged into it, if any.
    merged_from: UUID | None = None


# --- collections --------------------------------------------------------------------------------

CollectionVisibility = Literal["team", "private"]
CollectionRole = Literal["viewer", "editor"]
CollectionAccessLevel = Literal["read", "edit", "manage"]


class CollectionIn(BaseModel):
    name: CollectionName
    description: Description = ""
    visibility: CollectionVisibility = "team"


class CollectionUpdateIn(BaseModel):
    name: CollectionName | None = None
    description: Description | None = None
    visibility: CollectionVisibility | None = None


class CollectionOut(BaseModel):
    id: UUID
    name: str
    description: str
    visibility: str
    created_by: UUID | None
    created_at: datetime
    access: CollectionAccessLevel  # what the caller may do with it
    document_count: int  # documents in it the caller may read


class CollectionMemberIn(BaseModel):
    role: CollectionRole


class CollectionMemberOut(BaseModel):
    user_id: UUID
    name: str
    email: str
    role: str
    added_at: datetime


class CollectionDetailOut(CollectionOut):
    members: list[CollectionMemberOut]


class CollectionDocumentIn(BaseModel):
    """Without `position`, a new document goes last and one already there keeps its place."""

    position: Position | None = None


class CollectionDocumentOut(BaseModel):
    id: UUID
    title: str
    status: str
    visibility: str
    category_id: UUID | None
    updated_at: datetime
    position: int
    added_at: datetime


class CollectionDocumentsOut(BaseModel):
    items: list[CollectionDocumentOut]
    next_cursor: str | None


# --- templates ----------------------------------------------------------------------------------


class TemplateIn(BaseModel):
    name: TemplateName
    description: Description = ""
    title: Title
    body: Body = ""


class TemplateUpdateIn(BaseModel):
    name: TemplateName | None = None
    description: Description | None = None
    title: Title | None = None
    body: Body | None = None


class TemplateOut(BaseModel):
    id: UUID
    scope: Literal["global", "tenant"]  # global templates ship with TyneBase and are read-only
    name: str
    description: str
    title: str
    body: str
    created_by: UUID | None
    created_at: datetime


class TemplateUseIn(BaseModel):
    title: Title | None = None  # the template's title when left out
    category_id: UUID | None = None
