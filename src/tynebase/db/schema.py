"""Imports every feature's tables so `metadata` describes the whole schema (Alembic, tests)."""

from __future__ import annotations

from tynebase.ai import enhance_models as _ai_enhance  # noqa: F401
from tynebase.ai import preferences as _ai_preferences  # noqa: F401
from tynebase.audit import models as _audit  # noqa: F401
from tynebase.auth import models as _auth  # noqa: F401
from tynebase.collab import models as _collab  # noqa: F401
from tynebase.consents import models as _consents  # noqa: F401
from tynebase.credits import models as _credits  # noqa: F401
from tynebase.db.metadata import metadata
from tynebase.documents import models as _documents  # noqa: F401
from tynebase.files import models as _files  # noqa: F401
from tynebase.jobs import models as _jobs  # noqa: F401
from tynebase.mail import models as _mail  # noqa: F401
from tynebase.ops import models as _ops  # noqa: F401
from tynebase.rag import models as _rag  # noqa: F401
from tynebase.taxonomy import models as _taxonomy  # noqa: F401
from tynebase.tenants import models as _tenants  # noqa: F401
from tynebase.users import models as _users  # noqa: F401

__all__ = ["metadata"]
