"""Content types from the bytes, never from what the client declares (FILE-1).

Binary formats are recognised by their signatures (puremagic: pure Python, maintained, a large
signature table); text is recognised by the absence of binary bytes and then labelled from its
head (HTML) or, for formats that text alone cannot tell apart (Markdown, CSV, JSON), from the
file name. ZIP-based office files are confirmed from the archive's directory once the whole file
is there, so a plain ZIP (or anything else in a ZIP) can never pass as a .docx.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import puremagic

from tynebase.files.models import FILE_KINDS

# How much of the start of a file the sniffer looks at.
HEAD_BYTES = 8192

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

# What may be stored, by kind. Anything else (executables, archives, scripts as SVG...) is 415.
ALLOWED: dict[str, str] = {
    **dict.fromkeys(
        ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"),
        "image",
    ),
    **dict.fromkeys(
        (
            "application/pdf",
            DOCX,
            XLSX,
            PPTX,
            "text/plain",
            "text/markdown",
            "text/html",
            "text/csv",
            "application/json",
        ),
        "document",
    ),
    **dict.fromkeys(
        (
            "audio/mpeg",
            "audio/wav",
            "audio/ogg",
            "audio/flac",
            "audio/mp4",
            "audio/aac",
            "audio/webm",
        ),
        "audio",
    ),
    **dict.fromkeys(
        ("video/mp4", "video/webm", "video/quicktime", "video/x-matroska", "video/x-msvideo"),
        "video",
    ),
}
assert set(ALLOWED.values()) <= set(FILE_KINDS)

# puremagic's names for the same thing -> ours.
_ALIASES = {
    "audio/wave": "audio/wav",
    "audio/x-wav": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/x-flac": "audio/flac",
    "application/ogg": "audio/ogg",
    "audio/x-m4a": "audio/mp4",
    "video/avi": "video/x-msvideo",
    "video/msvideo": "video/x-msvideo",
    "image/jpg": "image/jpeg",
    "image/x-ms-bmp": "image/bmp",
    "application/x-matroska": "video/x-matroska",
    "audio/mp3": "audio/mpeg",
}
_OFFICE = {DOCX: "word/document.xml", XLSX: "xl/workbook.xml", PPTX: "ppt/presentation.xml"}
_TEXT_BY_SUFFIX = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".json": "application/json",
    ".html": "text/html",
    ".htm": "text/html",
}
# Control bytes that do not occur in text (tab, newlines, form feed and escape do).
_BINARY_BYTES = bytes(set(range(32)) - {8, 9, 10, 12, 13, 27}) + b"\x7f"


@dataclass(frozen=True)
class Sniffed:
    content_type: str | None  # None: not a type TyneBase stores
    detected: str  # what was seen, for the error message

    @property
    def kind(self) -> str | None:
        return ALLOWED.get(self.content_type) if self.content_type else None

    @property
    def is_text(self) -> bool:
        return self.content_type is not None and (
            self.content_type.startswith("text/") or self.content_type == "application/json"
        )


def _signature(head: bytes) -> tuple[str | None, str]:
    """The best-matching signature's MIME type (None if it has none) and its description."""
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        return None, "unknown"
    for match in matches:
        if match.mime_type:
            mime = _ALIASES.get(match.mime_type, match.mime_type)
            return mime, mime
    return None, matches[0].name if matches else "unknown"


def looks_like_text(data: bytes) -> bool:
    """No NUL and (almost) no other control bytes: text in UTF-8 or a legacy 8-bit encoding."""
    if not data or b"\x00" in data:
        return False
    binary = sum(data.count(byte) for byte in _BINARY_BYTES)
    return binary * 100 <= len(data)


def _text_type(head: bytes, filename: str) -> str:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    by_name = _TEXT_BY_SUFFIX.get(PurePosixPath(filename.lower()).suffix)
    return by_name or "text/plain"


def sniff_head(head: bytes, filename: str) -> Sniffed:
    """The type of a file from its first bytes (at most HEAD_BYTES are looked at)."""
    head = head[:HEAD_BYTES]
    signature, described = _signature(head)
    if signature is not None and signature in ALLOWED and not signature.startswith("text/"):
        return Sniffed(signature, described)
    if looks_like_text(head):
        text = _text_type(head, filename)
        return Sniffed(text, text)
    return Sniffed(None, described)


def confirm(sniffed: Sniffed, path: Path) -> Sniffed:
    """Re-check what the head alone cannot prove, on the whole staged file."""
    member = _OFFICE.get(sniffed.content_type or "")
    if member is None:
        return sniffed
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return Sniffed(None, "damaged ZIP archive")
    for content_type, required in _OFFICE.items():
        if required in names:
            return Sniffed(content_type, content_type)
    return Sniffed(None, "application/zip")
