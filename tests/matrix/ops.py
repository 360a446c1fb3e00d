"""Matrix entries for operations: the audit log (a collection: A sees only A's entries) and the
super-admin routes (A is no super admin: every call, B's ids included, is refused)."""

from __future__ import annotations

from tests.matrix.core import Target, World, _path


def _admin_tenant(world: World) -> str:
    return f"/api/admin/tenants/{world.b.tenant_id}"


ENTRIES: dict[tuple[str, str], Target] = {
    ("GET", "/api/audit"): Target("collection", _path("/api/audit")),
    ("GET", "/api/audit/export"): Target("collection", _path("/api/audit/export?format=json")),
    ("GET", "/api/admin/overview"): Target("object", _path("/api/admin/overview")),
    ("GET", "/api/admin/tenants"): Target("object", _path("/api/admin/tenants")),
    ("POST", "/api/admin/tenants"): Target(
        "object",
        _path("/api/admin/tenants"),
        lambda w, _h: {"subdomain": f"x{w.b.subdomain}", "name": "A's try"},
    ),
    ("GET", "/api/admin/tenants/{tenant_id}"): Target("object", _admin_tenant),
    ("PATCH", "/api/admin/tenants/{tenant_id}"): Target(
        "object", _admin_tenant, lambda _w, _h: {"status": "suspended", "tier": "free"}
    ),
    ("GET", "/api/admin/users"): Target("object", _path("/api/admin/users")),
}

NON_TENANT_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/status"): "public service status (maintenance banner); no tenant data",
}
