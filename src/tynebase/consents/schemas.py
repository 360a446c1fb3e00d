from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, StrictBool

from tynebase.consents.service import Consents


class ConsentsOut(BaseModel):
    ai_processing: bool
    knowledge_indexing: bool
    analytics: bool
    updated_at: datetime | None  # null: never changed (everything granted by default)

    @classmethod
    def of(cls, consents: Consents) -> ConsentsOut:
        return cls(
            ai_processing=consents.ai_processing,
            knowledge_indexing=consents.knowledge_indexing,
            analytics=consents.analytics,
            updated_at=consents.updated_at,
        )


class ConsentsIn(BaseModel):
    """The consents to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    # Strict: 0, "no" or "false" are not answers to "do you consent?".
    ai_processing: StrictBool | None = None
    knowledge_indexing: StrictBool | None = None
    analytics: StrictBool | None = None
