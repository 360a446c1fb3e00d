from __future__ import annotations

import sqlalchemy as sa

from tynebase.db.metadata import created_at, metadata, uuid_pk

outbox = sa.Table(
    "mail_outbox",
    metadata,
    uuid_pk(),
    sa.Column("to_address", sa.Text, nullable=False, index=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    created_at(),
)
