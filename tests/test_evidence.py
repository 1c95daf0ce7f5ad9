"""The answer-or-refuse decision's contract, over every reader: none (the cheap features
alone), a fake one, and the shipped one once it is in the package."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.evidence import FEATURES, PRESELECT, READER, Evidence
from assistant.reader import MODEL_DIR, OnnxReader
from tests.conftest import CANONICAL, OverlapReader

READERS = ["none", "overlap"] + (["shipped"] if (MODEL_DIR / "model.onnx").exists() else [])


def reader_of(kind: str):
    return {"none": lambda: None, "overlap": OverlapReader, "shipped": OnnxReader}[kind]()


@pytest.mark.parametrize("kind", READERS)
def test_the_decision_over_every_reader(kind: str, samples_home: Path, real_embedder) -> None:
    with Assistant(home=samples_home, embedder=real_embedder) as a:
        ev: Evidence = a.answerer.evidence
        reader = reader_of(kind)
        if reader is not None and READER not in ev.params.weights:
            ev.params = replace(ev.params, weights={**ev.params.weights, READER: 0.0})
        ev.use_reader(reader)
        assert ev.features == FEATURES + ((READER,) if reader else ())
        hits = a.search(CANONICAL)
        docs = {h.chunk.doc_id: a.document(h.chunk.doc_id).text for h in hits}
        decision = ev.decide(CANONICAL, hits, docs)
        assert decision.refusal is None and decision.candidates
        assert any("380 billion yuan" in c.text for c in decision.candidates[:3])
        ps = [c.p for c in decision.candidates]
        assert ps == sorted(ps, reverse=True) and all(0 <= p <= 1 for p in ps)
        for c in decision.candidates:
            assert set(c.features) == set(ev.features)
            assert docs[hits[c.source - 1].chunk.doc_id][c.start:c.end] == c.text
        if reader is not None:
            assert len(decision.candidates) <= PRESELECT
        if isinstance(reader, OverlapReader):  # it read each candidate in its context
            read = reader.read[-1]
            assert all(text.count(" | ") in (1, 2) for text in read)
            assert all(any(text.startswith(h.title + " | ") for h in hits) for text in read)
        refused = ev.decide("Who leads Tencent?", hits, docs)
        assert refused.refusal == "name_missing" and "Tencent" in refused.detail
        a.answerer.evidence.use_reader(None)
