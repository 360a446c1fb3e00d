from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ssrf.server import LoopbackServer, loopback_server


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with loopback_server() as running:
        yield running
