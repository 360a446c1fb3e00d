"""Platform tables of operations: maintenance windows (OPS-8). No tenant_id: they concern
everyone, and every API process reads them."""

from __future__ import annotations

import sqlalchemy as sa

from tynebase.db.metadata import created_at, metadata, uuid_pk

maintenance_windows = sa.Table(
    "maintenance_windows",
    metadata,
    uuid_pk(),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    # Expected end: the Retry-After of refused writes; a read-only window stays on until `off`.
    sa.Column("ends_at", sa.DateTime(timezone=True)),
    # True: writes are refused now (`maintenance on`); false: an announced, scheduled window.
    sa.Column("read_only", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("ended_at", sa.DateTime(timezone=True)),  # switched off or cancelled
    sa.Column("announced_at", sa.DateTime(timezone=True)),  # users were mailed
    sa.Column("created_by", sa.Text),
    created_at(),
    sa.Index("ix_maintenance_windows_ended_at", "ended_at"),
)
