"""Real-time collaboration (COL): the Yjs sync protocol over WebSocket at `/collab/{document_id}`.

- `tickets`: single-use, short-lived tickets that admit one socket to one document (COL-2)
- `protocol`: the y-websocket message format (sync step 1/2, update, awareness)
- `room`, `manager`: one in-memory Yjs document per open document, its sockets, limits (COL-3)
  and revocation (COL-5)
- `store`, `projection`: the durable update log, snapshots, fan-out between processes (COL-4,
  COL-6) and the debounced Markdown projection through the documents service
- `external`, `textdiff`: body edits made through the REST API enter the Yjs state as one
  three-way-merged update (so projections never undo them)
- `api`, `app`: the ticket endpoint, the WebSocket route, and the standalone `tynebase collab` app
"""
