"""Content sniffing on the bytes alone (the name only labels text that bytes cannot tell)."""

from __future__ import annotations

import io
import struct
import wave
from pathlib import Path

import pytest

from tests.files.helpers import docx_bytes, elf_bytes, pdf_bytes, png_bytes, zip_bytes
from tynebase.files.sniff import DOCX, confirm, looks_like_text, sniff_head


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


def box(kind: bytes, brand: bytes) -> bytes:
    return struct.pack(">I", 24) + b"ftyp" + brand + b"\x00\x00\x02\x00" + brand + kind


SAMPLES = {
    "png": (png_bytes(), "image/png", "image"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 300, "image/jpeg", "image"),
    "gif": (b"GIF89a\x01\x00\x01\x00" + b"\x00" * 100, "image/gif", "image"),
    "webp": (b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 100, "image/webp", "image"),
    "pdf": (pdf_bytes(), "application/pdf", "document"),
    "docx": (docx_bytes(), DOCX, "document"),
    "wav": (wav(), "audio/wav", "audio"),
    "mp3": (
        b"ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00" + b"\x00" * 400,
        "audio/mpeg",
        "audio",
    ),
    "flac": (b"fLaC" + b"\x00" * 100, "audio/flac", "audio"),
    "mp4": (box(b"\x00" * 200, b"isom"), "video/mp4", "video"),
    "mov": (
        struct.pack(">I", 20) + b"ftypqt  \x00\x00\x02\x00qt  " + b"\x00" * 200,
        "video/quicktime",
        "video",
    ),
    "webm": (
        bytes.fromhex("1a45dfa3") + b"\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04"
        b"\x42\xf3\x81\x08\x42\x82\x84webm" + b"\x00" * 200,
        "video/webm",
        "video",
    ),
    "avi": (b"RIFF\x24\x00\x00\x00AVI LIST" + b"\x00" * 100, "video/x-msvideo", "video"),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_binary_formats(name: str) -> None:
    data, content_type, kind = SAMPLES[name]
    sniffed = sniff_head(data, "whatever.txt")
    assert (sniffed.content_type, sniffed.kind) == (content_type, kind)


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [
        (b"just words\n", "a.bin", "text/plain"),
        (b"# Title\n", "notes.md", "text/markdown"),
        (b"# Title\n", "notes.txt", "text/plain"),
        (b"a,b\n1,2\n", "t.csv", "text/csv"),
        (b'{"a": 1}', "d.json", "application/json"),
        (b"\n  <!doctype html><p>x", "page.txt", "text/html"),
        (b"<p>fragment</p>", "page.html", "text/html"),
        ("caf\u00e9".encode("cp1252"), "legacy.txt", "text/plain"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "x.svg", "text/plain"),
    ],
)
def test_text_formats(data: bytes, filename: str, content_type: str) -> None:
    assert sniff_head(data, filename).content_type == content_type


@pytest.mark.parametrize(
    "data", [elf_bytes(), b"MZ\x90\x00\x03" + b"\x00" * 300, bytes(range(256)), b"\x00" * 50]
)
def test_binaries_that_are_not_allowed(data: bytes) -> None:
    sniffed = sniff_head(data, "a.txt")
    assert (sniffed.content_type, sniffed.kind) == (None, None)
    assert sniffed.detected


def test_office_files_are_confirmed_from_the_archive(tmp_path: Path) -> None:
    docx, fake = tmp_path / "a.docx", tmp_path / "b.docx"
    docx.write_bytes(docx_bytes())
    fake.write_bytes(zip_bytes())
    assert confirm(sniff_head(docx.read_bytes(), "a.docx"), docx).content_type == DOCX
    head = sniff_head(fake.read_bytes(), "b.docx")
    assert (
        head.content_type is not None
    )  # the head alone cannot tell: a ZIP looks like an office file
    assert confirm(head, fake).content_type is None
    broken = tmp_path / "c.docx"
    broken.write_bytes(docx_bytes()[:300])
    assert confirm(sniff_head(broken.read_bytes(), "c.docx"), broken).content_type is None


def test_looks_like_text() -> None:
    assert looks_like_text(b"tab\tnewline\nescape\x1b[0m")
    assert not looks_like_text(b"")
    assert not looks_like_text(b"nul\x00")
    assert not looks_like_text(b"\x01\x02\x03 mostly control" + b"\x05" * 10)
