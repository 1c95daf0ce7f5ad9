"""The indexes behind retrieval: the lexical (FTS5) index kept in the document store's
transactions, date filters pushed into both indexes, hits that read only their spans, and
stores made by an older version migrated on open. Over embedded Chroma and a server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.types import Chunk, Document, Filters
from tests.conftest import FakeEmbedder, consistent

DAYS = [None, "2026-01-05", "2026-02-10", "2026-03-15", "2026-04-20", "2026-05-25"]


@pytest.fixture(params=["embedded", "server"])
def assistant(request: pytest.FixtureRequest, home: Path,
              monkeypatch: pytest.MonkeyPatch) -> Assistant:
    if request.param == "server":
        monkeypatch.setenv("ASSISTANT_CHROMA_URL", request.getfixturevalue("chroma_server"))
        monkeypatch.setenv("ASSISTANT_COLLECTION", f"i{abs(hash(str(home))) % 10**8}")
    a = Assistant(home=home, embedder=FakeEmbedder())
    yield a
    a.close()


def put(a: Assistant, uri: str, text: str, published: str | None) -> Document:
    doc = Document.make(uri, f"Report {uri}", text, published=published)
    chunks = [Chunk.of(doc, 0, len(doc.text))]
    a.store.put(doc, chunks, a.embedder.embed([doc.text]), doc.id)
    return doc


def lexical_uris(a: Assistant, query: str, filters: Filters | None = None) -> set[str]:
    rows = a.store.chunk_rows([c for c, _ in a.store.lexical_search(query, 50, filters)])
    return {a.store.uri_of(d) or "" for d, *_ in rows.values()}


def test_lexical_index_follows_every_write(assistant: Assistant) -> None:
    a = assistant
    put(a, "u1", "The cheddar recall covers raw milk cheese.", "2026-05-01")
    assert lexical_uris(a, "cheddar recalls") == {"u1"}  # stemmed: recalls ~ recall
    put(a, "u1", "The lettuce recall covers romaine.", "2026-05-02")  # replaced
    assert lexical_uris(a, "cheddar") == set() and lexical_uris(a, "romaine") == {"u1"}
    put(a, "u2", "Romaine growers said sales fell.", None)
    assert lexical_uris(a, "romaine") == {"u1", "u2"}
    a.remove("u1")
    assert lexical_uris(a, "romaine") == {"u2"} and lexical_uris(a, "lettuce") == set()
    consistent(a)
    assert a.check().lexical is None


def test_a_lexical_index_that_disagrees_is_found_and_rebuilt(assistant: Assistant) -> None:
    a = assistant
    for i in range(3):
        put(a, f"u{i}", f"Agency number {i} is running out of cash this week.", None)
    with sqlite3.connect(a.store.path) as db:  # lose one row behind the store's back
        db.execute("INSERT INTO chunk_fts(chunk_fts) VALUES('delete-all')")
    found = a.check()
    assert found.lexical == "0 entries without a chunk row, 3 chunk rows missing"
    assert not found.ok and "lexical index" in found.summary()
    assert a.check(repair=True).ok
    assert lexical_uris(a, "agency cash") == {"u0", "u1", "u2"}


@pytest.mark.parametrize("filters, expected", [
    (Filters(as_of="2026-03-15"), {None, "2026-01-05", "2026-02-10", "2026-03-15"}),
    (Filters(published_after="2026-02-10"), {"2026-02-10", "2026-03-15", "2026-04-20",
                                              "2026-05-25"}),
    (Filters(published_before="2026-02-10"), {"2026-01-05", "2026-02-10"}),
    (Filters(published_after="2026-02-01", as_of="2026-04-30"),
     {"2026-02-10", "2026-03-15", "2026-04-20"}),
    (Filters(uri="news/b", as_of="2026-12-31"), {"2026-01-05", "2026-03-15", "2026-05-25"}),
    (Filters(uri="news/zzz"), set()),
])
@pytest.mark.parametrize("by", ["chroma", "dense-search"])
def test_filters_are_applied_inside_both_indexes(assistant: Assistant, filters: Filters,
                                                expected: set[str | None], by: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The same documents pass a filter in dense and in lexical search, whether Chroma
    applies it (few pass) or dense search drops the rest itself (most pass)."""
    from assistant import store

    monkeypatch.setattr(store, "POST_FILTER_SHARE", 0.0 if by == "dense-search" else 1.01)
    a = assistant
    for i, day in enumerate(DAYS):
        put(a, f"news/{'ab'[i % 2]}{i}", f"Flood warning number {i} for the river.", day)
    day_of = {f"news/{'ab'[i % 2]}{i}": day for i, day in enumerate(DAYS)}
    dense = a.store.vector_search("flood warning river", 20, filters)
    assert {day_of[h.uri] for h in dense} == expected
    assert {day_of[u] for u in lexical_uris(a, "flood warning", filters)} == expected
    hits = a.search("flood warning river", k=6, **{k: v for k, v in vars(filters).items()
                                                     if v and k != "uri"},
                    **({"uri": filters.uri} if filters.uri else {}))
    assert {h.published for h in hits} <= expected


