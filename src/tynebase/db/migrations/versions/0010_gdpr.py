"""Privacy: per-user export and erasure support (GDPR-1, GDPR-3).

No tables: erasure deletes rows and export reads them. Two SECURITY DEFINER functions let the app
role do what RLS (rightly) keeps it from doing on its own:

- `gdpr_user_tenants(user, email)`: the workspaces holding anything of a person (memberships,
  authored documents, uploads, chats, keys, sessions, invites, audit entries), found by visiting
  each tenant in turn. A removed member's documents stay behind in a workspace they no longer
  belong to, so memberships alone would miss them.
- `gdpr_scrub_audit(user, terms)`: pseudonymises the person in the append-only audit log of the
  transaction's tenant (and platform entries when app.platform is on): actor label and IP of
  their entries, and every listed term (email, name, key names) in the details of entries about
  them. It goes through the guard of migration 0007 (owner + transaction flag; the action,
  outcome, actor id, target and time of an entry cannot change) and refuses to run while the
  user row still exists, so it cannot rewrite the trail of a live account.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 01:15:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

USER_TENANTS = """
CREATE FUNCTION gdpr_user_tenants(p_user_id uuid, p_email text) RETURNS SETOF uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  before text := current_setting('app.tenant_id', true);
  t uuid;
  found_any boolean;
BEGIN
  FOR t IN SELECT id FROM tenants ORDER BY id LOOP
    PERFORM set_config('app.tenant_id', t::text, true);
    SELECT EXISTS (SELECT 1 FROM memberships WHERE user_id = p_user_id)
        OR EXISTS (SELECT 1 FROM documents WHERE tenant_id = t AND author_id = p_user_id)
        OR EXISTS (SELECT 1 FROM files WHERE created_by = p_user_id)
        OR EXISTS (SELECT 1 FROM chat_sessions WHERE user_id = p_user_id)
        OR EXISTS (SELECT 1 FROM api_keys WHERE user_id = p_user_id)
        OR EXISTS (SELECT 1 FROM auth_sessions WHERE user_id = p_user_id)
        OR EXISTS (SELECT 1 FROM invites WHERE lower(email) = lower(p_email))
        OR EXISTS (SELECT 1 FROM jobs WHERE created_by = p_user_id)
        OR EXISTS (SELECT 1 FROM audit_log WHERE tenant_id = t AND (
             actor_user_id = p_user_id OR target_id = p_user_id::text
             OR actor_label = lower(p_email) OR details ->> 'email' = lower(p_email)))
      INTO found_any;
    IF found_any THEN
      RETURN NEXT t;
    END IF;
  END LOOP;
  PERFORM set_config('app.tenant_id', coalesce(before, ''), true);
END
$$
"""

SCRUB_AUDIT = """
CREATE FUNCTION gdpr_scrub_audit(p_user_id uuid, p_terms text[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  pseudonym text := 'erased:' || substr(md5(p_user_id::text), 1, 12);
  terms text[];
  term text;
  r record;
  details_text text;
  is_actor boolean;
  changed integer := 0;
BEGIN
  IF EXISTS (SELECT 1 FROM users WHERE id = p_user_id) THEN
    RAISE EXCEPTION 'gdpr_scrub_audit: user % still exists; erase the account first', p_user_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- Longest first, so a name inside an email is not replaced before the email itself.
  SELECT coalesce(array_agg(DISTINCT x ORDER BY x), '{}') INTO terms
  FROM (SELECT unnest(p_terms) AS x UNION SELECT lower(unnest(p_terms))) s
  WHERE char_length(x) >= 3;
  SELECT coalesce(array_agg(x ORDER BY char_length(x) DESC), '{}') INTO terms
  FROM unnest(terms) AS x;
  PERFORM set_config('tynebase.audit_pseudonymise', 'on', true);
  FOR r IN
    SELECT id, actor_user_id, actor_label, details FROM audit_log
    WHERE actor_user_id = p_user_id OR target_id = p_user_id::text
       OR lower(actor_label) = ANY (terms)
       OR EXISTS (SELECT 1 FROM unnest(terms) AS s(x)
                  WHERE position(x IN details::text) > 0)
  LOOP
    is_actor := r.actor_user_id = p_user_id OR lower(r.actor_label) = ANY (terms);
    details_text := r.details::text;
    FOREACH term IN ARRAY terms LOOP
      -- The term as it appears inside a JSON string (quotes and backslashes escaped).
      details_text := replace(details_text, substr(to_jsonb(term)::text, 2,
                              char_length(to_jsonb(term)::text) - 2), pseudonym);
    END LOOP;
    UPDATE audit_log SET
      actor_label = CASE WHEN is_actor THEN pseudonym ELSE actor_label END,
      ip = CASE WHEN is_actor THEN NULL ELSE ip END,
      details = details_text::jsonb
    WHERE id = r.id;
    changed := changed + 1;
  END LOOP;
  PERFORM set_config('tynebase.audit_pseudonymise', 'off', true);
  RETURN changed;
END
$$
"""


def upgrade() -> None:
    op.execute(USER_TENANTS)
    op.execute(SCRUB_AUDIT)


def downgrade() -> None:
    op.execute("DROP FUNCTION gdpr_scrub_audit(uuid, text[])")
    op.execute("DROP FUNCTION gdpr_user_tenants(uuid, text)")
