"""Transcription (FILE-5): an uploaded recording becomes a transcript, a summary and an article
draft through the provider's OpenAI-compatible /v1/audio/transcriptions (the fake server)."""

from __future__ import annotations

import io
import wave
from typing import Any

from fastapi.testclient import TestClient

from tests.ai.generation.helpers import ScriptedOpenAI, credits_of, finished_job
from tests.conftest import Account, TestDatabase, error_code
from tests.files.conftest import through
from tests.files.helpers import png_bytes, upload
from tynebase.settings import Settings


def wav_bytes(seconds: float = 0.2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(8000)
        recording.writeframes(b"\x00\x01" * int(8000 * seconds))
    return out.getvalue()


def stored(account: Account, data: bytes, filename: str) -> dict[str, Any]:
    response = upload(account, data, filename)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def transcribe(account: Account, file_id: str, **extra: Any) -> Any:
    return account.post("/api/ai/transcribe", json={"file_id": file_id, **extra})


def test_a_recording_becomes_transcript_summary_and_article(
    admin: Account,
    llm: ScriptedOpenAI,
    llm_client: TestClient,
    llm_settings: Settings,
    database: TestDatabase,
) -> None:
    account = through(admin, llm_client)
    llm.transcript_text = (
        "Welcome to the weekly sync. The release moves to Thursday because the tests are red. "
        "Ana owns the fix. We will review the dashboard next week."
    )
    recording = stored(account, wav_bytes(), "weekly-sync.wav")
    response = transcribe(account, recording["id"], language="en")
    assert response.status_code == 202, response.text
    started = response.json()
    assert (started["provider"], started["model"], started["credits_reserved"]) == (
        "openai",
        "fake-whisper",
        2,
    )
    job = finished_job(llm_settings, database, account, started["job_id"])
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert (result["provider"], result["model"], result["language"]) == (
        "openai",
        "fake-whisper",
        "english",
    )
    # The provider got the recording itself, as multipart form data.
    upload_request = next(r for r in llm.requests if r.path == "/v1/audio/transcriptions")
    assert wav_bytes() in upload_request.body
    transcript = account.get(f"/api/documents/{result['transcript_document_id']}").json()
    assert transcript["title"] == "Transcript: weekly-sync"
    assert transcript["body"].strip() == llm.transcript_text
    files = account.get("/api/files", params={"document_id": transcript["id"]}).json()
    assert [f["id"] for f in files["items"]] == [recording["id"]]
    for key in ("summary_document_id", "article_document_id"):
        draft = account.get(f"/api/documents/{result[key]}").json()
        assert draft["status"] == "draft"
        lineage = account.get(f"/api/documents/{draft['id']}/lineage").json()["items"]
        assert lineage[0]["event"] == "ai_generated"
        assert lineage[0]["details"]["transcript_document"] == transcript["id"]
    # The summary and article were drafted by the model from the transcript.
    asked = [r.json for r in llm.requests if r.path == "/v1/chat/completions"]
    assert any("Ana owns the fix" in m["content"] for body in asked for m in body["messages"])
    assert credits_of(account)["used"] == 2


def test_transcription_needs_a_provider_and_a_recording(
    admin: Account, llm_client: TestClient
) -> None:
    recording = stored(admin, wav_bytes(), "memo.wav")
    response = transcribe(admin, recording["id"])  # the default app has no provider for it
    assert (response.status_code, error_code(response)) == (503, "AI_NOT_CONFIGURED")
    account = through(admin, llm_client)
    picture = stored(account, png_bytes(), "photo.png")
    response = transcribe(account, picture["id"])
    assert (response.status_code, error_code(response)) == (415, "UNSUPPORTED_TRANSCRIPTION_FORMAT")
    response = transcribe(account, "00000000-0000-0000-0000-000000000000")
    assert (response.status_code, error_code(response)) == (404, "FILE_NOT_FOUND")


def test_silence_fails_the_job_and_costs_nothing(
    admin: Account,
    llm: ScriptedOpenAI,
    llm_client: TestClient,
    llm_settings: Settings,
    database: TestDatabase,
) -> None:
    account = through(admin, llm_client)
    llm.transcript_text = "   "
    recording = stored(account, wav_bytes(), "silence.wav")
    started = transcribe(account, recording["id"]).json()
    job = finished_job(llm_settings, database, account, started["job_id"])
    assert (job["status"], job["error"]["code"]) == ("failed", "TRANSCRIPT_EMPTY")
    assert credits_of(account)["used"] == 0
