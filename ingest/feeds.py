"""News feeds (RSS and Atom, detected by content, parsed with feedparser) as their items'
articles: each item's link is fetched like any URL and its page's main text is the
article; the item gives the title, and the date when the page has none. An item without a
link is its own content. A failed item is one line; the others still land."""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any, Callable
from urllib.parse import urljoin

from assistant.errors import SourceError
from assistant.types import Document
from assistant.ingest.clean import clean_text

FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml"}
# The root element of a feed, after an optional BOM, XML declaration, comments and doctype.
_ROOT = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|"
                   rb"<!DOCTYPE[^>]*>\s*|<\?xml-stylesheet[^>]*\?>\s*)*"
                   rb"<(?:rss|feed|rdf:RDF)\b", re.S | re.I)


def is_feed(data: bytes, content_type: str = "") -> bool:
    """Whether ``data`` is an RSS or Atom feed: by its root element (servers often send
    feeds as text/xml or text/html), or by a feed content type."""
    return bool(_ROOT.match(data[:4096])) or (content_type in FEED_TYPES and
                                              data.lstrip()[:1] == b"<")


@dataclasses.dataclass
class Item:
    """What a feed says about one article."""

    link: str | None   # absolute URL, or None for an item that carries its text
    key: str           # the item's guid, link or position: names it in messages
    title: str
    published: str | None  # YYYY-MM-DD
    content: str       # HTML or text of the item itself


def items(data: bytes, feed_url: str, cap: int) -> list[Item]:
    """The feed's items, first ``cap`` of them, each link once. Raises SourceError for a
    feed feedparser cannot read."""
    import feedparser

    parsed = feedparser.parse(data, response_headers={"content-location": feed_url})
    if not parsed.entries and parsed.get("bozo"):
        raise SourceError(feed_url, f"unreadable feed ({parsed.get('bozo_exception')})")
    out: list[Item] = []
    links: set[str] = set()
    for n, entry in enumerate(parsed.entries, start=1):
        link = entry.get("link")
        link = urljoin(feed_url, link) if link else None
        if link is not None and not re.match(r"https?://", link, re.I):
            link = None
        if link is not None and link in links:
            continue  # the same article listed twice
        if link:
            links.add(link)
        content = (entry.get("content") or [{}])[0].get("value") or entry.get("summary", "")
        out.append(Item(link, str(entry.get("id") or link or f"item {n}"),
                        entry.get("title", ""), _day(entry), content))
        if len(out) >= cap:
            break
    return out


def _day(entry: Any) -> str | None:
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    return time.strftime("%Y-%m-%d", when) if when else None


def with_item(doc: Document, item: Item, feed_url: str) -> Document:
    """The page's document, titled by the item, dated by it when the page gives no date."""
    title = " ".join(item.title.split())[:300] or doc.title
    meta = {**doc.meta, "source": feed_url, "feed": feed_url}  # synced with the feed
    published = doc.published
    if published is None and item.published:
        published, meta["published_from"] = item.published, "feed item"
    return dataclasses.replace(doc, title=title, published=published, meta=meta)


def polite(delay: float) -> Callable[[], None]:
    """A pause of ``delay`` seconds between fetches from one feed (none before the first)."""
    last = [0.0]

    def wait() -> None:
        pause = last[0] + delay - time.monotonic()
        if last[0] and pause > 0:
            time.sleep(pause)
        last[0] = time.monotonic()
    return wait


def content_document(item: Item, uri: str, feed_url: str) -> Document:
    """An item without a link: its own content (HTML or text) is the article."""
    import lxml.html

    raw = item.content
    if "<" in raw:
        try:
            raw = lxml.html.fromstring(raw).text_content()
        except Exception:  # lxml's parser errors are of many kinds
            raise SourceError(uri, "the feed item's content cannot be read") from None
    text = clean_text(raw)
    if not text.strip():
        raise SourceError(uri, "the feed item has neither a link nor any text")
    title = " ".join(item.title.split())[:300] or text.split("\n", 1)[0][:200]
    meta = {"source": feed_url, "feed": feed_url,
            **({"published_from": "feed item"} if item.published else {})}
    return Document.make(uri, title, text, published=item.published, meta=meta)
