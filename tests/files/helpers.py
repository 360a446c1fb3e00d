"""Small real files made on the fly (nothing binary is committed) and upload helpers."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

from tests.conftest import Account


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def pdf_bytes(*lines: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    for line in lines or ("Hello PDF",):
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def docx_bytes(title: str = "Quarterly report", paragraph: str = "Revenue grew.") -> bytes:
    from docx import Document

    document = Document()
    document.add_heading(title, level=1)
    document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "not an office document")
    return out.getvalue()


def elf_bytes() -> bytes:
    # The start of a 64-bit little-endian ELF executable header, padded like a real binary.
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 9000


def upload(
    account: Account,
    data: bytes | Any,
    filename: str = "file.bin",
    *,
    content_type: str = "application/octet-stream",
    **params: Any,
) -> Any:
    """A raw-body upload (`data` may be an iterator: then it is sent chunked)."""
    return account.post(
        "/api/files",
        params={"filename": filename, **params},
        content=data,
        headers={"Content-Type": content_type},
    )


def upload_multipart(
    account: Account, data: bytes, filename: str, content_type: str = "text/plain", **params: Any
) -> Any:
    return account.post("/api/files", params=params, files={"file": (filename, data, content_type)})


def blob_files(root: Path, tenant_id: str) -> list[Path]:
    base = root / "tenants" / tenant_id
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


def staging_files(root: Path) -> list[Path]:
    staging = root / ".staging"
    return sorted(staging.iterdir()) if staging.exists() else []


def file_rows(owner_sql: Any, tenant_id: str) -> list[tuple[Any, ...]]:
    """The tenant's `files` rows (id, filename, content_type, size_bytes), read as the owner."""
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        rows = owner_sql.execute(
            "SELECT id::text, filename, content_type, size_bytes FROM files ORDER BY created_at"
        ).fetchall()
    return [tuple(row) for row in rows]


def chunks(data: bytes, size: int = 64 * 1024) -> Any:
    """`data` as a generator: httpx then sends it chunked, without a Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]
