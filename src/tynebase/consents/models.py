from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from tynebase.db.metadata import created_at, metadata, one_of

CONSENT_KINDS = ("ai_processing", "knowledge_indexing", "analytics")

# A person's consents (platform table, like `users`: they hold in every workspace). No row means
# everything is granted (the default).
user_consents = sa.Table(
    "user_consents",
    metadata,
    sa.Column(
        "user_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    *(
        sa.Column(kind, sa.Boolean, nullable=False, server_default=sa.true())
        for kind in CONSENT_KINDS
    ),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

# Every change, for the record (what was consented to, and when); erased with the person.
user_consent_events = sa.Table(
    "user_consent_events",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column(
        "user_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    created_at(),
    one_of("kind", CONSENT_KINDS),
)
