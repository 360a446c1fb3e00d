"""GET/PUT /api/tenant/settings: the workspace's name and branding."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.tenants.repo import Tenant
from tynebase.web import branding

router = APIRouter(prefix="/api/tenant", tags=["tenant"], responses=COMMON_ERRORS)


class BrandingOut(BaseModel):
    primary_color: str
    accent_color: str
    logo_file_id: UUID | None
    logo_url: str | None = Field(description="Signed, expiring download path of the logo")


class TenantSettingsOut(BaseModel):
    subdomain: str
    name: str
    branding: BrandingOut


class TenantSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=branding.MAX_NAME)
    primary_color: str | None = Field(default=None, max_length=7, examples=["#1d4ed8"])
    accent_color: str | None = Field(default=None, max_length=7, examples=["#0f766e"])
    logo_file_id: UUID | None = Field(
        default=None, description="An uploaded PNG/JPEG/GIF/WebP file; null removes the logo"
    )


def _out(ctx: AuthCtx, tenant: Tenant) -> TenantSettingsOut:
    brand = branding.branding_of(tenant)
    return TenantSettingsOut(
        subdomain=tenant.subdomain,
        name=tenant.name,
        branding=BrandingOut(
            primary_color=brand.primary_color,
            accent_color=brand.accent_color,
            logo_file_id=brand.logo_file_id,
            logo_url=branding.logo_url(ctx.state.settings, tenant, brand),
        ),
    )


@router.get("/settings")
async def get_settings(ctx: AuthCtx) -> TenantSettingsOut:
    return _out(ctx, ctx.tenant)


@router.put("/settings")
async def put_settings(body: TenantSettingsIn, ctx: AuthCtx) -> TenantSettingsOut:
    """Admins change the name, colours (#rrggbb) and logo; fields left out stay as they are."""
    changes = body.model_dump(exclude_unset=True)
    tenant = await branding.do_update(
        ctx.conn, principal=ctx.principal, tenant=ctx.tenant, **changes
    )
    return _out(ctx, tenant)
