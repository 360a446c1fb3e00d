"""The one MetaData every feature's tables join, and column helpers they share."""

from __future__ import annotations

from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

# A result row of any width (SQLAlchemy 2.1 types rows by their column types).
AnyRow: TypeAlias = "sa.Row[*tuple[Any, ...]]"

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def uuid_pk() -> sa.Column[Any]:
    return sa.Column(
        "id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
    )


def tenant_fk() -> sa.Column[Any]:
    """The `tenant_id` column every tenant-owned table carries (and RLS filters on)."""
    return sa.Column(
        "tenant_id",
        UUID(as_uuid=True),
        sa.ForeignKey("tenants.id", ondelete="CASCADE"),
        nullable=False,
    )


def created_at() -> sa.Column[Any]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def same_tenant_fk(
    column: str, table: str, *, ondelete: str = "CASCADE"
) -> sa.ForeignKeyConstraint:
    """A reference that must stay inside the tenant, enforced by the database: foreign keys are
    checked without RLS, so a plain FK would accept another tenant's id."""
    return sa.ForeignKeyConstraint(
        ["tenant_id", column], [f"{table}.tenant_id", f"{table}.id"], ondelete=ondelete
    )


def one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=f"{column}_valid")
