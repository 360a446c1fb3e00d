"""Workspace branding (ADM): display name, logo (an uploaded image file) and colours.

Stored in the tenant's `settings` JSON under "branding" (no table of its own); colours are
applied to pages as CSS custom properties from a generated stylesheet, never inline."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.errors import ValidationFailed
from tynebase.files import service as files_service
from tynebase.settings import Settings
from tynebase.tenants.models import tenants
from tynebase.tenants.repo import Tenant

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_PRIMARY = "#1d4ed8"
DEFAULT_ACCENT = "#0f766e"
# Raster images only: an SVG logo could carry script if ever opened directly.
LOGO_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
MAX_NAME = 100


@dataclass(frozen=True)
class Branding:
    name: str
    primary_color: str
    accent_color: str
    logo_file_id: UUID | None


def branding_of(tenant: Tenant) -> Branding:
    raw: dict[str, Any] = (tenant.settings or {}).get("branding") or {}
    primary = raw.get("primary_color")
    accent = raw.get("accent_color")
    logo = raw.get("logo_file_id")
    return Branding(
        name=tenant.name,
        primary_color=primary
        if isinstance(primary, str) and COLOUR.match(primary)
        else DEFAULT_PRIMARY,
        accent_color=accent if isinstance(accent, str) and COLOUR.match(accent) else DEFAULT_ACCENT,
        logo_file_id=UUID(logo) if isinstance(logo, str) else None,
    )


def logo_url(settings: Settings, tenant: Tenant, brand: Branding) -> str | None:
    if brand.logo_file_id is None:
        return None
    path, _ = files_service.download_url(settings, tenant_id=tenant.id, file_id=brand.logo_file_id)
    # Through the browser bridge (/w/{sub}/api/...): it names the workspace for the download.
    return f"/w/{tenant.subdomain}{path}"


def check_colour(value: str, field: str) -> str:
    if not COLOUR.match(value):
        raise ValidationFailed(
            "Colours are written #rrggbb", details={"field": field, "expected": "#rrggbb"}
        )
    return value.lower()


_UNSET: Any = object()


async def do_update(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant: Tenant,
    name: str | None = None,
    primary_color: str | None = None,
    accent_color: str | None = None,
    logo_file_id: UUID | Any | None = _UNSET,
) -> Tenant:
    """Change the workspace's name and branding; admins only."""
    principal.check_role("admin")
    current = branding_of(tenant)
    values: dict[str, Any] = {
        "primary_color": current.primary_color,
        "accent_color": current.accent_color,
        "logo_file_id": str(current.logo_file_id) if current.logo_file_id else None,
    }
    if primary_color is not None:
        values["primary_color"] = check_colour(primary_color, "primary_color")
    if accent_color is not None:
        values["accent_color"] = check_colour(accent_color, "accent_color")
    if logo_file_id is not _UNSET:
        if logo_file_id is not None:
            file = await files_service.access_file(conn, principal=principal, file_id=logo_file_id)
            if file.content_type not in LOGO_TYPES:
                raise ValidationFailed(
                    "The logo must be a PNG, JPEG, GIF or WebP image",
                    code="LOGO_NOT_AN_IMAGE",
                    details={"field": "logo_file_id", "content_type": file.content_type},
                )
        values["logo_file_id"] = str(logo_file_id) if logo_file_id else None
    new_name = tenant.name
    if name is not None:
        new_name = name.strip()
        if not new_name or len(new_name) > MAX_NAME or "\x00" in new_name:
            raise ValidationFailed(
                f"The name must be 1-{MAX_NAME} characters", details={"field": "name"}
            )
    settings = {**(tenant.settings or {}), "branding": values}
    await conn.execute(
        tenants.update().where(tenants.c.id == tenant.id).values(name=new_name, settings=settings)
    )
    return Tenant(
        id=tenant.id,
        subdomain=tenant.subdomain,
        name=new_name,
        tier=tenant.tier,
        status=tenant.status,
        settings=settings,
    )
