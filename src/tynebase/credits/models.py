from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from tynebase.db.metadata import created_at, metadata, one_of, tenant_fk, uuid_pk

CHARGE_STATUSES = ("reserved", "committed", "released")

# One row per tenant and month: the allowance of that month (a new month starts a new pool;
# unused credits do not carry over).
credit_pools = sa.Table(
    "credit_pools",
    metadata,
    tenant_fk(),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("allowance_millis", sa.BigInteger, nullable=False),
    sa.Column("tier", sa.Text, nullable=False),
    created_at(),
    sa.PrimaryKeyConstraint("tenant_id", "period_start"),
    sa.CheckConstraint("allowance_millis >= 0", name="allowance_positive"),
)

# The ledger: one row per AI operation, reserved → committed (charged) | released. A job's
# operation is one row (unique per job), so a job is charged at most once whatever its retries.
credit_charges = sa.Table(
    "credit_charges",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("operation", sa.Text, nullable=False),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="reserved"),
    sa.Column("reserved_millis", sa.BigInteger, nullable=False),
    sa.Column("charged_millis", sa.BigInteger),
    # No foreign key: the ledger outlives jobs and users.
    sa.Column("job_id", UUID(as_uuid=True)),
    sa.Column("user_id", UUID(as_uuid=True)),
    sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    # Reservations without a job (a synchronous call) lapse at this time if never settled.
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("release_reason", sa.Text),
    created_at(),
    sa.Column("settled_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("tenant_id", "job_id"),
    sa.Index(
        "ix_credit_charges_tenant_id_period_start_status", "tenant_id", "period_start", "status"
    ),
    sa.Index(
        "ix_credit_charges_tenant_id_created_at", "tenant_id", sa.text("created_at DESC"), "id"
    ),
    sa.CheckConstraint("reserved_millis >= 0 AND charged_millis >= 0", name="amounts_positive"),
    one_of("status", CHARGE_STATUSES),
)

# A notice (80 %, 95 %) goes out once per threshold per month.
credit_notices = sa.Table(
    "credit_notices",
    metadata,
    tenant_fk(),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("threshold", sa.SmallInteger, nullable=False),
    sa.Column("used_millis", sa.BigInteger, nullable=False),
    sa.Column("allowance_millis", sa.BigInteger, nullable=False),
    created_at(),
    sa.PrimaryKeyConstraint("tenant_id", "period_start", "threshold"),
)
