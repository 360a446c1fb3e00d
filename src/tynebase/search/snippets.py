"""Highlighted snippets that are safe to show: plain text, match offsets, and escaped HTML.

`ts_headline` marks matches with two private-use characters (never HTML); they are removed from
the source text first, so the only markers in its output are its own. The text is then split
into plain text + offsets and escaped, so nothing a document contains can become markup.

`ts_headline` only knows whole words; CJK text has no word breaks, so its matches are found here,
as the query's bigrams, and a snippet without any match is re-cut around the first CJK match.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

START, STOP = "\ue000", "\ue001"
MARKERS = START + STOP
# Enough words for a line or two of context, in at most two fragments.
HEADLINE_OPTIONS = (
    f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, ShortWord=3, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
MAX_SNIPPET_CHARS = 320
CJK_CONTEXT_BEFORE = 40


@dataclass(frozen=True)
class Snippet:
    text: str
    highlights: tuple[tuple[int, int], ...]  # [start, end) character offsets into text

    @property
    def html(self) -> str:
        out: list[str] = []
        cursor = 0
        for start, end in self.highlights:
            out.append(html.escape(self.text[cursor:start]))
            out.append(f"<mark>{html.escape(self.text[start:end])}</mark>")
            cursor = end
        out.append(html.escape(self.text[cursor:]))
        return "".join(out)


def from_headline(headline: str) -> Snippet:
    """Split `ts_headline` output into text and the spans it marked."""
    text: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    for n, piece in enumerate(headline.split(START)):
        if n == 0:  # before the first match
            marked, rest = "", piece
        else:
            marked, _, rest = piece.partition(STOP)
        if marked:
            spans.append((length, length + len(marked)))
        for part in (marked, rest):
            text.append(part)
            length += len(part)
    return Snippet("".join(text), tuple(spans))


def _merge(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _find_all(text: str, term: str) -> list[tuple[int, int]]:
    found, at = [], text.find(term)
    while at >= 0:
        found.append((at, at + len(term)))
        at = text.find(term, at + 1)
    return found


def _clip(snippet: Snippet) -> Snippet:
    if len(snippet.text) <= MAX_SNIPPET_CHARS:
        return snippet
    keep = MAX_SNIPPET_CHARS - 1
    spans = tuple((s, min(e, keep)) for s, e in snippet.highlights if s < keep)
    return Snippet(snippet.text[:keep] + "…", spans)


def _after_ellipsis(snippet: Snippet) -> Snippet:
    if snippet.text.startswith("…"):
        return snippet
    return Snippet("…" + snippet.text, tuple((s + 1, e + 1) for s, e in snippet.highlights))


def build(
    headline: str, *, cjk_terms: tuple[str, ...], source: str | None, mid_text: bool = False
) -> Snippet:
    """The snippet for one hit: `ts_headline`'s, with CJK matches added (and, when it shows
    none of the query, a window of `source` around the first CJK match instead). `mid_text`:
    the headline's text starts inside the document (shown with a leading "…")."""
    snippet = from_headline(headline)
    cjk_spans = [span for term in cjk_terms for span in _find_all(snippet.text, term)]
    if cjk_terms and not snippet.highlights and not cjk_spans and source:
        clean = source.translate({ord(m): None for m in MARKERS})
        first = min((at for t in cjk_terms if (at := clean.find(t)) >= 0), default=-1)
        if first >= 0:
            begin = max(first - CJK_CONTEXT_BEFORE, 0)
            snippet = Snippet(" ".join(clean[begin : begin + MAX_SNIPPET_CHARS].split()), ())
            mid_text = mid_text or begin > 0
            cjk_spans = [span for term in cjk_terms for span in _find_all(snippet.text, term)]
    snippet = Snippet(snippet.text, _merge([*snippet.highlights, *cjk_spans]))
    return _clip(_after_ellipsis(snippet) if mid_text and snippet.text else snippet)
