from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from tynebase.db.metadata import created_at, metadata, one_of, tenant_fk, uuid_pk

ROLES = ("admin", "editor", "contributor", "viewer")
USER_STATUSES = ("active", "suspended")

users = sa.Table(
    "users",
    metadata,
    uuid_pk(),
    sa.Column("email", sa.Text, nullable=False, unique=True),  # stored lower-cased
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text),
    sa.Column("email_confirmed_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.Text, nullable=False, server_default="active"),
    sa.Column("is_superadmin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("first_failed_login_at", sa.DateTime(timezone=True)),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
    created_at(),
    one_of("status", USER_STATUSES),
)

memberships = sa.Table(
    "memberships",
    metadata,
    tenant_fk(),
    sa.Column(
        "user_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="active"),
    created_at(),
    sa.PrimaryKeyConstraint("tenant_id", "user_id"),
    one_of("role", ROLES),
    one_of("status", USER_STATUSES),
)

invites = sa.Table(
    "invites",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("invited_by", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("accepted_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    created_at(),
    sa.Index("ix_invites_tenant_id_email", "tenant_id", "email"),
    one_of("role", ROLES),
)
