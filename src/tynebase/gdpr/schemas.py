"""Request and response bodies of the privacy routes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tynebase.gdpr.service import Erased


class EraseMeIn(BaseModel):
    password: str = Field(min_length=1, max_length=1024, description="Your current password")


class ErasedOut(BaseModel):
    pseudonym: str = Field(description="What the audit trail now calls the erased account")
    workspaces: int
    documents: int
    files: int
    chats: int
    audit_entries: int = Field(description="Audit entries pseudonymised")

    @classmethod
    def of(cls, erased: Erased) -> ErasedOut:
        r = erased.result
        return cls(
            pseudonym=r.pseudonym,
            workspaces=r.workspaces,
            documents=r.documents,
            files=r.files,
            chats=r.chats,
            audit_entries=r.audit_entries,
        )
