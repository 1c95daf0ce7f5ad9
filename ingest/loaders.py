"""Sources -> Documents. A source is a file, a directory (walked recursively), or an
http(s) URL. Each yields ``Loaded`` items whose ``source_hash`` is computed from the raw
bytes, so an unchanged source is recognised before any parsing."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from assistant.errors import SourceError
from assistant.settings import Settings
from assistant.text import dateline_date, iso_date
from assistant.types import Document
from assistant.ingest.clean import clean_text, decode
from assistant.ingest.fetch import fetch
from assistant.ingest.office import DOCX_TYPE, read_docx

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.I)  # a URL of any scheme, not a path

SUFFIXES = {".txt": "text", ".md": "text", ".markdown": "text", ".html": "html",
            ".htm": "html", ".pdf": "pdf", ".docx": "docx", ".jsonl": "jsonl"}


@dataclass
class Loaded:
    """A source found and read, not yet parsed. ``parse()`` raises SourceError."""

    uri: str
    source_hash: str
    parse: Callable[[], Document]
    origin: str  # the file or URL it came from (a JSONL file for its rows)


def iter_sources(sources: list[str], settings: Settings,
                 on_error: Callable[[SourceError], None],
                 on_skip: Callable[[str, str], None] = lambda _path, _why: None
                 ) -> Iterator[Loaded]:
    """Expand files, directories and URLs into Loaded items; report failures, go on. A
    file of a directory that the include globs do not take is passed to ``on_skip`` with
    the reason (hidden and excluded files are not: they were asked to be left out)."""
    for src in sources:
        try:
            if re.match(r"https?://", src, re.I):
                yield fetch_url(src, settings)
                continue
            if _SCHEME.match(src):
                raise SourceError(src, "only http(s) URLs are fetched")
            path = Path(src).expanduser()
            if path.is_dir():
                left: list[Path] = []
                taken = walk(path, settings.include, settings.exclude, left)
                for f in left:
                    on_skip(str(f), skip_reason(f))
                for f in taken:
                    try:
                        yield from load_file(f, settings)
                    except SourceError as e:
                        on_error(e)
            elif path.is_file():
                yield from load_file(path, settings)
            elif path.is_symlink():
                raise SourceError(src, "a broken or looping symbolic link")
            else:
                raise SourceError(src, "no such file or directory")
        except SourceError as e:
            on_error(e)


def count_items(sources: list[str], settings: Settings) -> int:
    """How many items ``iter_sources`` will yield, as a progress total: files and URLs
    count one each, a JSONL file its non-empty lines. Cheap: nothing is parsed."""
    total = 0
    for src in sources:
        path = Path(src).expanduser()
        files = ([] if _SCHEME.match(src) else
                 walk(path, settings.include, settings.exclude) if path.is_dir() else [path])
        total += 0 if files or path.is_dir() else 1
        for f in files:
            try:
                total += (sum(1 for line in f.open("rb") if line.strip())
                          if f.suffix.lower() == ".jsonl" else 1)
            except OSError:
                total += 1
    return total


def walk(root: Path, include: list[str], exclude: list[str],
         left: list[Path] | None = None) -> list[Path]:
    """Files under ``root`` matching an include glob and no exclude glob, sorted; the
    files matching neither are appended to ``left``."""
    out = []
    for f in sorted(root.rglob("*")):
        rel = f.relative_to(root).as_posix()
        if any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(f.name, g) for g in exclude):
            continue
        if any(fnmatch.fnmatch(part, g) for part in rel.split("/")[:-1] for g in exclude):
            continue
        wanted = any(fnmatch.fnmatch(f.name, g) for g in include)
        # a broken or looping link is listed so that loading it reports it
        if wanted and (f.is_file() or (f.is_symlink() and not f.exists())):
            out.append(f)
        elif left is not None and not wanted and f.is_file():
            left.append(f)
    return out


def skip_reason(path: Path) -> str:
    """Why a directory walk did not take ``path``."""
    if path.suffix.lower() not in SUFFIXES:
        return (f"unsupported file type {path.suffix or '(none)'!r} (supported: "
                f"{', '.join(sorted(SUFFIXES))})")
    return "not matched by the include globs (--include)"


def load_file(path: Path, settings: Settings) -> Iterator[Loaded]:
    """The Loaded items of one file; any problem is a SourceError naming the file."""
    try:
        path = path.resolve(strict=True)
    except (OSError, RuntimeError) as e:  # RuntimeError: a symlink loop (Python < 3.13)
        raise SourceError(str(path), f"cannot open ({_os_reason(e)})") from None
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise SourceError(str(path), f"unsupported file type {path.suffix!r} "
                          f"(supported: {', '.join(sorted(SUFFIXES))})")
    try:
        size = path.stat().st_size
    except OSError as e:
        raise SourceError(str(path), f"cannot read ({_os_reason(e)})") from None
    limit = settings.max_source_mb * 1e6
    if size > limit:
        raise SourceError(str(path), f"file is {size / 1e6:.1f} MB, over the "
                          f"{settings.max_source_mb:g} MB limit (ASSISTANT_MAX_SOURCE_MB)")
    if size == 0:
        raise SourceError(str(path), "empty file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SourceError(str(path), f"cannot read ({_os_reason(e)})") from None
    uri = str(path)
    if kind == "jsonl":
        yield from jsonl_rows(data, uri)
    else:
        yield Loaded(uri, _hash(data), lambda: parse_bytes(data, kind, uri), uri)


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
    title = _title(meta.pop("title", "")) or _title(guess_title(text, uri))
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
    title = _title(info.get("title") or "") or (text.split("\n", 1)[0][:200])
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
    title = _title(str(info.get("/Title") or "")) or _title(Path(uri).stem)
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
    title = _title(got.title) or _title(guess_title(text, uri))
    published, where = dated(iso_date(got.created), "Word properties", text)
    meta = {"source": uri, **({"author": got.author} if got.author else {}), **where}
    return Document.make(uri, title, text, published=published, meta=meta)


def jsonl_rows(data: bytes, path: str) -> Iterator[Loaded]:
    """One article per line: ``text`` required; ``title``, ``url``, ``published``,
    ``author`` optional. A bad line is reported with its number; the rest go on."""
    text, note = decode(data, path)
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            yield _failed(where, f"invalid JSON ({e.msg} at column {e.colno})")
            continue
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            yield _failed(where, "each line needs a JSON object with a string 'text'")
            continue
        url = row.get("url")
        is_url = isinstance(url, str) and url.lower().startswith(("http://", "https://"))
        uri = canonical_url(url) if is_url else f"{path}#L{n}"
        if note:
            row["decoding"] = note
        yield Loaded(uri, _hash(line.encode("utf-8", "surrogatepass")),
                     _row_parser(row, uri, where, path), path)


def _row_parser(row: dict, uri: str, where: str, path: str) -> Callable[[], Document]:
    def parse() -> Document:
        text = clean_text(row["text"])
        if not text:
            raise SourceError(where, "empty 'text'")
        meta = {k: str(row[k]) for k in ("author", "url", "decoding") if row.get(k)}
        if isinstance(row.get("authors"), list) and row["authors"]:
            meta["author"] = ", ".join(map(str, row["authors"]))
        title = _title(str(row.get("title") or "")) or _title(guess_title(text, uri))
        published, source = dated(iso_date(str(row.get("published") or
                                               row.get("publish_date") or "")), "JSONL", text)
        return Document.make(uri, title, text, published=published,
                             meta={**meta, "source": path, **source})
    return parse


def _failed(where: str, reason: str) -> Loaded:
    def parse() -> Document:
        raise SourceError(where, reason)
    return Loaded(where, "", parse, where)


# --- URLs ---------------------------------------------------------------------------------
def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no fragment, no default port, no tracking params."""
    p = urlsplit(url.strip())
    host = (p.hostname or "").lower()
    if p.port and not (p.scheme == "http" and p.port == 80 or
                       p.scheme == "https" and p.port == 443):
        host += f":{p.port}"
    query = urlencode([(k, v) for k, v in parse_qsl(p.query, keep_blank_values=True)
                       if not k.lower().startswith(("utm_", "fbclid", "gclid"))])
    return urlunsplit((p.scheme.lower(), host, p.path or "/", query, ""))


