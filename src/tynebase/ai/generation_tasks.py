"""Job handlers of AI generation and transcription (listed in
`tynebase.jobs.registry.TASK_MODULES`)."""

from __future__ import annotations

from typing import Any

from tynebase.ai import generation, transcription
from tynebase.jobs.registry import JobContext, job_task

# Their own queue: long model calls never hold up imports and other quick jobs (and a worker
# can be started for them alone: `tynebase worker --queue ai`).
AI_QUEUE = "ai"


# Provider failures fail the job at once with their code (the provider layer has already retried
# what was worth retrying); a crashed worker's attempt runs again, and is charged only once.
@job_task(generation.GENERATE_KIND, queue=AI_QUEUE, max_attempts=3)
async def generate(ctx: JobContext) -> dict[str, Any]:
    return await generation.run_generation(ctx)


@job_task(transcription.TRANSCRIBE_KIND, queue=AI_QUEUE, max_attempts=3)
async def transcribe(ctx: JobContext) -> dict[str, Any]:
    return await transcription.run_transcription(ctx)
