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

from assistant.errors import SourceError
from assistant.settings import Settings
from assistant.text import iso_date
from assistant.types import Document
from assistant.ingest.clean import clean_text, decode
from assistant.ingest import feeds
from assistant.ingest.feeds import is_feed
from assistant.ingest.fetch import Fetched, canonical_url, fetch
from assistant.ingest.formats import dated, guess_title, parse_bytes, title_line
from assistant.ingest.office import DOCX_TYPE

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.I)  # a URL of any scheme, not a path

SUFFIXES = {".txt": "text", ".md": "text", ".markdown": "text", ".html": "html",
            ".htm": "html", ".pdf": "pdf", ".docx": "docx", ".jsonl": "jsonl",
            ".xml": "feed", ".rss": "feed", ".atom": "feed"}


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
                yield from load_url(src, settings)
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
    elif kind == "feed" or kind in ("text", "html") and is_feed(data):
        if not is_feed(data):
            raise SourceError(uri, "not an RSS or Atom feed (no <rss> or <feed> root)")
        yield from load_feed(data, uri, settings)
    else:
        yield Loaded(uri, _hash(data), lambda: parse_bytes(data, kind, uri), uri)


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
        title = title_line(str(row.get("title") or "")) or title_line(guess_title(text, uri))
        published, source = dated(iso_date(str(row.get("published") or
                                               row.get("publish_date") or "")), "JSONL", text)
        return Document.make(uri, title, text, published=published,
                             meta={**meta, "source": path, **source})
    return parse


def _failed(where: str, reason: str) -> Loaded:
    def parse() -> Document:
        raise SourceError(where, reason)
    return Loaded(where, "", parse, where)


# --- URLs and feeds --------------------------------------------------------------------
def load_url(url: str, settings: Settings) -> Iterator[Loaded]:
    """A fetched page, or, when the URL is a feed, its items' articles."""
    got = _get(url, settings)
    if is_feed(got.data, got.content_type):
        yield from load_feed(got.data, canonical_url(url), settings, base=got.url)
    else:
        yield _page(got, canonical_url(got.url))


def load_feed(data: bytes, origin: str, settings: Settings,
              base: str | None = None) -> Iterator[Loaded]:
    """A feed's items (at most ``feed_max_items``): each link fetched politely, its page
    titled and dated by the item; a failed item is one failed Loaded naming it."""
    wait = feeds.polite(settings.feed_delay)
    for item in feeds.items(data, base or origin, settings.feed_max_items):
        if item.link is None:
            uri, body = f"{origin}#{item.key}", item.content.encode()
            yield Loaded(uri, _hash(body + item.title.encode()), lambda item=item, uri=uri:
                         feeds.content_document(item, uri, origin), origin)
            continue
        wait()
        try:
            got = _get(item.link, settings)
        except SourceError as e:
            yield _failed(e.source, e.reason)
            continue
        page = _page(got, canonical_url(got.url), origin)
        yield Loaded(page.uri, page.source_hash, lambda page=page, item=item:
                     feeds.with_item(page.parse(), item, origin), origin)


def _get(url: str, settings: Settings) -> Fetched:
    got = fetch(url, timeout=settings.url_timeout, limit=int(settings.max_source_mb * 1e6),
                allow_private=settings.allow_private_urls)
    if not got.data:
        raise SourceError(url, "empty response")
    return got


def _page(got: Fetched, uri: str, origin: str | None = None) -> Loaded:
    data, ctype = got.data, got.content_type
    kind = ("pdf" if ctype == "application/pdf" or data[:5] == b"%PDF-" else
            "docx" if ctype == DOCX_TYPE else
            "html" if "html" in ctype or data.lstrip()[:1] == b"<" else "text")
    return Loaded(uri, _hash(data), lambda: parse_bytes(data, kind, uri, uri), origin or uri)


# --- helpers ------------------------------------------------------------------------------
def _os_reason(e: BaseException) -> str:
    if isinstance(e, RuntimeError):
        return "symbolic link loop"
    return getattr(e, "strerror", None) or type(e).__name__


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]
