"""The pure parts of search: splitting a query by script, and turning headlines into safe
snippets (no database)."""

from __future__ import annotations

from tynebase.search import snippets
from tynebase.search.query import parameters, parse
from tynebase.search.snippets import START, STOP, Snippet, build, from_headline


def test_queries_split_into_english_words_and_cjk_bigrams() -> None:
    parsed = parse("deploy 東京都 and 서울")
    assert parsed.latin == "deploy and"
    assert parsed.cjk_runs == ("東京都", "서울")
    assert parsed.cjk_terms == ("東京", "京都", "서울")
    assert parsed.cjk_tsquery == "'東京' & '京都' & '서울'"
    assert parameters(parsed) == {"latin": "deploy and", "cjk": "'東京' & '京都' & '서울'"}
    # One character: a prefix; repeated runs and bigrams once.
    assert parse("東").cjk_tsquery == "'東':*"
    assert parse("ああああ ああ").cjk_terms == ("ああ",)
    assert parse('"-" !! ()').is_empty
    assert parameters(parse("東京")) == {"cjk": "'東京'"}


def test_headlines_become_text_and_offsets() -> None:
    marked = from_headline(f"a {START}b{STOP} c {START}dd{STOP}")
    assert marked == Snippet("a b c dd", ((2, 3), (6, 8)))
    assert from_headline("plain") == Snippet("plain", ())
    assert from_headline(f"{START}{STOP}x") == Snippet("x", ())


def test_snippet_html_escapes_everything_but_its_marks() -> None:
    snippet = Snippet("<b>x</b> & y", ((3, 4),))
    assert snippet.html == "&lt;b&gt;<mark>x</mark>&lt;/b&gt; &amp; y"


def test_cjk_matches_are_marked_and_found_in_the_source_when_the_headline_has_none() -> None:
    assert build("会議は東京都で", cjk_terms=("東京", "京都"), source=None).highlights == ((3, 6),)
    source = "長い前置き。" * 30 + "最後に東京の話。"
    snippet = build(source[:40], cjk_terms=("東京",), source=source)
    assert snippet.text.startswith("…")
    assert [snippet.text[s:e] for s, e in snippet.highlights] == ["東京"]


def test_snippets_from_inside_a_document_start_with_an_ellipsis_and_are_bounded() -> None:
    snippet = build(f"middle {START}word{STOP} end", cjk_terms=(), source=None, mid_text=True)
    assert snippet == Snippet("…middle word end", ((8, 12),))
    long = build("x" * 1000, cjk_terms=(), source=None)
    assert len(long.text) == snippets.MAX_SNIPPET_CHARS
    assert long.text.endswith("…")
