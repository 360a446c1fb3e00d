"""The y-websocket encoding and the deterministic seed, without a server."""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Doc, Text

from tynebase.collab import protocol
from tynebase.collab.protocol import AwarenessEntry, ProtocolError
from tynebase.collab.store import seed_update


def test_var_uint_round_trip() -> None:
    for value in (0, 1, 127, 128, 300, 2**21, 2**40):
        assert protocol.Reader(protocol.var_uint(value)).uint() == value


def test_awareness_round_trip() -> None:
    entries = [AwarenessEntry(7, 3, '{"user":"é"}'), AwarenessEntry(2**31, 0, "null")]
    assert protocol.parse_awareness(protocol.encode_awareness(entries)) == entries
    assert entries[1].removed


@pytest.mark.parametrize("data", [b"", b"\x80", b"\x00\x05ab", b"\xff" * 12])
def test_truncated_messages_are_protocol_errors(data: bytes) -> None:
    def read_all() -> None:
        reader = protocol.Reader(data)
        reader.uint()
        reader.bytes()
        reader.bytes()

    with pytest.raises(ProtocolError):
        read_all()


def test_seed_is_deterministic_and_holds_the_body() -> None:
    assert seed_update("# Hello\n") == seed_update("# Hello\n")
    doc: Doc[Any] = Doc()
    doc.apply_update(seed_update("# Hello\n"))
    doc.apply_update(seed_update("# Hello\n"))  # applying it twice changes nothing
    assert str(doc.get("markdown", type=Text)) == "# Hello\n"
