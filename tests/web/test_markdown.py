"""The page renderer: Markdown with raw HTML disabled, then the nh3 allow-list."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from tests.e2e.xss_payloads import PAYLOADS
from tynebase.web.markdown import markdown_to_html, sanitise

ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr",
    "ul",
}  # fmt: skip


def _check(html: str) -> None:
    """Parsed as a browser would: only allowed elements, no handlers, only safe URL schemes."""
    for element in BeautifulSoup(html, "html.parser").find_all(True):
        assert element.name in ALLOWED_TAGS, (element.name, html)
        for name, value in element.attrs.items():
            assert not name.lower().startswith("on"), (name, html)
            if name in ("href", "src"):
                scheme = urlsplit(str(value).strip()).scheme.lower()
                assert scheme in ("", "http", "https", "mailto"), (value, html)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_survives_as_markup(payload: str) -> None:
    for source in (payload, f"[x]({payload})", f"![x]({payload})", f"> {payload}"):
        _check(markdown_to_html(source))


def test_ordinary_markdown_survives() -> None:
    html = markdown_to_html(
        "# Title\n\n**bold** _it_ `code` [link](https://example.com)\n\n| a |\n|---|\n| 1 |\n"
    )
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.com"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert "<table>" in html


def test_sanitiser_is_a_second_wall() -> None:
    """Even HTML that bypassed the Markdown layer loses script and handlers."""
    dirty = '<p onclick="x()">hi<script>alert(1)</script><a href="javascript:alert(1)">a</a></p>'
    clean = sanitise(dirty)
    assert "script" not in clean
    assert "onclick" not in clean
    assert "javascript" not in clean
