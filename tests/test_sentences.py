"""Sentence vectors are computed once, at ingest, and read at question time
(``assistant/sentences.py``): stored with their chunk rows in the same commit, filled by
``check --repair`` for a home made before they were, and pooled from the chunk's own
encoding."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pytest

from assistant import Assistant
from assistant.documents import pack_sentences, unpack_sentences
from assistant.embedder import OnnxEmbedder
from assistant.sentences import encode
from assistant.text import sentence_spans
from tests.conftest import consistent

QUESTION = "How much has Alibaba committed to AI?"


class Counting:
    """The real int8 encoder, recording which texts it was asked to encode."""

    def __init__(self) -> None:
        self.inner = OnnxEmbedder()
        self.name, self.dim = self.inner.name, self.inner.dim
        self.embedded: list[str] = []
        self.pooled: list[str] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded += texts
        return self.inner.embed(texts)

    def embed_spans(self, texts: Sequence[str], spans: Any, lead: Any = None) -> Any:
        self.pooled += texts
        return self.inner.embed_spans(texts, spans, lead)


def stored(a: Assistant) -> dict[str, dict[int, tuple[int, Any]]]:
    """chunk id -> its stored sentences, read through the store's door by the chunk's span
    (a span overlapping its neighbours reads theirs too: keep the chunk's own)."""
    rows = list(a.store.iter_chunks())
    found = a.store.sentence_vectors([(d, s, e) for _, d, s, e in rows])
    out = {}
    for (cid, _, s, e), blobs in zip(rows, found):
        for blob in blobs:
            got = unpack_sentences(blob)
            if got and min(got) >= s and max(end for end, _ in got.values()) <= e:
                out[cid] = got
    return out


def test_pack_and_unpack_keep_spans_and_vectors() -> None:
    vecs = [[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]]
    got = unpack_sentences(pack_sentences([(10, 20), (21, 40)], vecs))
    assert list(got) == [10, 21] and got[21][0] == 40
    assert np.allclose(got[10][1], vecs[0], atol=1e-3)
    assert unpack_sentences(pack_sentences([], [])) == {}


def test_ingest_stores_each_sentence_of_each_chunk(home: Path, samples_copy: Path) -> None:
    with Assistant(home=home) as a:
        a.ingest([samples_copy], progress=False)
        consistent(a)  # its check counts chunk rows without sentence vectors
        by_chunk = stored(a)
        assert set(by_chunk) == {cid for cid, *_ in a.store.iter_chunks()}
        for cid, doc_id, start, end in a.store.iter_chunks():
            doc = a.document(doc_id)
            assert sorted(by_chunk[cid]) == [s for s, _ in sentence_spans(doc.text, start, end)]
            for s, (e, v) in by_chunk[cid].items():
                assert start <= s < e <= end and abs(float(np.linalg.norm(v)) - 1) < 0.01
            # What is stored is what the chunk's encoding gives now (int8 dynamic
            # quantisation scales per batch, so a chunk encoded alone differs slightly,
            # down to 0.989 here): each stored vector is nearest its own sentence's.
            chunk = next(c for c in a.store.chunks_of(doc_id) if c.id == cid)
            blob = encode(a.embedder, [(doc.title, chunk)])[1][0]
            assert blob is not None
            now = unpack_sentences(blob)
            for s, (e, v) in now.items():
                near = {t: float(np.dot(v, by_chunk[cid][t][1])) for t in now}
                assert near[s] > 0.98 and max(near, key=near.__getitem__) == s, near


def test_a_question_embeds_only_itself(home: Path, samples_copy: Path) -> None:
    """With the vectors stored, a question costs one text to encode, not its candidates."""
    embedder = Counting()
    with Assistant(home=home, embedder=embedder) as a:
        a.ingest([samples_copy], progress=False)
        embedder.embedded.clear(), embedder.pooled.clear()
        answer = a.ask(QUESTION)
        assert "380 billion yuan" in answer.text
        assert embedder.embedded == [QUESTION, QUESTION] or embedder.embedded == [QUESTION]
        assert embedder.pooled == []


def test_a_home_made_before_sentence_vectors_gets_them_from_repair(
        home: Path, samples_copy: Path) -> None:
    with Assistant(home=home) as a:
        a.ingest([samples_copy], progress=False)
        before = a.ask(QUESTION)
    files = list(home.rglob("*.sqlite"))
    assert len(files) == 1, files
    with sqlite3.connect(files[0]) as db:  # the layout of an older release
        db.execute("ALTER TABLE chunks DROP COLUMN sentences")
    with Assistant(home=home) as a:
        found = a.check()
        assert not found.ok and len(found.rows_without_sentences) == found.chunks > 0
        assert "rows without sentence vectors" in found.summary()
        # Until repaired, a question pools its candidates from their chunks' encoding.
        again = a.ask(QUESTION)
        assert again.text == before.text
        assert [c.quote for c in again.citations] == [c.quote for c in before.citations]
        fixed = a.check(repair=True)
        assert fixed.ok and fixed.repaired["sentence vectors"] == found.chunks
        assert set(stored(a)) == {cid for cid, *_ in a.store.iter_chunks()}


def test_a_span_past_the_window_has_no_vector() -> None:
    e = OnnxEmbedder()
    text = "Title\n" + "word " * 400 + "The end is here."
    tail = (len(text) - 16, len(text))
    _, pooled = e.embed_spans([text], [[(6, 30), tail]], [5])
    assert pooled[0][0] is not None and pooled[0][1] is None


@pytest.mark.parametrize("lead", [0, 5])
def test_the_title_is_pooled_into_each_sentence_when_asked(lead: int) -> None:
    e = OnnxEmbedder()
    text = "Title\nAlibaba will invest 380 billion yuan. Shares rose."
    _, pooled = e.embed_spans([text], [[(6, 46)]], [lead])
    _, plain = e.embed_spans([text], [[(6, 46)]], [0])
    same = float(np.dot(pooled[0][0], plain[0][0]))
    assert (same > 0.9999) if lead == 0 else (0.8 < same < 0.9999)
