"""Consents (GDPR-2, AI-5): what each person allows TyneBase to do with their data.

Three consents, each granted by default and changeable at any time (`GET/PUT /api/me/consents`):

- ``ai_processing``: their requests and documents may be sent to AI providers (generation,
  enhance, transcription, chat). Refused: those features answer 403 CONSENT_REQUIRED.
- ``knowledge_indexing``: their documents may be chunked and embedded for retrieval.
- ``analytics``: usage analytics may include them.

Other features ask through `tynebase.consents.service`::

    from tynebase.consents import service as consents

    if not await consents.check_consent(conn, user_id, "knowledge_indexing"):
        ...  # leave this author's documents out of the index
    await consents.require_consent(conn, user_id, "ai_processing")  # raises CONSENT_REQUIRED

Consents belong to the person, not to a workspace: refusing in one workspace refuses in all.
"""
