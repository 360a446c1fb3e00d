from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field


class CollabTicketOut(BaseModel):
    """Open the document with y-websocket: `new WebsocketProvider(url, room, ydoc,
    {params: {ticket}})`. The ticket admits one socket, once, before `expires_at`."""

    ticket: str
    expires_at: datetime
    url: str = Field(description="WebSocket server URL for WebsocketProvider (ws:// or wss://)")
    room: UUID = Field(description="The room name: the document id")
    read_only: bool = Field(description="True when the socket may only read (viewers)")
    role: str