def fetch_url(url: str, settings: Settings) -> Loaded:
    got = fetch(url, timeout=settings.url_timeout, limit=int(settings.max_source_mb * 1e6),
                allow_private=settings.allow_private_urls)
    if not got.data:
        raise SourceError(url, "empty response")
    uri = canonical_url(got.url)
    data, ctype = got.data, got.content_type
    kind = ("pdf" if ctype == "application/pdf" or data[:5] == b"%PDF-" else
            "docx" if ctype == DOCX_TYPE else
            "html" if "html" in ctype or data.lstrip()[:1] == b"<" else "text")
    return Loaded(uri, _hash(data), lambda: parse_bytes(data, kind, uri, uri), uri)


# --- helpers ------------------------------------------------------------------------------
def dated(given: str | None, source: str, text: str) -> tuple[str | None, dict[str, str]]:
    """The publication date and where it came from: the format's own field, else a
    dateline at the top of the text; recorded as ``meta["published_from"]``."""
    if given:
        return given, {"published_from": source}
    found = dateline_date(text)
    return found, ({"published_from": "dateline"} if found else {})


def _title(raw: str) -> str:
    """A title as stored: cleaned like text (no control characters), on one line."""
    return " ".join(clean_text(raw).split())[:300]


def _os_reason(e: BaseException) -> str:
    if isinstance(e, RuntimeError):
        return "symbolic link loop"
    return getattr(e, "strerror", None) or type(e).__name__


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]
