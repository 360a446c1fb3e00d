"""Background work takes turns so it cannot stall the loop all at once: the projector runs at
most `PROJECTIONS_AT_ONCE` debounced projections at a time, compactions run one at a time, and
every due room still gets its turn (without a database: the work itself is replaced)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tests.conftest import make_settings
from tynebase.collab import manager as manager_module
from tynebase.collab.manager import PROJECTIONS_AT_ONCE, CollabManager
from tynebase.collab.room import Room
from tynebase.db.engine import Database, DatabaseUrls

URL = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # never connected to: the work is faked


@contextlib.asynccontextmanager
async def projecting(tmp_path: Path, rooms: list[Room]) -> AsyncIterator[None]:
    """A manager's projector running over `rooms`, all dirty and due at once."""
    settings = make_settings(tmp_path, URL, collab_projection_max_delay_seconds=0.01)
    db = Database(DatabaseUrls(owner=URL, app=URL), settings)
    manager = CollabManager(settings, db, CollectorRegistry())
    for room in rooms:
        room.dirty_since = room.last_change = time.monotonic()
        manager.rooms[room.key] = room
    projector = asyncio.create_task(manager._projector())
    try:
        yield
    finally:
        projector.cancel()
        await asyncio.gather(projector, *manager._tasks, return_exceptions=True)
        await db.engine.dispose()


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)


def test_due_rooms_are_projected_a_few_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rooms = [Room(uuid.uuid4(), uuid.uuid4()) for _ in range(12)]
    running: set[Room] = set()
    projected: list[Room] = []
    most = 0

    async def fake_project(db: Database, room: Room) -> str:
        nonlocal most
        assert room not in running  # never twice at once
        running.add(room)
        most = max(most, len(running))
        await asyncio.sleep(0.01)
        room.dirty_since = None
        running.discard(room)
        projected.append(room)
        return "saved"

    async def scenario() -> None:
        async with projecting(tmp_path, rooms):
            await until(lambda: len(projected) == len(rooms))
        assert sorted(map(id, projected)) == sorted(map(id, rooms))

    monkeypatch.setattr(manager_module, "project_room", fake_project)
    monkeypatch.setattr(manager_module, "PROJECTOR_TICK", 0.01)
    asyncio.run(scenario())
    assert 1 < most <= PROJECTIONS_AT_ONCE


def test_a_stuck_projection_does_not_hold_up_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A projection waiting on a row lock (up to the statement timeout) lets later turns go."""
    rooms = [Room(uuid.uuid4(), uuid.uuid4()) for _ in range(6)]
    stuck, released = rooms[0], asyncio.Event()
    projected: list[Room] = []

    async def fake_project(db: Database, room: Room) -> str:
        async with room.busy:
            if room is stuck:
                await released.wait()
            room.dirty_since = None
            projected.append(room)
            return "saved"

    async def scenario() -> None:
        async with projecting(tmp_path, rooms):
            await until(lambda: len(projected) == len(rooms) - 1)
            # Every other room was projected while the stuck one still waits.
            assert sorted(map(id, projected)) == sorted(map(id, rooms[1:]))
            released.set()
            await until(lambda: stuck in projected)
        assert sorted(map(id, projected)) == sorted(map(id, rooms))

    monkeypatch.setattr(manager_module, "project_room", fake_project)
    monkeypatch.setattr(manager_module, "PROJECTOR_TICK", 0.01)
    monkeypatch.setattr(manager_module, "PROJECTION_TURN_SECONDS", 0.05)
    asyncio.run(scenario())


def test_compactions_run_one_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path, URL, collab_compact_after_updates=10)
    running: set[Room] = set()
    compacted: list[Room] = []
    most = 0

    async def fake_compact(room: Room) -> int:
        nonlocal most
        running.add(room)
        most = max(most, len(running))
        await asyncio.sleep(0.01)
        running.discard(room)
        compacted.append(room)
        room.log_rows = 0
        return 10

    async def scenario() -> None:
        db = Database(DatabaseUrls(owner=URL, app=URL), settings)
        manager = CollabManager(settings, db, CollectorRegistry())
        monkeypatch.setattr(manager.store, "compact", fake_compact)
        rooms = [Room(uuid.uuid4(), uuid.uuid4()) for _ in range(5)]
        for room in rooms:
            room.log_rows = 15  # past every document's point (10 to 15 rows)
            manager._stored(room)
        await asyncio.gather(*manager._tasks)
        await db.engine.dispose()
        assert sorted(map(id, compacted)) == sorted(map(id, rooms))

    asyncio.run(scenario())
    assert most == 1


def test_documents_reach_compaction_at_spread_out_points() -> None:
    """Documents edited together must not all merge in the same second."""
    rooms = [Room(uuid.uuid4(), uuid.uuid4()) for _ in range(200)]
    points = []
    for room in rooms:
        for rows in range(499, 751):
            room.log_rows = rows
            if room.compaction_due(500):
                break
        assert 500 <= room.log_rows <= 750
        points.append(room.log_rows)
    assert max(points) - min(points) > 150
    assert len(set(points)) > 100
