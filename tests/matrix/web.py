"""Cross-tenant matrix entries for the web area: the workspace settings and branding."""

from __future__ import annotations

from tests.matrix.core import Target, _path

ENTRIES: dict[tuple[str, str], Target] = {
    ("GET", "/api/tenant/settings"): Target("collection", _path("/api/tenant/settings")),
    ("PUT", "/api/tenant/settings"): Target(
        "collection",
        _path("/api/tenant/settings"),
        body=lambda _world, _holder: {"primary_color": "#123456"},
    ),
}
