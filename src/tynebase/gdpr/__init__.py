"""Privacy: a person's data export (GDPR-1) and account erasure (GDPR-3).

Export (`export.stream_zip`): a zip of JSON files plus the person's uploads, for the workspace
the request names: profile, memberships (all workspaces), authored documents with versions,
uploads (bytes), chats, consents, sessions, API keys, and audit entries about them.

Erasure (`erasure.do_erase`) removes the account, not one membership: users are global, so it
reaches every workspace that holds anything of the person (`gdpr_user_tenants`, migration 0010).

- Documents the person authored are deleted outright, whatever their status or visibility, with
  their versions, Yjs updates and snapshots, chunks and embeddings, index state, tags links,
  shares, collection links and AI suggestions (all cascade from `documents`). A tag left on no
  document by this is deleted too (its name came from their content).
- Their uploads (and files attached to their documents): rows now, blobs right after commit
  through the blob store (local or S3).
- Chats, sessions, refresh tokens, API keys, collab tickets, consents, memberships, invites to
  their address, mail queued to them, jobs they started: deleted.
- Content they contributed to other people's documents stays (it is the other author's work);
  `created_by` / `author_id` references become NULL through the foreign keys.
- The user row is deleted. The audit trail is kept, pseudonymised (`gdpr_scrub_audit`): their
  entries read `erased:<hash>` with no IP, and their email, name and key names are replaced in
  the details of entries about them. The document lineage keeps only their now unlinkable id.
- The last active admin of a workspace cannot be erased (409 LAST_ADMIN): promote someone first.
"""
