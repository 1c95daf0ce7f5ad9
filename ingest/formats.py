"""Raw bytes -> a Document: plain text and Markdown (front matter), HTML, PDF and Word;
each with its title and publication date and where that date came from."""

from __future__ import annotations

import json
import re
from pathlib import Path

from assistant.errors import SourceError
from assistant.text import dateline_date, iso_date
from assistant.types import Document
from assistant.ingest.clean import clean_text, decode
from assistant.ingest.fetch import canonical_url
from assistant.ingest.office import read_docx


def parse_bytes(data: bytes, kind: str, uri: str, url: str | None = None) -> Document:
    note = None
    if kind == "pdf":
        doc = parse_pdf(data, uri)
    elif kind == "docx":
        doc = parse_docx(data, uri)
    else:
        raw, note = decode(data, uri)
        doc = parse_html(raw, uri, url) if kind == "html" else parse_text(raw, uri)
    if note:
        doc.meta["decoding"] = note
    if not doc.text.strip():
        raise SourceError(uri, "no text left after cleaning (empty or only markup)")
    return doc


# --- formats -----------------------------------------------------------------------------
# "New York CNN —", "WASHINGTON (AP) -": a dateline, not a headline.
_DATELINE = re.compile(r"[\u2014\u2013-]\s*$|^[A-Z ,.()]+$")


def guess_title(text: str, uri: str) -> str:
    """A title for a source that gives none: its first line, unless that is a dateline or
    too long to be a headline; then the last meaningful part of its URL or file name."""
    first = next((ln for ln in text.split("\n") if ln.strip()), "").lstrip("# ").strip()
    if first and len(first) <= 200 and not _DATELINE.search(first):
        return first
    path = uri.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    parts = [p for p in re.split(r"[/\\]", path) if p and not re.fullmatch(
        r"index\.\w+|\d+|[\w.-]+\.(?:com|org|net)|https?:", p)]
    slug = re.sub(r"\.(?:html?|php|aspx?|txt|md|jsonl?|docx|pdf)$", "", parts[-1] if parts else "")
    words = re.sub(r"[-_]+", " ", slug).strip()
    return (words[:1].upper() + words[1:]) if words else first[:120]


_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def parse_text(raw: str, uri: str) -> Document:
    """Plain text or Markdown. Optional front matter (``---`` / ``key: value`` / ``---``)
    gives title, url, published and author; else the first line is the title."""
    meta: dict[str, str] = {}
    raw = raw.replace("\r\n", "\n")
    m = _FRONT.match(raw)
    if m:
        for line in m.group(1).splitlines():
            key, _, value = line.partition(":")
            if value.strip():
                meta[key.strip().lower()] = value.strip().strip('"')
        raw = raw[m.end():]
    text = clean_text(raw)
    title = title_line(meta.pop("title", "")) or title_line(guess_title(text, uri))
    published, where = dated(iso_date(meta.pop("published", "") or meta.pop("date", "")),
                             "front matter", text)
    return Document.make(uri, title, text, published=published,
                         meta={**meta, "source": uri, **where})


def parse_html(html: str, uri: str, url: str | None = None) -> Document:
    """The article's main text and metadata via trafilatura; navigation and boilerplate
    are dropped."""
    import trafilatura

    try:
        out = trafilatura.extract(html, output_format="json", with_metadata=True,
                                  include_comments=False, include_tables=True, url=url)
    except Exception as e:  # trafilatura raises many kinds on broken markup
        raise SourceError(uri, f"cannot parse HTML ({e})") from None
    if not out:
        raise SourceError(uri, "no article text found in the HTML")
    info = json.loads(out)
    text = clean_text(info.get("text") or "")
    meta = {k: info[k] for k in ("author", "hostname", "sitename") if info.get(k)}
    # A fetched page's link is where its text came from; a saved page's, the address it
    # declares for itself.
    if link := url or declared_url(html):
        meta["url"] = link
    title = title_line(info.get("title") or "") or (text.split("\n", 1)[0][:200])
    published, where = dated(iso_date(info.get("date") or ""), "HTML metadata", text)
    return Document.make(uri, title, text, published=published,
                         meta={**meta, "source": uri, **where})


_CANONICAL = re.compile(r"<link\b[^>]*>", re.I)
_ATTR = re.compile(r"""\b(rel|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)


def declared_url(html: str) -> str | None:
    """The http(s) address in a page's ``<link rel="canonical" href=...>``, canonicalised."""
    for tag in _CANONICAL.findall(html[:200_000]):
        attrs = {m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or ""
                 for m in _ATTR.finditer(tag)}
        href = attrs.get("href", "").strip()
        if "canonical" in attrs.get("rel", "").lower().split() and re.match(
                r"https?://[^\s/]", href, re.I):
            return canonical_url(href)
    return None


def parse_pdf(data: bytes, uri: str) -> Document:
    """Text of every page; ``meta['page_starts']`` holds each page's offset in the text."""
    import io
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        pages = [clean_text(p.extract_text() or "") for p in reader.pages]
        info = reader.metadata or {}
    except Exception as e:
        raise SourceError(uri, f"unreadable PDF ({type(e).__name__}: {e})") from None
    if not pages:
        raise SourceError(uri, "PDF has no pages (truncated or damaged?)")
    text, starts = "", []
    for page in pages:
        if text:
            text += "\n\n"
        starts.append(len(text))
        text += page
    if not text.strip():
        raise SourceError(uri, "PDF has no extractable text (scanned images need OCR)")
    title = title_line(str(info.get("/Title") or "")) or title_line(Path(uri).stem)
    meta = {"page_starts": starts, "pages": len(pages), "source": uri}
    if info.get("/Author"):
        meta["author"] = str(info["/Author"])
    created = str(info.get("/CreationDate") or "")  # "D:20240305120000+01'00'"
    pdf_date = (iso_date(f"{created[2:6]}-{created[6:8]}-{created[8:10]}")
                if created.startswith("D:") else None)
    published, where = dated(pdf_date, "PDF metadata", text)
    return Document.make(uri, title, text, published=published, meta={**meta, **where})


def parse_docx(data: bytes, uri: str) -> Document:
    """A Word document: its text in reading order, title, author and date."""
    got = read_docx(data, uri)
    text = clean_text(got.text)
    title = title_line(got.title) or title_line(guess_title(text, uri))
    published, where = dated(iso_date(got.created), "Word properties", text)
    meta = {"source": uri, **({"author": got.author} if got.author else {}), **where}
    return Document.make(uri, title, text, published=published, meta=meta)


def dated(given: str | None, source: str, text: str) -> tuple[str | None, dict[str, str]]:
    """The publication date and where it came from: the format's own field, else a
    dateline at the top of the text; recorded as ``meta["published_from"]``."""
    if given:
        return given, {"published_from": source}
    found = dateline_date(text)
    return found, ({"published_from": "dateline"} if found else {})


def title_line(raw: str) -> str:
    """A title as stored: cleaned like text (no control characters), on one line."""
    return " ".join(clean_text(raw).split())[:300]
