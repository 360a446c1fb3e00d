"""A zip written into memory chunk by chunk, for streaming it out as it is made."""

from __future__ import annotations


class ChunkSink:
    """A write-only file for `zipfile.ZipFile` (no seek, no tell: zipfile then writes data
    descriptors and never goes back); `take()` hands over what was written so far."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def write(self, data: bytes) -> int:
        self._buffer += data
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        return data
