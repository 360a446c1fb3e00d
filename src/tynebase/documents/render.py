"""Markdown to HTML that is safe to put in a page: raw HTML in the source is escaped, not
passed through, and links or images with script-capable schemes (javascript:, vbscript:,
file:, non-image data:) are not rendered as links (markdown-it's `validateLink`)."""

from __future__ import annotations

from functools import cache

import anyio
from markdown_it import MarkdownIt


@cache
def _renderer() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def to_safe_html(markdown: str) -> str:
    html: str = _renderer().render(markdown)
    return html


async def render_safe_html(markdown: str) -> str:
    """`to_safe_html` off the event loop (bodies reach 10 MB)."""
    return await anyio.to_thread.run_sync(to_safe_html, markdown)
