"""Rendered Markdown for pages: markdown-it with raw HTML disabled (documents.render), then an
allow-list sanitiser (nh3, the Rust `ammonia`) as a second wall, so a bug or a future plugin in
the Markdown layer still cannot put script, event handlers or dangerous URLs into a page."""

from __future__ import annotations

import anyio
import nh3

from tynebase.documents.render import to_safe_html

_TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
        "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr",
        "ul",
    }
)  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "th": {"style"},
    "td": {"style"},
    "ol": {"start"},
}
_SCHEMES = frozenset({"http", "https", "mailto"})


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(_TAGS),
        attributes={k: set(v) for k, v in _ATTRIBUTES.items()},
        url_schemes=set(_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )


def markdown_to_html(markdown: str) -> str:
    return sanitise(to_safe_html(markdown))


async def render_markdown(markdown: str) -> str:
    """Off the event loop for large bodies (10 MB documents exist)."""
    if len(markdown) < 20_000:
        return markdown_to_html(markdown)
    return await anyio.to_thread.run_sync(markdown_to_html, markdown)
