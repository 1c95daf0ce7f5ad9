"""Chunks are exact spans of their document, sentence-aligned and within budget."""

from hypothesis import given, settings, strategies as st

from assistant.types import Chunk, Citation, Document
from assistant.text import count_tokens, sentence_spans
from assistant.ingest.chunking import chunk_document, chunk_spans
from assistant.ingest.clean import clean_text

WORDS = st.sampled_from(["Alibaba", "spent", "380", "billion", "yuan", "on", "AI", "Dr.",
                         "U.S.", "cloud", "grew", "26%", "é", "東京", "e.g.", "—", "a",
                         "\n", "\n\n", ".", "!", "?", "\"Quote.\"", "x" * 40, "  ", "\t"])
TEXTS = st.lists(WORDS, min_size=1, max_size=400).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.integers(16, 200), st.integers(0, 15))
def test_chunks_are_exact_spans_of_the_document(raw: str, budget: int, overlap: int) -> None:
    text = clean_text(raw) or "x"
    doc = Document.make("mem://t", "t", text)
    chunks = chunk_document(doc, budget, overlap)
    assert chunks, "a non-empty document has at least one chunk"
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        assert c.text == c.text.strip() and c.text
        assert c.doc_id == doc.id
    # Every sentence is inside some chunk: nothing is lost.
    for s, e in sentence_spans(text):
        assert any(c.start <= s and e <= c.end for c in chunks) or count_tokens(
            text[s:e]) > budget
    # Chunks move forward and stay within the budget unless a single word exceeds it.
    assert [c.start for c in chunks] == sorted({c.start for c in chunks})
    for c in chunks:
        assert count_tokens(c.text) <= budget or len(c.text.split()) == 1 or any(
            count_tokens(text[s:e]) > budget for s, e in sentence_spans(text, c.start, c.end))


def test_sentences_respect_abbreviations() -> None:
    text = ("Dr. Smith met U.S. officials on Jan. 5. They agreed! Then what? Done. "
            "She played Lt. Nyota Uhura.")
    got = [text[s:e] for s, e in sentence_spans(text)]
    assert got == ["Dr. Smith met U.S. officials on Jan. 5.", "They agreed!", "Then what?",
                   "Done.", "She played Lt. Nyota Uhura."]


def test_overlap_repeats_trailing_sentences() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    spans = chunk_spans(text, max_tokens=30, overlap=7)
    assert len(spans) > 3
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert s2 < e1, "consecutive chunks share a sentence"
        assert s2 > s1
    no_overlap = chunk_spans(text, max_tokens=30, overlap=0)
    assert all(b[0] > a[1] for a, b in zip(no_overlap, no_overlap[1:]))


def test_overlap_must_be_below_budget() -> None:
    import pytest

    with pytest.raises(ValueError, match="overlap"):
        chunk_spans("a. b.", max_tokens=10, overlap=10)


def test_ids_are_content_hashes_and_invariants_hold() -> None:
    a = Document.make("u1", "t", "Same text.")
    b = Document.make("u2", "other title", "Same text.")
    assert a.id == b.id and len(a.id) == 16
    assert Document.make("u1", "t", "Other text.").id != a.id
    c = Chunk.of(a, 0, 4)
    assert c.text == "Same" and a.text[c.start:c.end] == c.text
    cit = Citation(a.id, 5, 9, a.span(5, 9))
    assert a.text[cit.start:cit.end] == cit.quote == "text"
    import pytest

    with pytest.raises(ValueError, match="outside"):
        a.span(0, 999)


def test_pdf_page_lookup() -> None:
    d = Document.make("p.pdf", "p", "page one\n\npage two", meta={"page_starts": [0, 10]})
    assert d.page_at(0) == 1 and d.page_at(9) == 1 and d.page_at(10) == 2
    assert Document.make("x", "x", "y").page_at(0) is None
