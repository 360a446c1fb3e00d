"""File → Markdown converters for imports (FILE-3). Pure functions of bytes; CPU-bound, so
callers run them in a worker thread (or a job).

Libraries, and why:
- PDF: pypdf — pure Python (no system poppler), maintained, text extraction in reading order
  that is good enough for prose; pdfminer.six lays out better but is several times slower.
- DOCX: mammoth — maps Word *styles* (Heading 1, lists, tables) to semantic HTML rather than
  visual formatting, which is what a Markdown document wants; then the HTML path below.
- HTML: markdownify (MIT; html2text is GPL) on a BeautifulSoup tree from which scripts, styles
  and other non-content elements were removed first.

    >>> convert(b"<h1>Hi</h1><p>there</p>", fmt="html", filename="page.html").markdown
    '# Hi\\n\\nthere\\n'
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from tynebase.errors import ValidationFailed
from tynebase.files.sniff import DOCX

FORMATS = ("pdf", "docx", "html", "markdown", "text")
_FORMAT_OF = {
    "application/pdf": "pdf",
    DOCX: "docx",
    "text/html": "html",
    "text/markdown": "markdown",
    "text/plain": "text",
}
MAX_PDF_PAGES = 2000
TITLE_CHARS = 200
# Elements whose content is never document text.
_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "head",
    "title",
)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_BLANK_RUNS = re.compile(r"\n{3,}")


class UnreadableFile(ValidationFailed):
    status = 422
    code = "IMPORT_UNREADABLE"


@dataclass(frozen=True)
class Converted:
    title: str
    markdown: str


def format_of(content_type: str) -> str | None:
    """The import format of a (sniffed) content type; None if it cannot be imported."""
    return _FORMAT_OF.get(content_type)


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252, which maps every byte somewhere."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _tidy(markdown: str) -> str:
    text = markdown.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip("\n") + "\n"


def _title(markdown: str, fallback: str, filename: str) -> str:
    heading = _HEADING.search(markdown)
    for candidate in (heading.group(1) if heading else "", fallback):
        candidate = " ".join(candidate.split())
        if candidate:
            return candidate[:TITLE_CHARS]
    stem = PurePosixPath(filename).stem.strip()
    return (stem or "Imported document")[:TITLE_CHARS]


def html_to_markdown(html: str) -> tuple[str, str]:
    """(Markdown, the page's <title>)."""
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    body = soup.body or soup
    markdown = MarkdownConverter(heading_style="ATX", bullets="-", escape_misc=False).convert_soup(
        body
    )
    return markdown, title


def pdf_to_markdown(data: bytes) -> tuple[str, str]:
    """(the text of each page, separated by blank lines; the document's /Title)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableFile("This PDF is encrypted", details={"format": "pdf"})
        if len(reader.pages) > MAX_PDF_PAGES:
            raise UnreadableFile(
                f"PDFs with more than {MAX_PDF_PAGES} pages cannot be imported",
                details={"format": "pdf", "pages": len(reader.pages)},
            )
        pages = [page.extract_text() or "" for page in reader.pages]
        metadata = reader.metadata
        title = str(metadata.get("/Title") or "") if metadata else ""
    except (PdfReadError, ValueError, KeyError) as exc:
        raise UnreadableFile("This PDF cannot be read", details={"format": "pdf"}) from exc
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    # PDFs rarely carry a title; their first line usually is one.
    first_line = text.split("\n", 1)[0].strip()
    return text, title or (first_line if len(first_line) <= TITLE_CHARS else "")


def docx_to_markdown(data: bytes) -> tuple[str, str]:
    import mammoth  # type: ignore[import-untyped]

    try:
        result = mammoth.convert_to_html(io.BytesIO(data))
    except Exception as exc:  # mammoth raises whatever its zip/xml readers raise
        raise UnreadableFile("This DOCX file cannot be read", details={"format": "docx"}) from exc
    markdown, _ = html_to_markdown(result.value)
    return markdown, ""


def convert(data: bytes, *, fmt: str, filename: str) -> Converted:
    """Markdown and a title for a file of import format `fmt` (see FORMATS)."""
    if fmt == "pdf":
        markdown, title = pdf_to_markdown(data)
    elif fmt == "docx":
        markdown, title = docx_to_markdown(data)
    elif fmt == "html":
        markdown, title = html_to_markdown(decode_text(data))
    elif fmt in {"markdown", "text"}:
        markdown, title = decode_text(data), ""
    else:
        raise ValueError(f"unknown import format {fmt!r}")
    markdown = _tidy(markdown)
    if not markdown.strip():
        raise UnreadableFile("No text was found in this file", details={"format": fmt})
    # A plain text file has no headings: its title comes from its name.
    heading_source = markdown if fmt != "text" else ""
    return Converted(title=_title(heading_source, title, filename), markdown=markdown)
