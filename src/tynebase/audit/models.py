"""The audit log table: append-only (a trigger refuses UPDATE/DELETE/TRUNCATE), RLS per tenant.

Rows with a NULL `tenant_id` are platform entries (super-admin and operator actions that belong
to no workspace). RLS shows them only to a transaction that sets `app.platform = 'on'`
(`audit.repo.enter_platform`), never to a tenant.

No foreign keys on purpose: the trail must outlive the users and workspaces it names (erasure
pseudonymises the actor instead; see `audit_pseudonymise` in migration 0007).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from tynebase.db.metadata import metadata, one_of, uuid_pk

ACTOR_KINDS = ("user", "api_key", "operator", "system", "anonymous")
OUTCOMES = ("success", "failure")
PLATFORM_SETTING = "app.platform"

audit_log = sa.Table(
    "audit_log",
    metadata,
    uuid_pk(),
    sa.Column("tenant_id", UUID(as_uuid=True)),
    sa.Column(
        "occurred_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False, server_default="success"),
    sa.Column("actor_kind", sa.Text, nullable=False),
    sa.Column("actor_user_id", UUID(as_uuid=True)),
    sa.Column("actor_label", sa.Text),  # email or operator name at the time (pseudonymisable)
    sa.Column("target_type", sa.Text),
    sa.Column("target_id", sa.Text),
    sa.Column("ip", sa.Text),
    sa.Column("request_id", sa.Text),
    sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Index("ix_audit_log_tenant_id_occurred_at", "tenant_id", "occurred_at", "id"),
    sa.Index("ix_audit_log_actor_user_id", "actor_user_id"),
    one_of("actor_kind", ACTOR_KINDS),
    one_of("outcome", OUTCOMES),
)
