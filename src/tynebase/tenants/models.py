from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from tynebase.db.metadata import created_at, metadata, one_of, uuid_pk

TIERS = ("free", "base", "pro", "enterprise")
TENANT_STATUSES = ("active", "suspended")

tenants = sa.Table(
    "tenants",
    metadata,
    uuid_pk(),
    sa.Column("subdomain", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("tier", sa.Text, nullable=False, server_default="free"),
    sa.Column("status", sa.Text, nullable=False, server_default="active"),
    sa.Column("settings", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    created_at(),
    one_of("tier", TIERS),
    one_of("status", TENANT_STATUSES),
)
