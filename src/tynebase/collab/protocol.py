"""The y-websocket message format (y-protocols' sync, awareness and auth messages, lib0 encoding).

A message is `varUint(type)` then a body: sync = `varUint(step) varUint8Array(payload)`,
awareness = `varUint8Array(update)`, auth = `varUint(0) varString(reason)` (permission denied),
query-awareness = nothing. An awareness update is `varUint(n)` then n times
`varUint(clientID) varUint(clock) varString(JSON state or "null")`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

# Yjs's encoding of an update that changes nothing (no structs, empty delete set).
EMPTY_UPDATE = b"\x00\x00"


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3


class SyncStep(IntEnum):
    STEP1 = 0  # a state vector: "send me what I miss"
    STEP2 = 1  # the answer: the updates the other side misses
    UPDATE = 2  # an incremental update


class ProtocolError(ValueError):
    pass


def var_uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def var_bytes(data: bytes) -> bytes:
    return var_uint(len(data)) + data


class Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def uint(self) -> int:
        value = shift = 0
        data, pos = self.data, self.pos
        while True:
            if pos >= len(data) or shift > 63:
                raise ProtocolError("truncated or oversized varUint")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                self.pos = pos
                return value

    def bytes(self) -> bytes:
        length = self.uint()
        end = self.pos + length
        if end > len(self.data):
            raise ProtocolError("truncated byte array")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def string(self) -> str:
        try:
            return self.bytes().decode()
        except UnicodeDecodeError as exc:
            raise ProtocolError("invalid UTF-8 string") from exc


def sync_message(step: SyncStep, payload: bytes) -> bytes:
    return bytes((MessageType.SYNC, step)) + var_bytes(payload)


def update_message(update: bytes) -> bytes:
    return sync_message(SyncStep.UPDATE, update)


def awareness_message(update: bytes) -> bytes:
    return bytes((MessageType.AWARENESS,)) + var_bytes(update)


def permission_denied_message(reason: str) -> bytes:
    return bytes((MessageType.AUTH, 0)) + var_bytes(reason.encode())


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client_id: int
    clock: int
    state: str  # the JSON text as sent; "null" means the client left

    @property
    def removed(self) -> bool:
        return self.state == "null"


def parse_awareness(update: bytes) -> list[AwarenessEntry]:
    reader = Reader(update)
    return [
        AwarenessEntry(reader.uint(), reader.uint(), reader.string()) for _ in range(reader.uint())
    ]


def encode_awareness(entries: list[AwarenessEntry]) -> bytes:
    out = [var_uint(len(entries))]
    for entry in entries:
        out += [var_uint(entry.client_id), var_uint(entry.clock), var_bytes(entry.state.encode())]
    return b"".join(out)
