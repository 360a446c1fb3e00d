"""Expiring signed download URLs (FILE-2).

The signature is an HMAC over (tenant id, file id, expiry) with a key derived from the master
secret for this purpose only. The tenant is part of what is signed but not of the URL: the
download route takes it from the request (Host or X-Tenant-Subdomain), so a URL made for one
workspace verifies in no other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode
from uuid import UUID

from tynebase.errors import Forbidden, Gone
from tynebase.settings import Settings

PURPOSE = "file-urls"


def signature(settings: Settings, *, tenant_id: UUID, file_id: UUID, expires: int) -> str:
    message = f"v1:{tenant_id}:{file_id}:{expires}".encode()
    digest = hmac.new(settings.derive_secret(PURPOSE).encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signed_path(settings: Settings, *, tenant_id: UUID, file_id: UUID, expires: int) -> str:
    """`/api/files/{id}/download?expires=...&sig=...`"""
    sig = signature(settings, tenant_id=tenant_id, file_id=file_id, expires=expires)
    return f"/api/files/{file_id}/download?" + urlencode({"expires": expires, "sig": sig})


def check_signed(
    settings: Settings,
    *,
    tenant_id: UUID,
    file_id: UUID,
    expires: str | None,
    sig: str | None,
    now: float,
) -> None:
    """Raise unless `sig` was made by `signed_path` for this tenant and file and is unexpired."""
    invalid = Forbidden("This download link is not valid", code="INVALID_SIGNATURE")
    if not expires or not sig or not expires.isdigit() or len(expires) > 12:
        raise invalid
    expected = signature(settings, tenant_id=tenant_id, file_id=file_id, expires=int(expires))
    if not hmac.compare_digest(expected.encode(), sig.encode()):
        raise invalid
    if int(expires) <= now:
        raise Gone("This download link has expired; ask for a new one", code="URL_EXPIRED")
