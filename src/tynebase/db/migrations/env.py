"""Alembic environment: runs as the owner role on the connection `tynebase.db.migrate` passes."""

from __future__ import annotations

from alembic import context

from tynebase.db.migrate import include_name
from tynebase.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    compare_type=True,
    include_name=include_name,  # procrastinate's tables are not ours to autogenerate
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
