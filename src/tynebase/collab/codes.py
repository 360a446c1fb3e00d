"""Close codes of the collaboration socket (documented in docs/RUNBOOK.md section 3.2).

All are in the 4000-4999 range reserved for applications, so a client can tell them from
transport failures, and follow y-websocket's convention: 4400-4499 are final for this ticket,
4500-4599 are transient. Tickets are single use, so after any close a client needs a new ticket
(the provider's retry with the old one gets TICKET_INVALID, its cue to fetch one).
"""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    # 4400-4499: a decision that reconnecting with the same ticket cannot change (y-websocket's
    # provider stops reconnecting and emits `closed`; fetch a new ticket or give up).
    PROTOCOL_ERROR = 4400  # malformed message or document id
    TICKET_INVALID = 4401  # no ticket, unknown ticket, or one that was already used
    TICKET_EXPIRED = 4402  # a real ticket presented after its short lifetime
    WRONG_TENANT = 4403  # ticket of another workspace or for another document
    DOCUMENT_NOT_FOUND = 4404  # deleted, or no longer readable by this user
    SESSION_REVOKED = 4405  # the login session behind the ticket was revoked or expired
    ACCESS_REVOKED = 4406  # user or membership suspended or removed, API key revoked
    ROLE_CHANGED = 4407  # write access lost on a writable socket (reconnect read-only)
    TENANT_SUSPENDED = 4408  # the workspace was suspended
    MESSAGE_TOO_LARGE = 4413  # a message over TYNEBASE_COLLAB_MAX_MESSAGE_BYTES
    # 4500-4599: try again later (the provider reconnects by itself, with backoff).
    SERVER_ERROR = 4500  # an unexpected failure
    SERVER_BUSY = 4503  # soft connection limit: no new documents open on this process
    SERVER_FULL = 4504  # hard connection limit: no new sockets on this process
    SHUTTING_DOWN = 4505  # the process is stopping (its state was flushed first)
    IDLE_TIMEOUT = 4508  # nothing received for TYNEBASE_COLLAB_IDLE_TIMEOUT_SECONDS
    SLOW_CONSUMER = 4509  # the client did not read its messages fast enough
    ROOM_FULL = 4529  # TYNEBASE_COLLAB_MAX_CLIENTS_PER_DOCUMENT sockets on this document

    @property
    def reason(self) -> str:
        """The close reason sent with the code (the enum name, stable for clients and tests)."""
        return self.name


class Refused(Exception):
    """A socket that must be closed with `code` (raised before or during a session)."""

    def __init__(self, code: CloseCode, detail: str = "") -> None:
        super().__init__(detail or code.name)
        self.code = code
        self.detail = detail
