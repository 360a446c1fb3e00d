"""Database access: engine and unit of work, embedded PostgreSQL, roles, RLS, migrations."""
