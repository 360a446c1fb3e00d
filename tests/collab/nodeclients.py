"""Drive `node/clients.mjs`: real yjs + y-websocket clients in a Node process."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).parent / "node" / "clients.mjs"
TicketSource = Callable[[], Awaitable[str]]


class NodeClients:
    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.events: list[dict[str, Any]] = []
        self._texts: dict[str, asyncio.Future[str]] = {}
        self._tickets: dict[str, TicketSource] = {}
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> NodeClients:
        self.process = await asyncio.create_subprocess_exec(
            "node",
            str(SCRIPT),
            cwd=SCRIPT.parent,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        await self.wait_event(lambda e: e["event"] == "ready")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(Exception):
                await self.send({"cmd": "exit"})
                await asyncio.wait_for(self.process.wait(), 10)
            if self.process.returncode is None:
                self.process.kill()
        if self._reader is not None:
            self._reader.cancel()

    async def _read(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            event = json.loads(line)
            self.events.append(event)
            if event["event"] == "text":
                future = self._texts.pop(event["id"], None)
                if future is not None and not future.done():
                    future.set_result(event["text"])
            elif event["event"] == "need-ticket" and event["id"] in self._tickets:
                task = asyncio.create_task(self._renew(event["id"]))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _renew(self, client_id: str) -> None:
        ticket = await self._tickets[client_id]()
        await self.send({"cmd": "ticket", "id": client_id, "ticket": ticket})

    async def send(self, command: dict[str, Any]) -> None:
        assert self.process is not None
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()

    async def wait_event(
        self, predicate: Callable[[dict[str, Any]], bool], within: float = 20
    ) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + within
        seen = 0
        while asyncio.get_running_loop().time() < deadline:
            for event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = len(self.events)
            await asyncio.sleep(0.02)
        raise AssertionError(f"no such event; got {self.events[-10:]}")

    async def open(
        self, client_id: str, url: str, room: str, tickets: TicketSource, *, wait: bool = True
    ) -> None:
        self._tickets[client_id] = tickets
        synced_before = sum(
            1 for e in self.events if e["event"] == "synced" and e["id"] == client_id
        )
        await self.send(
            {"cmd": "open", "id": client_id, "url": url, "room": room, "ticket": await tickets()}
        )
        if wait:
            await self.wait_event(
                lambda e: (
                    e["event"] == "synced"
                    and e["id"] == client_id
                    and sum(
                        1 for x in self.events if x["event"] == "synced" and x["id"] == client_id
                    )
                    > synced_before
                )
            )

    async def type(self, client_id: str, text: str, at: int | None = None) -> None:
        await self.send({"cmd": "type", "id": client_id, "text": text, "at": at})

    async def burst(self, client_id: str, *, count: int, prefix: str, interval_ms: int) -> None:
        await self.send(
            {
                "cmd": "burst",
                "id": client_id,
                "count": count,
                "prefix": prefix,
                "interval_ms": interval_ms,
            }
        )

    async def text(self, client_id: str) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._texts[client_id] = future
        await self.send({"cmd": "text", "id": client_id})
        return await asyncio.wait_for(future, 10)

    async def close(self, client_id: str) -> None:
        await self.send({"cmd": "close", "id": client_id})
        await self.wait_event(lambda e: e["event"] == "closed-by-test" and e["id"] == client_id)

    def close_codes(self, client_id: str) -> list[int | None]:
        return [
            e["code"]
            for e in self.events
            if e["event"] in ("closed", "connection-close") and e["id"] == client_id
        ]
