"""News feeds: an RSS or Atom feed served from 127.0.0.1 is ingested as its items'
articles (relative links, a redirect, a dead link, a duplicate item, an item without a
link, a non-UTF-8 feed); a second run adds only what changed; --sync drops what left."""

from __future__ import annotations

from pathlib import Path

from assistant import Assistant
from assistant.ingest.feeds import is_feed
from tests.conftest import FakeEmbedder

PAGE = """<html><head><title>{title} - Coast News</title></head><body><article>
<h1>{title}</h1><p>{body}</p><p>The figures were published by the harbour office on
Monday and will be revised at the end of the quarter, officials said.</p></article>
</body></html>"""


def rss(items: list[str]) -> bytes:
    return ("<?xml version='1.0' encoding='iso-8859-1'?>\n<rss version='2.0'><channel>"
            "<title>Coast News</title><link>http://example.invalid/</link>"
            + "".join(items) + "</channel></rss>").encode("iso-8859-1")


def item(title: str, link: str | None, date: str = "Mon, 02 Nov 2026 08:00:00 GMT",
         description: str = "") -> str:
    tag = f"<link>{link}</link>" if link else ""
    return (f"<item><title>{title}</title>{tag}<pubDate>{date}</pubDate>"
            f"<description>{description}</description></item>")


def serve_pages(root: Path) -> None:
    pages = {"ostend.html": ("Ostend ferry", "The ferry from Ostend carried 612 bicycles in "
                             "April, a record for the spring season."),
             "calais.html": ("Calais port", "The port of Calais handled 9,300 lorries in "
                             "June, up from 8,100 a year earlier."),
             "dover/index.html": ("Dover café", "A café at Dover harbour served 2,400 "
                                  "breakfasts to drivers stuck in the queue.")}
    for name, (title, body) in pages.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(PAGE.format(title=title, body=body), encoding="utf-8")


def test_rss_feed_items_become_articles(http_dir: tuple[str, Path], tmp_path: Path) -> None:
    base, root = http_dir
    serve_pages(root)
    feed = root / "feed.xml"
    feed.write_bytes(rss([
        item("Ostend ferry sets a record", "ostend.html"),            # relative link
        item("Calais lorries", f"{base}/calais.html", "Tue, 03 Nov 2026 09:00:00 GMT"),
        item("Caf\u00e9 at Dover", f"{base}/dover"),                    # 301 to dover/
        item("Gone", f"{base}/gone.html"),                              # 404
        item("Ostend ferry (again)", f"{base}/ostend.html"),           # duplicate
        item("Harbour notice", None, description="The harbour at Zeebrugge closes at "
             "noon on Friday for the regatta.")]))
    events: list[str] = []
    with Assistant(home=tmp_path / "home", embedder=FakeEmbedder(), allow_private_urls=True,
                   feed_delay=0) as a:
        report = a.ingest([f"{base}/feed.xml"], progress=False, on_event=events.append)
        assert sorted(report.added) == sorted([
            f"{base}/ostend.html", f"{base}/calais.html", f"{base}/dover/",
            f"{base}/feed.xml#item 6"])
        assert report.failed == [(f"{base}/gone.html", "HTTP 404 Not Found")]
        assert events.count(f"failed: {base}/gone.html: HTTP 404 Not Found") == 1
        docs = {d.uri: a.document(d.id) for d in a.sources()}
        ostend = docs[f"{base}/ostend.html"]
        assert ostend.title == "Ostend ferry sets a record" and "612 bicycles" in ostend.text
        assert ostend.published == "2026-11-02" and ostend.meta["published_from"] == "feed item"
        assert docs[f"{base}/calais.html"].published == "2026-11-03"
        assert docs[f"{base}/dover/"].title == "Caf\u00e9 at Dover"  # decoded from latin-1
        notice = docs[f"{base}/feed.xml#item 6"]
        assert notice.text.startswith("The harbour at Zeebrugge closes at noon")
        assert a.ask("How many bicycles did the ferry from Ostend carry in April?"
                     ).citations[0].doc_id == ostend.id

        again = a.ingest([f"{base}/feed.xml"], progress=False)
        assert not again.added and not again.updated and len(again.unchanged) == 4

        # The feed moves on: Calais leaves it, an Atom feed of the same site is added.
        feed.write_bytes(rss([item("Ostend ferry sets a record", "ostend.html")]))
        kept = a.ingest([f"{base}/feed.xml"], progress=False)
        assert not kept.removed  # without --sync nothing is removed
        synced = a.ingest([f"{base}/feed.xml"], progress=False, sync=True)
        assert sorted(synced.removed) == sorted([f"{base}/calais.html", f"{base}/dover/",
                                                 f"{base}/feed.xml#item 6"])
        assert [d.uri for d in a.sources()] == [f"{base}/ostend.html"]


def test_atom_feed_with_relative_links_and_a_cap(http_dir: tuple[str, Path],
                                                 tmp_path: Path) -> None:
    base, root = http_dir
    serve_pages(root)
    (root / "news").mkdir()
    entries = "".join(
        f"<entry><title>{t}</title><link href='../{p}'/><id>urn:{p}</id>"
        f"<updated>2026-10-0{n}T10:00:00Z</updated></entry>"
        for n, (t, p) in enumerate([("Ostend", "ostend.html"), ("Calais", "calais.html"),
                                    ("Dover", "dover/")], start=1))
    (root / "news" / "atom").write_text(
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
        f"<title>Coast</title><id>urn:coast</id><updated>2026-10-03T10:00:00Z</updated>"
        f"{entries}</feed>", encoding="utf-8")
    with Assistant(home=tmp_path / "home", embedder=FakeEmbedder(), allow_private_urls=True,
                   feed_delay=0, feed_max_items=2) as a:
        report = a.ingest([f"{base}/news/atom"], progress=False)
        assert sorted(report.added) == [f"{base}/calais.html", f"{base}/ostend.html"]
        assert {a.document(d.id).published for d in a.sources()} == {"2026-10-01",
                                                                    "2026-10-02"}


def test_a_feed_file_and_what_is_not_a_feed(tmp_path: Path) -> None:
    f = tmp_path / "saved.rss"
    f.write_bytes(rss([item("Notice", None, description="<p>The lock at Ghent is "
                                                        "<b>closed</b> on Sunday.</p>")]))
    with Assistant(home=tmp_path / "home", embedder=FakeEmbedder(), feed_delay=0) as a:
        report = a.ingest([f], progress=False)
        assert report.added == [f"{f}#item 1"]
        assert a.document(a.sources()[0].id).text == "The lock at Ghent is closed on Sunday."
        (tmp_path / "list.xml").write_text("<?xml version='1.0'?><catalog/>")
        bad = a.ingest([tmp_path / "list.xml"], progress=False)
        assert bad.failed == [(str(tmp_path / "list.xml"),
                               "not an RSS or Atom feed (no <rss> or <feed> root)")]
    assert is_feed(b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- c --><rss version='2.0'>")
    assert not is_feed(b"<html><body>rss feed</body></html>", "text/html")
