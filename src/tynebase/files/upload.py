"""Streaming uploads with constant memory (FILE-1).

The request body is read chunk by chunk (never buffered whole): as the bytes arrive the file is
sniffed (from its first bytes), counted against the limit of its kind, hashed and written to a
staged file. A body that is too large is refused as soon as that is known, from Content-Length
when the client sends it, else at the byte that crosses the limit.

Two body shapes are accepted: `multipart/form-data` with a `file` part (parsed incrementally
with python-multipart's callback parser, not Starlette's form parser, which spools the whole
file before the endpoint runs), or the raw bytes as the body.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import anyio.to_thread
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from tynebase.errors import ValidationFailed
from tynebase.files.errors import FileTooLarge, UnsupportedFileType
from tynebase.files.sniff import HEAD_BYTES, Sniffed, confirm, sniff_head

# Bytes gathered before one write (and one hash update) in a worker thread.
FLUSH_BYTES = 1024 * 1024
# Multipart framing around the file (boundaries, part headers, small extra fields).
MULTIPART_SLACK = 64 * 1024
_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class StagedUpload:
    path: Path
    filename: str
    content_type: str
    kind: str
    size: int
    sha256: str


def clean_filename(raw: str | None) -> str:
    """The last path segment, without control characters, at most 255 characters."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_FILENAME.sub("", name).strip()[:255]
    return name or "upload"


class _Receiver:
    """One file's bytes: sniff the head, enforce the kind's limit, hash and write."""

    def __init__(self, out: BinaryIO, *, limits: dict[str, int], declared_size: int | None) -> None:
        self.out = out
        self.limits = limits
        self.declared_size = declared_size
        self.filename = "upload"
        self.size = 0
        self.hasher = hashlib.sha256()
        self.buffer = bytearray()
        self.sniffed: Sniffed | None = None

    def _sniff(self) -> Sniffed:
        sniffed = sniff_head(bytes(self.buffer[:HEAD_BYTES]), self.filename)
        if sniffed.kind is None:
            raise UnsupportedFileType(
                f"Files of this type cannot be stored ({sniffed.detected})",
                details={"detected": sniffed.detected},
            )
        self.sniffed = sniffed
        return sniffed

    def _check_size(self, size: int) -> None:
        assert self.sniffed is not None
        assert self.sniffed.kind is not None
        limit = self.limits[self.sniffed.kind]
        if size > limit:
            raise FileTooLarge(
                f"{self.sniffed.kind.capitalize()} files may be at most {limit} bytes",
                details={
                    "limit": limit,
                    "kind": self.sniffed.kind,
                    "content_type": self.sniffed.content_type,
                },
            )

    def _write(self, data: bytes) -> None:
        self.hasher.update(data)
        self.out.write(data)

    async def _flush(self) -> None:
        if self.buffer:
            data = bytes(self.buffer)
            self.buffer.clear()
            await anyio.to_thread.run_sync(self._write, data)

    async def feed(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        self.buffer += data
        fresh: bytes | bytearray = data
        if self.sniffed is None:
            if len(self.buffer) < HEAD_BYTES:
                return
            self._sniff()
            fresh = self.buffer  # the sniffer saw only the head of it
            if self.declared_size is not None:
                self._check_size(self.declared_size)
        assert self.sniffed is not None
        if self.sniffed.is_text and b"\x00" in fresh:
            raise UnsupportedFileType(
                "This file starts as text but contains binary data",
                details={"detected": "binary data"},
            )
        self._check_size(self.size)
        if len(self.buffer) >= FLUSH_BYTES:
            await self._flush()

    async def finish(self, path: Path) -> StagedUpload:
        if self.size == 0:
            raise ValidationFailed("The file is empty", code="EMPTY_FILE")
        sniffed = self.sniffed or self._sniff()
        self._check_size(self.size)
        await self._flush()
        await anyio.to_thread.run_sync(_sync, self.out)
        final = await anyio.to_thread.run_sync(confirm, sniffed, path)
        if final.content_type is None or final.kind is None:
            raise UnsupportedFileType(
                f"Files of this type cannot be stored ({final.detected})",
                details={"detected": final.detected},
            )
        return StagedUpload(
            path=path,
            filename=self.filename,
            content_type=final.content_type,
            kind=final.kind,
            size=self.size,
            sha256=self.hasher.hexdigest(),
        )


def _sync(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


class _MultipartFile:
    """Incremental multipart parsing that hands out the data of the first `file` part."""

    def __init__(self, boundary: bytes) -> None:
        self.filename: str | None = None
        self.found = False
        self.complete = False  # the file part's closing boundary was seen
        self._in_file = False
        self._field = bytearray()
        self._value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._pending: list[bytes] = []
        callbacks: Any = {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._field.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._value.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }
        self.parser = MultipartParser(boundary, callbacks)

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name") == b"file" and not self.found:
            self.found = self._in_file = True
            self.filename = options.get(b"filename", b"").decode("utf-8", "replace")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._pending.append(bytes(data[start:end]))

    def _part_end(self) -> None:
        if self._in_file:
            self.complete = True
        self._in_file = False

    def write(self, chunk: bytes) -> bytes:
        try:
            self.parser.write(chunk)
        except FormParserError as exc:
            raise ValidationFailed(
                "The multipart body is malformed", code="INVALID_MULTIPART"
            ) from exc
        data = b"".join(self._pending)
        self._pending.clear()
        return data


async def receive_upload(
    body: AsyncIterator[bytes],
    *,
    headers: dict[str, str],
    filename: str | None,
    limits: dict[str, int],
    path: Path,
) -> StagedUpload:
    """Stream the request body into the staged file at `path`; raise on any refusal."""
    hard_limit = max(limits.values())
    content_type, options = parse_options_header(headers.get("content-type", ""))
    multipart = content_type == b"multipart/form-data"
    declared = headers.get("content-length")
    declared_size = int(declared) if declared and declared.isdigit() else None
    slack = MULTIPART_SLACK if multipart else 0
    if declared_size is not None and declared_size > hard_limit + slack:
        raise FileTooLarge(
            f"No file may be larger than {hard_limit} bytes", details={"limit": hard_limit}
        )
    parser = None
    if multipart:
        boundary = options.get(b"boundary")
        if not boundary:
            raise ValidationFailed("multipart/form-data needs a boundary", code="INVALID_MULTIPART")
        parser = _MultipartFile(boundary)
    with path.open("wb") as out:
        receiver = _Receiver(out, limits=limits, declared_size=None if multipart else declared_size)
        receiver.filename = clean_filename(filename)
        received = 0
        named = False
        async for chunk in body:
            received += len(chunk)
            if received > hard_limit + slack:
                raise FileTooLarge(
                    f"No file may be larger than {hard_limit} bytes",
                    details={"limit": hard_limit},
                )
            if parser is None:
                await receiver.feed(chunk)
                continue
            data = parser.write(chunk)
            if parser.found and not named:  # before the first byte is sniffed
                receiver.filename = clean_filename(parser.filename or filename)
                named = True
            await receiver.feed(data)
        if parser is not None and not parser.found:
            raise ValidationFailed(
                "Send the file in a multipart part named `file`", code="MISSING_FILE"
            )
        if parser is not None and not parser.complete:
            raise ValidationFailed(
                "The multipart body ended before the file did", code="INVALID_MULTIPART"
            )
        return await receiver.finish(path)
