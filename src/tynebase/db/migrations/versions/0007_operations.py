"""Operations: audit log, maintenance windows (OPS-8..10).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from tynebase.db.rls import CURRENT_TENANT_SQL, POLICY_NAME, disable_tenant_rls_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Tenants see their own entries; platform entries (NULL tenant) only a transaction that asks for
# them with app.platform = 'on' (super-admin and operator paths).
AUDIT_VISIBLE = (
    f"tenant_id = {CURRENT_TENANT_SQL} "
    "OR (tenant_id IS NULL AND current_setting('app.platform', true) = 'on')"
)

# Append-only, with one guarded exception: GDPR erasure pseudonymises the actor through
# audit_pseudonymise(), which runs as the table owner and raises a transaction-local flag. The
# app role can neither become the owner nor change anything but the personal columns.
AUDIT_GUARD = """
CREATE FUNCTION tb_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND current_setting('tynebase.audit_pseudonymise', true) = 'on'
     AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID)
     AND (NEW.id, NEW.tenant_id, NEW.occurred_at, NEW.action, NEW.outcome, NEW.actor_kind,
          NEW.actor_user_id, NEW.target_type, NEW.target_id, NEW.request_id)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.tenant_id, OLD.occurred_at, OLD.action, OLD.outcome, OLD.actor_kind,
          OLD.actor_user_id, OLD.target_type, OLD.target_id, OLD.request_id)
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$
"""

# Rows of the user in the transaction's tenant (RLS applies to the owner too: FORCE), plus
# platform rows when app.platform is on. Returns how many rows were pseudonymised.
AUDIT_PSEUDONYMISE = """
CREATE FUNCTION audit_pseudonymise(p_user_id uuid, p_email text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  pseudonym text := 'erased:' || substr(md5(p_user_id::text), 1, 12);
  changed integer;
BEGIN
  PERFORM set_config('tynebase.audit_pseudonymise', 'on', true);
  UPDATE audit_log SET
    actor_label = CASE WHEN actor_user_id = p_user_id OR actor_label = lower(p_email)
                       THEN pseudonym ELSE actor_label END,
    ip = CASE WHEN actor_user_id = p_user_id OR actor_label = lower(p_email)
              THEN NULL ELSE ip END,
    details = CASE WHEN details ->> 'email' = lower(p_email)
                   THEN jsonb_set(details, '{email}', to_jsonb(pseudonym)) ELSE details END
  WHERE actor_user_id = p_user_id OR actor_label = lower(p_email)
     OR details ->> 'email' = lower(p_email);
  GET DIAGNOSTICS changed = ROW_COUNT;
  PERFORM set_config('tynebase.audit_pseudonymise', 'off', true);
  RETURN changed;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=True),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), server_default="success", nullable=False),
        sa.Column("actor_kind", sa.Text(), nullable=False),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("actor_label", sa.Text(), nullable=True),
        sa.Column("target_type", sa.Text(), nullable=True),
        sa.Column("target_id", sa.Text(), nullable=True),
        sa.Column("ip", sa.Text(), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "actor_kind IN ('user', 'api_key', 'operator', 'system', 'anonymous')",
            name=op.f("ck_audit_log_actor_kind_valid"),
        ),
        sa.CheckConstraint(
            "outcome IN ('success', 'failure')", name=op.f("ck_audit_log_outcome_valid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(
        "ix_audit_log_tenant_id_occurred_at",
        "audit_log",
        ["tenant_id", "occurred_at", "id"],
        unique=False,
    )
    op.create_index("ix_audit_log_actor_user_id", "audit_log", ["actor_user_id"], unique=False)
    op.execute("ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE audit_log FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {POLICY_NAME} ON audit_log "
        f"USING ({AUDIT_VISIBLE}) WITH CHECK ({AUDIT_VISIBLE})"
    )
    op.execute(AUDIT_GUARD)
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION tb_audit_guard()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION tb_refuse_change()"
    )
    op.execute(AUDIT_PSEUDONYMISE)

    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_only", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )
    op.create_index(
        "ix_maintenance_windows_ended_at", "maintenance_windows", ["ended_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_maintenance_windows_ended_at", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
    op.execute("DROP FUNCTION audit_pseudonymise(uuid, text)")
    op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    for statement in disable_tenant_rls_sql("audit_log"):
        op.execute(statement)
    op.drop_index("ix_audit_log_actor_user_id", table_name="audit_log")
    op.drop_index("ix_audit_log_tenant_id_occurred_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.execute("DROP FUNCTION tb_audit_guard()")
