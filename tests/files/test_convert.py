"""The import converters, as pure functions on small files made here."""

from __future__ import annotations

import io

import pytest

from tests.files.helpers import docx_bytes, pdf_bytes
from tynebase.imports.convert import UnreadableFile, convert, decode_text, format_of


def test_pdf_text_and_title() -> None:
    converted = convert(pdf_bytes("Safety manual", "Wear gloves."), fmt="pdf", filename="m.pdf")
    assert converted.title == "Safety manual"
    assert "Wear gloves." in converted.markdown


def test_pdf_pages_are_separated() -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Two pages")
    for text in ("First page", "Second page"):
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.cell(text=text)
    converted = convert(bytes(pdf.output()), fmt="pdf", filename="two.pdf")
    assert converted.title == "Two pages"  # the document's own title wins
    assert converted.markdown == "First page\n\nSecond page\n"


def test_encrypted_and_broken_pdfs_are_unreadable() -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="user")
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="secret")
    with pytest.raises(UnreadableFile, match="encrypted"):
        convert(bytes(pdf.output()), fmt="pdf", filename="s.pdf")
    with pytest.raises(UnreadableFile) as caught:
        convert(b"%PDF-1.4\n garbage", fmt="pdf", filename="b.pdf")
    assert caught.value.code == "IMPORT_UNREADABLE"


def test_docx_keeps_headings_lists_and_emphasis() -> None:
    from docx import Document

    document = Document()
    document.add_heading("Runbook", level=1)
    document.add_heading("Restart", level=2)
    paragraph = document.add_paragraph("Run ")
    paragraph.add_run("carefully").bold = True
    document.add_paragraph("first", style="List Bullet")
    document.add_paragraph("second", style="List Bullet")
    out = io.BytesIO()
    document.save(out)
    converted = convert(out.getvalue(), fmt="docx", filename="runbook.docx")
    assert converted.title == "Runbook"
    assert (
        converted.markdown == "# Runbook\n\n## Restart\n\nRun **carefully**\n\n- first\n- second\n"
    )


def test_broken_docx_is_unreadable() -> None:
    with pytest.raises(UnreadableFile):
        convert(docx_bytes()[:500], fmt="docx", filename="cut.docx")


def test_html_drops_scripts_styles_and_chrome() -> None:
    html = (
        "<html><head><title>T</title><style>.x{}</style><script>evil()</script></head>"
        "<body><noscript>enable js</noscript><h2>Setup</h2><p>Use <a href='https://e.x'>this</a>"
        "</p><iframe src='x'></iframe><table><tr><th>a</th></tr><tr><td>1</td></tr></table>"
        "</body></html>"
    )
    converted = convert(html.encode(), fmt="html", filename="p.html")
    assert converted.title == "Setup"
    for gone in ("evil", "enable js", ".x{}", "iframe"):
        assert gone not in converted.markdown
    assert "## Setup" in converted.markdown
    assert "[this](https://e.x)" in converted.markdown
    assert "| a |" in converted.markdown


def test_html_without_a_heading_takes_the_page_title() -> None:
    converted = convert(b"<title>Page</title><p>text</p>", fmt="html", filename="x.html")
    assert (converted.title, converted.markdown) == ("Page", "text\n")


def test_markdown_and_text_pass_through_tidied() -> None:
    md = convert(b"\xef\xbb\xbf## Sub\r\n\r\n\r\n\r\nbody  \r\n", fmt="markdown", filename="a.md")
    assert (md.title, md.markdown) == ("Sub", "## Sub\n\nbody\n")
    text = convert(b"# not a heading in text\n", fmt="text", filename="dir/notes.v2.txt")
    assert (text.title, text.markdown) == ("notes.v2", "# not a heading in text\n")


def test_legacy_encodings_are_decoded() -> None:
    assert decode_text("caf\u00e9 \u2013 ok".encode("cp1252")) == "caf\u00e9 \u2013 ok"
    assert decode_text("\ufeffutf8 \u00e9".encode()) == "utf8 \u00e9"


def test_empty_content_is_unreadable() -> None:
    with pytest.raises(UnreadableFile, match="No text"):
        convert(b"\n\n  \n", fmt="text", filename="blank.txt")
    with pytest.raises(UnreadableFile, match="No text"):
        convert(b"<script>only()</script>", fmt="html", filename="blank.html")


def test_formats() -> None:
    assert format_of("application/pdf") == "pdf"
    assert format_of("text/markdown") == "markdown"
    assert format_of("image/png") is None
    assert format_of("text/csv") is None
