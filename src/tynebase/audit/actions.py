"""The audit vocabulary: stable action names (filters and exports rely on them)."""

from __future__ import annotations

LOGIN_SUCCEEDED = "auth.login.succeeded"
LOGIN_FAILED = "auth.login.failed"
ACCOUNT_LOCKED = "auth.account.locked"
PASSWORD_RESET = "auth.password.reset"  # noqa: S105 - an action name
REFRESH_TOKEN_REUSED = "auth.refresh_token.reused"  # noqa: S105
SESSION_REVOKED = "auth.session.revoked"
SESSIONS_REVOKED = "auth.sessions.revoked"  # by an operator (incident response)
SIGNING_KEY_ROTATED = "auth.signing_key.rotated"
API_KEY_CREATED = "api_key.created"
API_KEY_REVOKED = "api_key.revoked"
API_KEY_ROTATED = "api_key.rotated"
MEMBER_UPDATED = "member.updated"
MEMBER_REMOVED = "member.removed"
INVITE_CREATED = "invite.created"
INVITE_REVOKED = "invite.revoked"
INVITE_ACCEPTED = "invite.accepted"
TENANT_CREATED = "tenant.created"
TENANT_SUSPENDED = "tenant.suspended"
TENANT_RESUMED = "tenant.resumed"
TENANT_TIER_CHANGED = "tenant.tier_changed"
SUPERADMIN_GRANTED = "user.superadmin_granted"
MAINTENANCE_ON = "maintenance.on"
MAINTENANCE_OFF = "maintenance.off"
MAINTENANCE_SCHEDULED = "maintenance.scheduled"
MAINTENANCE_CANCELLED = "maintenance.cancelled"
BACKUP_CREATED = "backup.created"
BACKUP_RESTORED = "backup.restored"
