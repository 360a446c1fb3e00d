"""The ticket endpoint (API process) and the WebSocket route (collab process, or the API process
under `tynebase serve`)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, WebSocket

from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.collab import tickets
from tynebase.collab.manager import CollabManager
from tynebase.collab.schemas import CollabTicketOut
from tynebase.collab.transport import frame_writer, message_deliverer
from tynebase.settings import Settings

ticket_router = APIRouter(prefix="/api/documents", tags=["collaboration"], responses=COMMON_ERRORS)
socket_router = APIRouter()


def collab_url(settings: Settings) -> str:
    """Where browsers open sockets: configured, or the public URL's ws(s) twin + /collab."""
    if settings.collab_public_url:
        return settings.collab_public_url.rstrip("/")
    base = settings.public_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + "/collab"
    return "ws://" + base.removeprefix("http://") + "/collab"


@ticket_router.post("/{document_id}/collab-ticket", status_code=201)
async def create_collab_ticket(document_id: UUID, ctx: AuthCtx) -> CollabTicketOut:
    """A single-use ticket to open the document's collaboration socket (read-only for those
    who may not edit it)."""
    settings = ctx.state.settings
    issued = await tickets.do_issue(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        document_id=document_id,
        ttl_seconds=settings.collab_ticket_ttl_seconds,
    )
    return CollabTicketOut(
        ticket=issued.ticket,
        expires_at=issued.expires_at,
        url=collab_url(settings),
        room=document_id,
        read_only=issued.read_only,
        role=issued.role,
    )


class _StarletteSocket:
    __slots__ = ("_ws", "deliver_to", "write_frame")

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket
        self.write_frame = frame_writer(websocket.scope)
        self.deliver_to = message_deliverer(websocket.scope)

    async def send(self, data: bytes) -> None:
        await self._ws.send({"type": "websocket.send", "bytes": data})

    async def close(self, code: int, reason: str) -> None:
        await self._ws.close(code, reason)


@socket_router.websocket("/collab/{document_id}")
async def collab_socket(websocket: WebSocket, document_id: str) -> None:
    manager: CollabManager = websocket.app.state.collab
    # Accepted before anything else so refusals can carry a close code; nothing about the
    # document is sent until the ticket is accepted.
    await websocket.accept()

    async def receive() -> bytes | str | None:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        data: bytes | str | None = message.get("bytes")
        return data if data is not None else message.get("text", "")

    await manager.serve(
        _StarletteSocket(websocket),
        receive,
        document_id=document_id,
        ticket=websocket.query_params.get("ticket"),
        headers=websocket.headers,
    )
