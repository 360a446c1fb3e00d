"""The refusals of the file store, with their stable codes (FILE-1, FILE-2)."""

from __future__ import annotations

from tynebase.errors import TynebaseError


class FileTooLarge(TynebaseError):
    status = 413
    code = "FILE_TOO_LARGE"


class UnsupportedFileType(TynebaseError):
    status = 415
    code = "UNSUPPORTED_FILE_TYPE"


class StorageQuotaExceeded(TynebaseError):
    status = 507
    code = "STORAGE_QUOTA_EXCEEDED"
