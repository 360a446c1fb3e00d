"""The cross-tenant matrix, assembled from one module per feature area.

Each module defines `ENTRIES` ((method, route template) -> Target) and may define
`NON_TENANT_ROUTES` ((method, route template) -> why the route is not tenant-scoped).
"""

from __future__ import annotations

from types import ModuleType

from tests.matrix import (
    ai_preferences,
    auth,
    collab,
    credits,
    documents,
    files,
    gdpr,
    jobs,
    ops,
    rag,
    search,
    taxonomy,
    web,
)
from tests.matrix.core import Target

AREAS: tuple[ModuleType, ...] = (
    auth,
    documents,
    search,
    files,
    taxonomy,
    jobs,
    rag,
    ops,
    ai_preferences,
    collab,
    web,
    credits,
    gdpr,
)

MATRIX: dict[tuple[str, str], Target] = {}
NON_TENANT_ROUTES: dict[tuple[str, str], str] = {}
for _area in AREAS:
    assert not MATRIX.keys() & _area.ENTRIES.keys(), f"{_area.__name__} repeats a route"
    MATRIX.update(_area.ENTRIES)
    NON_TENANT_ROUTES.update(getattr(_area, "NON_TENANT_ROUTES", {}))
