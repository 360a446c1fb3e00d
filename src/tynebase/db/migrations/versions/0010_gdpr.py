"""Privacy: per-user export and erasure support (GDPR-1, GDPR-3).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 01:15:00.000000
"""

from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
