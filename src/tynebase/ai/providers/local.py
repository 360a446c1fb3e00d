"""The offline provider ("local"): no network, no model. It answers chat and generation calls
with extractive text (`ChatResult.extractive` is True, model "extractive"): a summary, an outline
or the sentences that answer a question, taken from the text in the messages.

How it reads the messages: the last user message is the instruction; the other messages (system
prompt with context, earlier turns) are the source text. A lone message of the form
"instruction: text" or "instruction\\n\\ntext" carries both. The instruction picks the mode:
"outline" -> outline, "summar"/"tl;dr"/"key points" -> summary, anything else -> answer.
Callers that hold structured input should call `tynebase.ai.providers.extractive` directly.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from tynebase.ai.providers import extractive
from tynebase.ai.providers.base import ChatMessage, ChatResult, StreamEvent, UnservedTasks, Usage
from tynebase.ai.providers.config import LOCAL_PROVIDER, AITask
from tynebase.ai.providers.errors import AINotConfigured

EXTRACTIVE_MODEL = "extractive"
NO_ANSWER = "The given text does not answer this question."
_OUTLINE = re.compile(r"\boutlin", re.I)
_SUMMARY = re.compile(r"\bsummar|\btl;?dr\b|\bkey points\b|\boverview\b|\bgist\b", re.I)
# Roughly four characters a token: enough to honour max_tokens without a tokenizer.
CHARS_PER_TOKEN = 4
# Above this much text, extraction (about 5 ms per 1,000 words) leaves the event loop for a
# thread; below it the hop would cost more than the work.
INLINE_CHARS = 20_000


async def _extract(messages: list[ChatMessage], max_tokens: int | None) -> str:
    if sum(len(m.content) for m in messages) <= INLINE_CHARS:
        return extract(messages, max_tokens=max_tokens)
    return await asyncio.to_thread(extract, messages, max_tokens=max_tokens)


def _split_instruction(messages: list[ChatMessage]) -> tuple[str, str]:
    users = [i for i, m in enumerate(messages) if m.role == "user"]
    if not users:
        return "", "\n\n".join(m.content for m in messages)
    last = users[-1]
    instruction = messages[last].content
    source = "\n\n".join(m.content for i, m in enumerate(messages) if i != last)
    if not source.strip():
        head, sep, rest = instruction.partition("\n\n")
        if not sep:
            head, sep, rest = instruction.partition(": ")
        if sep and rest.strip():
            instruction, source = head, rest
        else:
            source = instruction
    return instruction, source


def extract(messages: list[ChatMessage], *, max_tokens: int | None = None) -> str:
    """The extractive reply to `messages` (see the module docstring)."""
    instruction, source = _split_instruction(messages)
    max_words = max(1, max_tokens * 3 // 4) if max_tokens else None
    if _OUTLINE.search(instruction):
        text = extractive.outline(source)
    elif _SUMMARY.search(instruction) or instruction == source:
        text = extractive.summarize(source, max_words=max_words)
    else:
        hits = extractive.answer(instruction, [source])
        text = " ".join(hit.sentence for hit in hits) or NO_ANSWER
    if max_tokens and len(text) > max_tokens * CHARS_PER_TOKEN:
        text = text[: max_tokens * CHARS_PER_TOKEN].rsplit(" ", 1)[0]
    return text


class LocalProvider(UnservedTasks):
    """Serves chat and generate offline; embeddings come from the retrieval feature's local
    embedder, and there is no offline reranker or transcriber."""

    name = LOCAL_PROVIDER
    kind = "local"

    def model_for(self, task: AITask) -> str | None:
        return EXTRACTIVE_MODEL if task in (AITask.chat, AITask.generate) else None

    def embedding_dimensions(self) -> int | None:
        return None

    async def chat(
        self,
        *,
        model: str,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> ChatResult:
        text = await _extract(messages, max_tokens)
        return ChatResult(
            text=text,
            provider=self.name,
            model=EXTRACTIVE_MODEL,
            usage=Usage(input_tokens=0, output_tokens=0),
            finish_reason="stop",
            extractive=True,
        )

    async def stream_chat(
        self,
        *,
        model: str,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> AsyncIterator[StreamEvent]:
        text = await _extract(messages, max_tokens)
        # Line by line keeps Markdown outlines intact for a client rendering as it goes.
        for piece in re.split(r"(?<=\n)|(?<=[.!?] )", text):
            if piece:
                yield StreamEvent(text=piece)
        yield StreamEvent(
            done=True, usage=Usage(input_tokens=0, output_tokens=0), finish_reason="stop"
        )

    def _unsupported(self, task: AITask) -> AINotConfigured:
        return AINotConfigured(
            f"No AI provider is configured for {task} (the offline provider cannot do it)",
            provider=self.name,
        )

    async def aclose(self) -> None:
        return None