def test_hits_read_their_spans_not_whole_texts(assistant: Assistant,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    a = assistant
    doc = put(a, "u1", "A long article. " * 200 + "The tariff rose to 25%.", "2026-05-01")
    from assistant.docstore import DocStore

    def no_whole_texts(*_: object) -> None:
        raise AssertionError("a search loaded a whole document")

    monkeypatch.setattr(DocStore, "get", no_whole_texts)
    hit = a.search("tariff rose", k=1)[0]
    assert doc.text[hit.chunk.start:hit.chunk.end] == hit.chunk.text


def test_a_store_from_an_older_version_is_migrated_on_open(home: Path) -> None:
    """Stores made before the lexical index moved into SQLite, and before vectors carried
    their day: on open the index is built and the vectors get their day, once."""
    with Assistant(home=home, embedder=FakeEmbedder()) as a:
        for i, day in enumerate(DAYS):
            put(a, f"u{i}", f"Election result number {i} was announced.", day)
        ids = sorted(a.store.vector_ids())
        a.store._vectors.col.update(ids=ids, metadatas=[{"day": None}] * len(ids))
        assert "day" not in (a.store._vectors.col.get(ids=ids[:1])["metadatas"][0] or {})
        path = a.store.path
    with sqlite3.connect(path) as db:  # as the older version left it
        db.execute("INSERT INTO chunk_fts(chunk_fts) VALUES('delete-all')")
        db.execute("DELETE FROM info WHERE key IN ('lexical', 'vector_meta')")
    with Assistant(home=home, embedder=FakeEmbedder()) as a:
        assert a.check().ok
        assert len(lexical_uris(a, "election")) == len(DAYS)
        dense = a.store.vector_search("election result", 10, Filters(as_of="2026-02-10"))
        assert len(dense) == 3  # undated, 2026-01-05, 2026-02-10


def test_common_words_are_left_out_of_lexical_queries(home: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Rarest first; a word in more than COMMON_SHARE of the chunks, or past the postings
    budget, is not looked up, but the rarest word always is."""
    from assistant import lexical

    with Assistant(home=home, embedder=FakeEmbedder()) as a:
        for i in range(20):  # "river" in every chunk, "flood" in 2, "levee" in 1
            words = ["river"] + (["flood"] if i % 10 == 0 else []) + (
                ["levee"] if i == 0 else [])
            put(a, f"u{i}", " ".join(words) + f" report {i}.", None)
        db = sqlite3.connect(a.store.path)
        assert lexical.telling(db, ["river", "flood", "levee", "absent"], 20) == [
            "levee", "flood"]  # river: 20 of 20 chunks > 10%
        monkeypatch.setattr(lexical, "POSTINGS_BUDGET", 2)
        assert lexical.telling(db, ["river", "flood", "levee"], 20) == ["levee"]
        assert lexical.telling(db, ["river"], 20) == ["river"]
        assert lexical.telling(db, ["absent"], 20) == []


def test_closing_an_assistant_releases_its_files(home: Path) -> None:
    """A long-lived process (a notebook, a server's tests) that opens and closes many
    stores keeps no file of them open: Chroma's files and SQLite's are let go."""
    import os

    def open_files() -> set[str]:
        found = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                found.add(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                pass
        return {f for f in found if f.startswith(str(home))}

    for n in range(2):
        with Assistant(home=home, embedder=FakeEmbedder()) as a:
            put(a, f"note:{n}", f"Alibaba plans to spend {380 + n} billion yuan on AI.", None)
            assert a.search("Alibaba", 1)  # the vector index is open now
            assert any("chroma" in f for f in open_files())
        assert open_files() == set()
