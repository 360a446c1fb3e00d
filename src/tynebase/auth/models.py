from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from tynebase.db.metadata import created_at, metadata, one_of, tenant_fk, uuid_pk

API_KEY_SCOPES = ("read", "write", "admin")
EMAIL_TOKEN_PURPOSES = ("confirm", "reset")


def _user_fk() -> sa.Column[object]:
    return sa.Column(
        "user_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.Text, primary_key=True),
    sa.Column("secret_encrypted", sa.LargeBinary, nullable=False),
    # NULL while the key signs; set on rotation to when verification of its tokens stops.
    sa.Column("retires_at", sa.DateTime(timezone=True)),
    created_at(),
)

auth_sessions = sa.Table(
    "auth_sessions",
    metadata,
    uuid_pk(),
    tenant_fk(),
    _user_fk(),
    sa.Column("user_agent", sa.Text),
    sa.Column("ip", sa.Text),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column(
        "last_used_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_reason", sa.Text),
    created_at(),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column(
        "session_id",
        UUID(as_uuid=True),
        sa.ForeignKey("auth_sessions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    created_at(),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    uuid_pk(),
    tenant_fk(),
    _user_fk(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("prefix", sa.Text, nullable=False, unique=True),
    sa.Column("key_hash", sa.LargeBinary, nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("last_used_at", sa.DateTime(timezone=True)),
    created_at(),
    one_of("scope", API_KEY_SCOPES),
)

email_tokens = sa.Table(
    "email_tokens",
    metadata,
    uuid_pk(),
    _user_fk(),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    created_at(),
    one_of("purpose", EMAIL_TOKEN_PURPOSES),
)
