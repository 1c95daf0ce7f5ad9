"""Loaders: each format gives clean text and metadata; bad input gives one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import SourceError
from assistant.settings import Settings
from assistant.ingest.fetch import canonical_url
from assistant.ingest.loaders import Loaded, iter_sources, walk

HTML = """<html><head><title>Rates rise - Daily Site</title>
<meta name="author" content="Ana Ruiz"><meta property="article:published_time" content="2024-03-05">
</head><body><nav><a href="/">Home</a> <a href="/about">About us</a> <a href="/login">Log in</a></nav>
<article><h1>Central bank raises rates</h1>
<p>The central bank raised its main interest rate to 4.5 percent on Tuesday, the third increase this year, citing stubborn inflation in services.</p>
<p>Officials said further moves would depend on wage growth, which reached 6.1 percent in the latest figures published by the statistics office.</p>
</article><footer>Copyright 2024 Daily Site. All rights reserved. Cookie settings.</footer></body></html>"""


def load(sources: list[str], **kw: object) -> tuple[list[Loaded], list[SourceError]]:
    errors: list[SourceError] = []
    items = list(iter_sources(sources, Settings(**kw), errors.append))  # type: ignore[arg-type]
    return items, errors


def parse_one(path: Path) -> object:
    items, errors = load([str(path)])
    assert not errors, errors
    assert len(items) == 1
    return items[0].parse()


def test_markdown_front_matter_and_title(tmp_path: Path) -> None:
    f = tmp_path / "a.md"
    f.write_text("---\ntitle: My Title\nurl: https://x.org/a\npublished: 2025-09-22\n---\n"
                 "# Heading\n\nBody   text.\r\n\n\n\nMore.\n", encoding="utf-8")
    doc = parse_one(f)
    assert doc.title == "My Title" and doc.published == "2025-09-22"
    assert doc.meta["url"] == "https://x.org/a"
    assert doc.text == "# Heading\n\nBody text.\n\nMore."
    assert doc.uri == str(f.resolve())


def test_plain_text_title_is_first_line(tmp_path: Path) -> None:
    f = tmp_path / "n.txt"
    f.write_text("A short title\nSome body.", encoding="utf-8")
    doc = parse_one(f)
    assert doc.title == "A short title" and doc.published is None


def test_html_main_text_without_boilerplate(tmp_path: Path) -> None:
    f = tmp_path / "page.html"
    f.write_text(HTML, encoding="utf-8")
    doc = parse_one(f)
    assert "4.5 percent" in doc.text and "6.1 percent" in doc.text
    for junk in ("About us", "Log in", "Cookie settings", "All rights reserved"):
        assert junk not in doc.text
    assert doc.title == "Central bank raises rates" or "Rates rise" in doc.title
    assert doc.meta["author"] == "Ana Ruiz" and doc.published == "2024-03-05"


@pytest.mark.parametrize("encoding,text", [
    ("cp1252", "Café prices rose 5% — “a lot”, said the owner of the café in Nîmes. " * 3),
    ("latin-1", "Les élèves français ont été reçus à l'école où ils étudient. " * 3),
    ("shift_jis", "東京の株式市場は本日大きく上昇しました。投資家は新しい政策を歓迎しています。" * 3),
    ("utf-16", "UTF-16 text with a BOM and accents: naïve façade. " * 3),
])
def test_non_utf8_is_decoded(tmp_path: Path, encoding: str, text: str) -> None:
    f = tmp_path / "enc.txt"
    f.write_bytes(text.encode(encoding))
    doc = parse_one(f)
    assert doc.text == text.strip()


def make_pdf(path: Path, pages: list[str]) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Quarterly report")
    pdf.set_font("Helvetica", size=12)
    for body in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, body)
    pdf.output(str(path))


def test_pdf_pages_are_known(tmp_path: Path) -> None:
    f = tmp_path / "r.pdf"
    make_pdf(f, ["Revenue grew 12 percent in the first quarter.",
                 "The board approved a dividend of 2 dollars per share."])
    doc = parse_one(f)
    assert doc.title == "Quarterly report" and doc.meta["pages"] == 2
    at = doc.text.index("dividend")
    assert doc.page_at(at) == 2 and doc.page_at(doc.text.index("Revenue")) == 1


def make_docx(path: Path) -> None:
    from datetime import datetime

    import docx

    d = docx.Document()
    d.core_properties.title = "Annual review"
    d.core_properties.author = "Mei Lin"
    d.core_properties.created = datetime(2025, 11, 3, 9, 30)
    d.add_heading("Results", level=1)
    d.add_paragraph("Sales rose 8 percent in the year.")
    table = d.add_table(rows=2, cols=3)
    for r, row in enumerate([["Region", "Sales", "Growth"], ["Asia", "120", "11%"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    merged = d.add_table(rows=1, cols=2)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "Totals follow"
    d.add_paragraph("The outlook for next year is stable.")
    d.save(str(path))


def test_docx_text_in_reading_order_with_its_properties(tmp_path: Path) -> None:
    f = tmp_path / "review.docx"
    make_docx(f)
    doc = parse_one(f)
    assert doc.text == ("Results\n\nSales rose 8 percent in the year.\n\n"
                        "Region | Sales | Growth\n\nAsia | 120 | 11%\n\nTotals follow\n\n"
                        "The outlook for next year is stable.")
    assert doc.title == "Annual review" and doc.meta["author"] == "Mei Lin"
    assert doc.published == "2025-11-03" and doc.meta["published_from"] == "Word properties"


def test_jsonl_rows_and_bad_lines_with_numbers(tmp_path: Path) -> None:
    f = tmp_path / "rows.jsonl"
    rows = [json.dumps({"text": "First article body.", "title": "One",
                        "url": "HTTPS://News.Example.com/a?utm_source=x#top",
                        "published": "2026-01-02", "author": "Kim"}),
            "{not json",
            json.dumps({"title": "no text"}),
            "",
            json.dumps({"text": "Second article body."}),
            json.dumps({"text": "New York CNN —\n\nSquid Game returns.",
                        "url": "https://www.cnn.com/2022/06/12/media/squid-game-season-2/"
                               "index.html"})]
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    items, errors = load([str(f)])
    parsed, failed = [], []
    for it in items:
        try:
            parsed.append(it.parse())
        except SourceError as e:
            failed.append(str(e))
    # No title given: the first line, unless it is a dateline; then the URL's slug.
    assert [d.title for d in parsed] == ["One", "Second article body.",
                                         "Squid game season 2"]
    assert parsed[0].uri == "https://news.example.com/a" and parsed[0].published == "2026-01-02"
    assert parsed[1].uri == f"{f.resolve()}#L5"
    assert failed[0].startswith(f"{f.resolve()}:2: invalid JSON")
    assert failed[1].startswith(f"{f.resolve()}:3: ") and "'text'" in failed[1]


@pytest.mark.parametrize("name,data,reason", [
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b"   \n\n  ", "no text left"),
    ("bin.txt", bytes(range(256)) * 4, "binary data"),
    ("trunc.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "PDF"),
    ("x.docx", b"PK\x03\x04", "unreadable Word document"),
    ("locked.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "password-protected"),
    ("x.odt", b"PK\x03\x04", "unsupported file type"),
])
def test_bad_files_give_one_line_naming_the_file(tmp_path: Path, name: str, data: bytes,
                                                  reason: str) -> None:
    f = tmp_path / name
    f.write_bytes(data)
    items, errors = load([str(f)])
    msgs = [str(e) for e in errors]
    for it in items:
        with pytest.raises(SourceError) as ei:
            it.parse()
        msgs.append(str(ei.value))
    assert len(msgs) == 1, msgs
    assert msgs[0].startswith(str(f.resolve()) + ": ") and reason in msgs[0]
    assert "\n" not in msgs[0]


def test_size_limit(tmp_path: Path) -> None:
    f = tmp_path / "big.txt"
    f.write_text("word " * 300_000)
    _, errors = load([str(f)], max_source_mb=1)
    assert len(errors) == 1 and "over the 1 MB limit" in str(errors[0])


def test_missing_path(tmp_path: Path) -> None:
    _, errors = load([str(tmp_path / "nope")])
    assert "no such file or directory" in str(errors[0])


def test_walk_include_exclude(tmp_path: Path) -> None:
    for rel in ["a.txt", "b.md", "c.py", "sub/d.html", ".hidden/e.txt", "sub/.f.txt",
                "skip/g.txt"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    got = [p.relative_to(tmp_path).as_posix() for p in walk(
        tmp_path, ["*.txt", "*.md", "*.html"], [".*", "skip"])]
    assert got == ["a.txt", "b.md", "sub/d.html"]


def test_url_fetch_from_loopback(http_dir: tuple[str, Path]) -> None:
    base, root = http_dir
    (root / "article.html").write_text(HTML, encoding="utf-8")
    (root / "notes.txt").write_text("Plain notes served over HTTP.", encoding="utf-8")
    items, errors = load([f"{base}/article.html#frag", f"{base}/notes.txt",
                          f"{base}/missing.html"], allow_private_urls=True)
    assert [i.uri for i in items] == [f"{base}/article.html", f"{base}/notes.txt"]
    assert "4.5 percent" in items[0].parse().text
    assert items[1].parse().text == "Plain notes served over HTTP."
    assert len(errors) == 1 and "HTTP 404" in str(errors[0])


def test_unreachable_url_and_download_cap(http_dir: tuple[str, Path]) -> None:
    from tests.conftest import free_port

    base, root = http_dir
    (root / "big.txt").write_text("y " * 700_000)
    port = free_port()
    _, errors = load([f"http://127.0.0.1:{port}/x", f"{base}/big.txt"], max_source_mb=1,
                     url_timeout=3, allow_private_urls=True)
    assert "unreachable" in str(errors[0]) and str(port) in str(errors[0])
    assert "over the 1 MB limit" in str(errors[1])


def test_canonical_url() -> None:
    assert canonical_url("HTTP://Example.COM:80/a/b?utm_medium=x&id=3#s") == \
        "http://example.com/a/b?id=3"
    assert canonical_url("https://example.com") == "https://example.com/"


def test_publication_dates_and_where_they_came_from(tmp_path: Path) -> None:
    """Each kind of source gives its date from its own field, else from a dateline at the
    top of the text; a date inside the prose is not a publication date."""
    from datetime import datetime

    from fpdf import FPDF

    (tmp_path / "front.md").write_text("---\ntitle: T\npublished: 2025-09-22\n---\nBody text.")
    (tmp_path / "dateline.txt").write_text(
        "Alibaba's AI pivot\n\n6 min read\nSep 20, 2025\n\nAlibaba is betting on AI.")
    (tmp_path / "prose.txt").write_text(
        "A note\nOn March 3, 2020, the harbour handled a record number of ships, the "
        "authority said in a statement that was long.")
    (tmp_path / "page.html").write_text(HTML, encoding="utf-8")
    (tmp_path / "rows.jsonl").write_text(
        json.dumps({"text": "Row with a date field.", "publish_date": "2025/08/28"}) + "\n" +
        json.dumps({"text": "Updated Oct. 8, 2025, 4:51 p.m. ET\n\nThe match was moved."}) +
        "\n")
    pdf = FPDF()
    pdf.set_creation_date(datetime(2024, 3, 5, 12, 0))
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "A page of a report.")
    (tmp_path / "report.pdf").write_bytes(bytes(pdf.output()))
    items, errors = load([str(tmp_path)])
    assert not errors
    docs = {Path(i.uri.split("#")[0]).name + (i.uri.split("#")[1] if "#" in i.uri else ""):
            i.parse() for i in items}
    got = {k: (d.published, d.meta.get("published_from")) for k, d in docs.items()}
    assert got == {
        "front.md": ("2025-09-22", "front matter"),
        "dateline.txt": ("2025-09-20", "dateline"),
        "prose.txt": (None, None),
        "page.html": ("2024-03-05", "HTML metadata"),
        "rows.jsonlL1": ("2025-08-28", "JSONL"),
        "rows.jsonlL2": ("2025-10-08", "dateline"),
        "report.pdf": ("2024-03-05", "PDF metadata"),
    }
