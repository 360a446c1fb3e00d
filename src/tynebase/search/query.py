"""From what a person types to a PostgreSQL tsquery that matches the `documents.search_vector`.

The vector holds English stems of the text and, for CJK scripts (written without spaces),
overlapping character bigrams (`tb_cjk_bigrams` in migration 0002). A query is built the same
way: the non-CJK text goes to `websearch_to_tsquery('english', ...)` (quotes, `or`, `-word`
work as people expect), and every CJK run becomes its bigrams AND-ed together with
`to_tsquery('simple', ...)`; a single CJK character becomes a prefix match.

    >>> parse("東京 tower").cjk_tsquery
    "'東京'"
    >>> parse("東京 tower").latin
    'tower'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSQUERY

# The same ranges as `tb_cjk_bigrams`: kana, CJK ideographs (+ extension A, compatibility),
# Hangul syllables. Keep them in step, or queries and documents would split text differently.
CJK_RUN = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
MAX_QUERY_CHARS = 500


@dataclass(frozen=True)
class ParsedQuery:
    latin: str  # for websearch_to_tsquery('english', ...); "" when there is none
    cjk_runs: tuple[str, ...]

    @property
    def cjk_terms(self) -> tuple[str, ...]:
        """The bigrams (or single characters) a document must contain, in query order."""
        terms: list[str] = []
        for run in self.cjk_runs:
            pairs = [run[i : i + 2] for i in range(len(run) - 1)] or [run]
            terms.extend(p for p in pairs if p not in terms)
        return tuple(terms)

    @property
    def cjk_tsquery(self) -> str:
        """`to_tsquery('simple', ...)` text; a lone character matches words it starts."""
        return " & ".join(f"'{t}':*" if len(t) == 1 else f"'{t}'" for t in self.cjk_terms)

    @property
    def is_empty(self) -> bool:
        return not self.latin and not self.cjk_runs


def parse(text: str) -> ParsedQuery:
    runs = tuple(dict.fromkeys(CJK_RUN.findall(text)))
    latin = " ".join(CJK_RUN.sub(" ", text).split())
    # Only punctuation left (e.g. "-" or '""') would make an empty websearch query: drop it.
    if not any(ch.isalnum() for ch in latin):
        latin = ""
    return ParsedQuery(latin=latin, cjk_runs=runs)


def tsquery(*, latin: bool, cjk: bool) -> sa.ColumnElement[object]:
    """The SQL tsquery, from the bound parameters `latin` and `cjk` (see `parameters`)."""
    parts: list[sa.ColumnElement[object]] = []
    if latin:
        english: sa.ColumnElement[object] = sa.literal_column("'english'::regconfig")
        parts.append(sa.func.websearch_to_tsquery(english, sa.bindparam("latin", type_=sa.Text)))
    if cjk:
        simple: sa.ColumnElement[object] = sa.literal_column("'simple'::regconfig")
        parts.append(sa.func.to_tsquery(simple, sa.bindparam("cjk", type_=sa.Text)))
    assert parts, "an empty query matches nothing: check is_empty first"
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.op("&&")(part)
    return sa.type_coerce(combined, TSQUERY)


def parameters(parsed: ParsedQuery) -> dict[str, str]:
    values = {}
    if parsed.latin:
        values["latin"] = parsed.latin
    if parsed.cjk_runs:
        values["cjk"] = parsed.cjk_tsquery
    return values
