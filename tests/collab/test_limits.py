"""COL-3: clients per document, soft and hard connection limits, message size and idle timeout,
each closing with its own code and counted in /metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest

from tests.collab.conftest import CollabProcess, new_document, ticket_source
from tests.collab.yclient import YClient
from tests.conftest import Account, TestDatabase
from tynebase.collab import protocol
from tynebase.collab.codes import CloseCode


@pytest.fixture
def limited(database: TestDatabase) -> Iterator[CollabProcess]:
    process = CollabProcess(
        database,
        TYNEBASE_COLLAB_MAX_CLIENTS_PER_DOCUMENT="2",
        TYNEBASE_COLLAB_SOFT_CONNECTION_LIMIT="3",
        TYNEBASE_COLLAB_HARD_CONNECTION_LIMIT="4",
        TYNEBASE_COLLAB_MAX_MESSAGE_BYTES="64KiB",
        TYNEBASE_COLLAB_IDLE_TIMEOUT_SECONDS="1",
    ).start()
    yield process
    process.stop()


async def _try(process: CollabProcess, account: Account, document_id: str) -> YClient:
    client = YClient(process.ws, document_id, ticket_source(account, document_id))
    with contextlib.suppress(ConnectionError):
        await client.connect()
    return client


def test_limits_close_with_their_codes(limited: CollabProcess, admin: Account) -> None:
    one, two, three = (new_document(admin) for _ in range(3))

    async def scenario() -> None:
        # A message over the limit.
        big = await _try(limited, admin, one)
        await big.send_raw(protocol.update_message(b"\x00" * 70_000))
        assert await big.closed_code() == CloseCode.MESSAGE_TOO_LARGE

        a1, a2 = await _try(limited, admin, one), await _try(limited, admin, one)
        assert a1.synced.is_set()
        assert a2.synced.is_set()
        room_full = await _try(limited, admin, one)
        assert room_full.close_codes == [CloseCode.ROOM_FULL]

        b1 = await _try(limited, admin, two)
        assert b1.synced.is_set()  # 3 sockets: the soft limit
        busy = await _try(limited, admin, three)
        assert busy.close_codes == [CloseCode.SERVER_BUSY]
        b2 = await _try(limited, admin, two)  # an open document still takes sockets
        assert b2.synced.is_set()
        full = await _try(limited, admin, two)  # 4 sockets: the hard limit
        assert full.close_codes == [CloseCode.SERVER_FULL]
        for client in (a1, a2, b1, b2):
            await client.close()

        # Nothing received for longer than the idle timeout.
        idle = await _try(limited, admin, three)
        assert idle.synced.is_set()
        assert await idle.closed_code() == CloseCode.IDLE_TIMEOUT

    asyncio.run(scenario())
    metrics = limited.metrics()
    for code in ("MESSAGE_TOO_LARGE", "ROOM_FULL", "SERVER_BUSY", "SERVER_FULL", "IDLE_TIMEOUT"):
        assert f'tynebase_collab_refusals_total{{reason="{code}"}}' in metrics
