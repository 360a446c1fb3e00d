"""Who may do what with a document. One rule set, used both in Python (`can_*`) and in SQL
(`readable_clause`, `visible_versions_clause`) so lists, search and single reads never disagree.

- private: its author (and admins) only
- admins and editors read everything else; contributors and viewers read what is published,
  plus (contributors) their own documents
- admins and editors edit and publish; contributors edit their own documents and submit them
  for review; viewers only read
- whoever may edit a document may also share it, see its whole version history and its lineage;
  other readers see only the versions that were published
- deleting a document that has been published needs an editor (it disappears for readers)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tynebase.auth.principal import Principal
from tynebase.documents.models import document_versions, documents
from tynebase.errors import Forbidden

# Versions whose content readers have seen: what `publish` made live and later restores of a
# published document. Earlier versions (and collaborative saves) were drafts.
PUBLISHED_REASONS = ("publish", "restore")


def can_read(principal: Principal, *, author_id: Any, status: str, visibility: str) -> bool:
    own = bool(author_id == principal.user_id)
    if principal.role == "admin":
        return True
    if visibility == "private":
        return own
    if principal.role == "editor" or own:
        return True
    return status == "published"


def can_edit(principal: Principal, *, author_id: Any, status: str, visibility: str) -> bool:
    if not can_read(principal, author_id=author_id, status=status, visibility=visibility):
        return False
    if principal.has_role("editor"):
        return True
    return principal.role == "contributor" and author_id == principal.user_id


def can_publish(principal: Principal, *, author_id: Any, status: str, visibility: str) -> bool:
    return principal.has_role("editor") and can_read(
        principal, author_id=author_id, status=status, visibility=visibility
    )


def can_delete(principal: Principal, *, author_id: Any, status: str, visibility: str) -> bool:
    if not can_edit(principal, author_id=author_id, status=status, visibility=visibility):
        return False
    return status != "published" or principal.has_role("editor")


def check_edit(principal: Principal, *, author_id: Any, status: str, visibility: str) -> None:
    """Raise the precise 403 for a reader who may not change the document."""
    principal.check_role("contributor")
    if not can_edit(principal, author_id=author_id, status=status, visibility=visibility):
        raise Forbidden(
            "Only the author or an editor may change this document",
            code="NOT_DOCUMENT_AUTHOR",
            details={"role": principal.role},
        )


def readable_clause(principal: Principal, table: sa.Table = documents) -> sa.ColumnElement[bool]:
    """SQL form of `can_read` for lists and search (RLS already limits rows to the tenant)."""
    own = table.c.author_id == principal.user_id
    if principal.role == "admin":
        return sa.true()
    not_private = table.c.visibility != "private"
    if principal.role == "editor":
        return sa.or_(own, not_private)
    return sa.or_(own, sa.and_(not_private, table.c.status == "published"))


def published_versions_clause(document_id: Any) -> sa.ColumnElement[bool]:
    """The versions of `document_id` a reader who cannot edit it may see."""
    v, first = document_versions, document_versions.alias("first_publish")
    first_publish = (
        sa.select(sa.func.min(first.c.number))
        .where(first.c.document_id == document_id, first.c.reason == "publish")
        .scalar_subquery()
    )
    return sa.and_(v.c.reason.in_(PUBLISHED_REASONS), v.c.number >= first_publish)
