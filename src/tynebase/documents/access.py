"""Who may do what with a document. One rule set, used both in Python (`can_*`) and in SQL
(`readable_clause`) so lists, search and single reads can never disagree.

- private: its author (and admins) only
- admins and editors read everything else; contributors and viewers read what is published,
  plus (contributors) their own documents
- admins and editors edit and publish; contributors edit their own documents and submit them
  for review; viewers only read
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tynebase.auth.principal import Principal
from tynebase.documents.models import documents


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


def readable_clause(principal: Principal, table: sa.Table = documents) -> sa.ColumnElement[bool]:
    """SQL form of `can_read` for lists and search (RLS already limits rows to the tenant)."""
    own = table.c.author_id == principal.user_id
    if principal.role == "admin":
        return sa.true()
    not_private = table.c.visibility != "private"
    if principal.role == "editor":
        return sa.or_(own, not_private)
    return sa.or_(own, sa.and_(not_private, table.c.status == "published"))
