"""Chunking by document structure (RAG-1).

A Markdown body is split at headings into sections; each section into blocks (paragraphs,
lists, code fences, tables); a block longer than the target into sentences (and a sentence
longer than that into word windows). Consecutive small pieces of one section are merged up to
the target size, so a chunk is a coherent passage. Each chunk carries its section path, and the
text given to the embedder is prefixed with "Title > Section > Subsection".

    >>> body = "# Setup\\n\\nInstall it.\\n\\n## Linux\\n\\nUse apt."
    >>> [c.heading for c in chunk_document("Guide", body)]
    ['Guide > Setup', 'Guide > Setup > Linux']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TARGET_CHARS = 900  # ~200 tokens: a passage, not a page
MIN_CHARS = 250  # a smaller piece joins its neighbour in the same section
MAX_HEADING_CHARS = 300

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
# A sentence ends with . ! ? followed by space, or with a CJK full stop / mark.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])|(?<=[。！？])")


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    heading: str  # "Title > Section > Subsection"
    content: str  # the passage itself (what citations quote)

    @property
    def text(self) -> str:
        """What is embedded: the passage with its place in the document."""
        return f"{self.heading}\n\n{self.content}"


def _clean_heading(text: str) -> str:
    text = re.sub(r"[*_`]+", "", text).strip()
    return text[:MAX_HEADING_CHARS]


def sections(body: str) -> list[tuple[tuple[str, ...], str]]:
    """(section path, text) in document order; text before the first heading has path ()."""
    out: list[tuple[tuple[str, ...], str]] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(lines).strip()
        if text:
            out.append((tuple(name for _, name in path), text))
        lines.clear()

    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, _clean_heading(match.group(2))))
        else:
            lines.append(line)
    flush()
    return out


def blocks(text: str) -> list[str]:
    """Paragraph-level blocks; a fenced code block stays whole."""
    out: list[str] = []
    current: list[str] = []
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        if not line.strip() and not in_fence:
            if current:
                out.append("\n".join(current).strip())
                current = []
            continue
        current.append(line)
    if current:
        out.append("\n".join(current).strip())
    return [b for b in out if b]


def _words(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > limit:  # one unbroken run (a URL, CJK text): cut it
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:limit])
            word = word[limit:]
        if current and len(current) + 1 + len(word) > limit:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def split_block(block: str, limit: int = TARGET_CHARS) -> list[str]:
    """A block no longer than `limit`, else its sentences (or word windows) packed to it."""
    if len(block) <= limit:
        return [block]
    sentences = [s.strip() for s in _SENTENCE_END.split(block) if s and s.strip()]
    units: list[str] = []
    for sentence in sentences:
        units.extend([sentence] if len(sentence) <= limit else _words(sentence, limit))
    return _pack(units, limit, sep=" ")


def _pack(units: list[str], limit: int, *, sep: str) -> list[str]:
    packed: list[str] = []
    for unit in units:
        if packed and len(packed[-1]) + len(sep) + len(unit) <= limit:
            packed[-1] = packed[-1] + sep + unit
        else:
            packed.append(unit)
    return packed


def _merge_small(pieces: list[str], *, target: int, minimum: int) -> list[str]:
    merged: list[str] = []
    for piece in pieces:
        if (
            merged
            and (len(merged[-1]) < minimum or len(piece) < minimum)
            and (len(merged[-1]) + 2 + len(piece) <= target)
        ):
            merged[-1] = merged[-1] + "\n\n" + piece
        else:
            merged.append(piece)
    return merged


def chunk_document(
    title: str, body: str, *, target: int = TARGET_CHARS, minimum: int = MIN_CHARS
) -> list[Chunk]:
    """The document's chunks in order; a title-only document gives one chunk of its title."""
    title = " ".join(title.split())
    chunks: list[Chunk] = []
    for path, text in sections(body):
        pieces: list[str] = []
        for block in blocks(text):
            pieces.extend(split_block(block, target))
        heading = " > ".join((title, *path))
        for content in _merge_small(_pack_blocks(pieces, target), target=target, minimum=minimum):
            chunks.append(Chunk(ordinal=len(chunks), heading=heading, content=content))
    if not chunks:
        chunks.append(Chunk(ordinal=0, heading=title, content=title))
    return chunks


def _pack_blocks(pieces: list[str], target: int) -> list[str]:
    return _pack(pieces, target, sep="\n\n")
