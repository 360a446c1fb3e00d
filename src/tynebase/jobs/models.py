from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from tynebase.db.metadata import created_at, metadata, one_of, tenant_fk, uuid_pk

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")

# What a tenant sees of a job; procrastinate's own tables hold the queue mechanics.
jobs = sa.Table(
    "jobs",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="queued"),
    sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("payload", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("result", JSONB),
    sa.Column("error", JSONB),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("queue_job_id", sa.BigInteger, index=True),
    sa.Column("created_by", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL")),
    created_at(),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
    sa.Index("ix_jobs_tenant_id_created_at", "tenant_id", "created_at"),
    one_of("status", JOB_STATUSES),
)
