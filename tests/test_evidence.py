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


def test_the_reader_reads_what_the_first_stage_picks(samples_home: Path, real_embedder
                                                     ) -> None:
    """The cascade's first stage (``Params.preselect``, fitted on the cheap features
    alone) picks the candidates the reader reads, whatever the final weights are: a
    first stage that ranks by passage rank alone makes the reader read the first
    passages' sentences, even when the final weights would rank by meaning."""
    with Assistant(home=samples_home, embedder=real_embedder) as a:
        ev: Evidence = a.answerer.evidence
        hits = a.search(CANONICAL)
        docs = {h.chunk.doc_id: a.document(h.chunk.doc_id).text for h in hits}
        ev.use_reader(None)
        cheap = ev.candidates(CANONICAL, hits, docs)  # no reader: every candidate
        assert len(cheap) > PRESELECT
        by_rank = sorted(cheap, key=lambda c: (-c.features["rank"], c.source, c.start))
        final = {"meaning": 5.0, READER: 1.0}
        reader = OverlapReader()
        ev.params = replace(ev.params, weights=final, bias=0.0,
                            preselect={"weights": {"rank": 50.0}, "bias": 0.0})
        ev.use_reader(reader)
        read = ev.candidates(CANONICAL, hits, docs)
        assert {(c.source, c.start) for c in read} == {
            (c.source, c.start) for c in by_rank[:PRESELECT]}
        assert len(reader.read[-1]) == PRESELECT
        ev.params = replace(ev.params, preselect=None)  # without it: the final weights'
        assert {(c.source, c.start) for c in ev.candidates(CANONICAL, hits, docs)} == {
            (c.source, c.start) for c in sorted(cheap, key=lambda c: -5.0 * c.features[
                "meaning"])[:PRESELECT]}
        ev.use_reader(None)


def test_shipped_params_fit_both_stages() -> None:
    """With the reader among the shipped weights, the first stage is shipped too, over
    the cheap features only (a reader feature there would be read before it exists)."""
    from assistant.evidence import Params

    params = Params.load()
    if READER in params.weights:
        assert params.preselect is not None
        assert set(params.preselect["weights"]) == set(FEATURES)
        assert params.cheap_p(dict.fromkeys(FEATURES, 0.0)) < 0.5
