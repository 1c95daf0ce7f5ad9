"""Metrics on hand-made cases (each would fail a metric that always says 1.0) and the
harness end to end on our own small dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.eval import metrics as M
from tests.conftest import ROOT, SAMPLES, shared_or_skip


def test_squad_normalisation_em_and_f1() -> None:
    assert M.normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert M.exact_match("the Ariane 5.", ["Ariane 5"]) == 1.0
    assert M.exact_match("Ariane 6", ["Ariane 5"]) == 0.0
    assert M.f1("Ariane 5 rocket", ["Ariane 5"]) == pytest.approx(0.8)
    assert M.f1("Soyuz", ["Ariane 5"]) == 0.0
    assert M.f1("", [""]) == 1.0


def test_contains_gold_respects_word_boundaries() -> None:
    assert M.contains_gold("It cost 380 billion yuan over three years.", ["380 billion yuan"])
    assert not M.contains_gold("It cost 1380 billion yuan.", ["380 billion yuan"])
    assert not M.contains_gold("Anything", [])
    # Typographic quotes are punctuation too (RealTime QA writes “Succession”).
    assert M.contains_gold('"Succession" led the nominations.', ["“Succession”"])
    assert not M.contains_gold("Severance led the nominations.", ["“Succession”"])


def test_truthfulness_crag() -> None:
    assert M.truthfulness([True, False, False], [False, False, True]) == pytest.approx(0.0)
    assert M.truthfulness([False, False], [False, False]) == -1.0
    assert M.truthfulness([True, True], [False, False]) == 1.0
    assert M.truthfulness([], []) == 0.0


def test_retrieval_metrics() -> None:
    ranked = ["a", "b", "g", "c"]
    assert M.hit_at(ranked, {"g"}, 1) == 0.0 and M.hit_at(ranked, {"g"}, 4) == 1.0
    assert M.mrr_at(ranked, {"g"}) == pytest.approx(1 / 3)
    assert M.mrr_at(ranked, {"z"}) == 0.0


def test_citation_metrics_and_rates() -> None:
    assert M.citation_precision(["g1", "x"], {"g1", "g2"}) == 0.5
    assert M.citation_recall(["g1", "x"], {"g1", "g2"}) == 0.5
    assert M.citation_precision([], {"g"}) is None
    assert M.rate([True, False, False, False]) == 0.25
    assert M.percentile([5, 1, 3, 2, 4], 50) == 3 and M.percentile([1, 2, 3, 4], 95) == 4
    assert M.mean([None, 1.0, 0.0]) == 0.5


def test_harness_on_our_dataset(tmp_path: Path) -> None:
    from assistant.eval.harness import EvalConfig, run
    from assistant.eval.metrics import NAMES, OPTIONAL

    out = tmp_path / "out"
    result = run(EvalConfig(dataset="jsonl", data=ROOT / "eval" / "samples_qa.jsonl", out=out,
                            corpus=SAMPLES, withhold_gold=0.25, seed=1))
    assert result["n"] == 20
    for side in ("ours", "baseline"):
        got = set(json.loads((out / "report.json").read_text())[side])
        assert got >= set(NAMES) - OPTIONAL, set(NAMES) - got
    ours, naive = result["ours"], result["baseline"]
    assert ours["citation_validity"] == 1.0 and naive["citation_validity"] == 1.0
    assert ours["refusal_rate_unanswerable"] >= 0.8 > naive["refusal_rate_unanswerable"]
    assert ours["false_refusal_rate"] <= 0.1
    assert ours["contains_gold"] > naive["contains_gold"]
    assert ours["truthfulness"] > naive["truthfulness"]
    rows = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert len(rows) == 20 and all("ours" in r and "naive" in r for r in rows)
    assert (out / "hit_at_k.png").stat().st_size > 1000 and (out / "latency.png").exists()
    assert "| contains_gold |" in (out / "report.md").read_text()


def test_realtimeqa_loader() -> None:
    from assistant.eval.datasets import load_realtimeqa

    ds = load_realtimeqa(shared_or_skip("eval/realtimeqa/2022"))
    assert 100 <= len(ds.questions) <= 140 and all(q.gold_uris for q in ds.questions)
    q = ds.questions[0]
    assert q.answers == [q.choices[q.answer_index]]
    ds26 = load_realtimeqa(shared_or_skip("eval/realtimeqa/2026"))
    assert len(ds26.corpus) > 1000
    assert any(q.gold_uris for q in ds26.questions)


def test_multiple_choice_by_evidence_and_llm() -> None:
    from assistant.eval.choices import by_evidence, by_llm
    from assistant.types import Chunk, Hit
    from tests.conftest import ScriptedLLM

    choices = ["Houston", "Minneapolis", "Miami"]
    assert by_evidence("The crackdown centred on Minneapolis.", [], choices) == 1
    passages = ["Agents arrived in Miami on Monday.", "Houston was quiet."]
    assert by_evidence("No city named here.", passages, choices) == 2
    # Curly quotes in a choice are punctuation, as straight ones in the text are.
    shows = ["“Garfield”", "“Dilbert”"]
    assert by_evidence('Adams created the strip "Dilbert".', [], shows) == 1
    hits = [Hit(Chunk("c1", "d1", 0, 34, "Agents arrived in Miami on Monday."), 1.0,
                uri="https://example.com/a", title="Raids", published="2026-01-12")]
    llm = ScriptedLLM("The answer is 1.")
    assert by_llm(llm, "Which city?", hits, choices, "2026-01-15", 4000) == 1
    prompt = llm.calls[0][0]["content"]
    assert "1) Minneapolis" in prompt and "Today is 2026-01-15." in prompt
    assert 'published="2026-01-12"' in prompt and "Agents arrived in Miami" in prompt
    assert by_llm(ScriptedLLM("7"), "Which city?", hits, choices, "2026-01-15", 4000) == -1


def test_fit_recovers_a_separable_decision() -> None:
    """The fitting script on synthetic questions: the sentence holding the answer has a
    higher meaning, unanswerable questions have none; the fit must rank it first and put
    ``answer_at`` between the two kinds of question, on held-out folds too."""
    import numpy as np

    from assistant.eval import fit as F

    rng = np.random.default_rng(0)
    width = len(F.FEATURES)
    examples = []
    for i in range(60):
        x = rng.uniform(0.0, 0.4, size=(8, width))
        answerable = i % 3 != 0
        y = np.zeros(8, dtype=bool)
        if answerable:
            x[3, 0] = 0.9  # "meaning" of the answer sentence
            y[3] = True
        examples.append(F.Example(f"q{i}", "dev set" if i % 2 else "realtimeqa",
                                  f"article{i // 4}", answerable, False, x, y))
    params = F.fit(examples)
    w = np.array([params["weights"][f] for f in F.FEATURES])
    got = F.summary(examples, F.outcomes(examples, w, params["bias"], params["answer_at"]))
    assert got["answerable_correct"] == 1.0 and got["unanswerable_refused"] == 1.0
    assert params["weights"]["meaning"] > 0 and 0 < params["answer_at"] < 1
    held_out = F.cross_validate(examples)
    assert held_out["answerable_correct"] == 1.0 and held_out["unanswerable_refused"] == 1.0


def test_choices_only_run_of_one_year(tmp_path: Path) -> None:
    """``--choices-only --year 2026``: every article is indexed, only that year's
    questions are asked, each as of its own date; multiple choice and retrieval are
    measured, free-form answers are not (their metrics are None, not zero)."""
    import gzip

    from assistant.eval.harness import EvalConfig, run

    def week(folder: Path, day: str, qid: str, question: str, choices: list[str],
             answer: int, articles: list[dict]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{day}_qa.jsonl").write_text(json.dumps({
            "question_id": qid, "question_date": f"{day[:4]}/{day[4:6]}/{day[6:]}",
            "question_sentence": question, "choices": choices,
            "answer": [str(answer)]}) + "\n", encoding="utf-8")
        with gzip.open(folder / f"{day}_gcs.jsonl.gz", "wt", encoding="utf-8") as fh:
            fh.write(json.dumps({"question_id": qid, "search_result": articles}) + "\n")

    data = tmp_path / "realtimeqa"
    old = {"url": "https://example.com/2025/panda", "title": "Pandas leave Washington",
           "publish_date": "2025-11-10", "text": "The National Zoo in the United States "
           "returned its giant pandas to China this week after many years."}
    new = {"url": "https://example.com/2026/panda", "title": "Pandas leave Tokyo",
           "publish_date": "2026-01-27", "text": "Japan returned its last two giant "
           "pandas to China this week; the Ueno Zoo had housed them for years."}
    week(data / "2025", "20251114", "a", "Which country returned its giant pandas to China "
         "this week?", ["Japan", "United States"], 1, [old])
    week(data / "2026", "20260130", "b", "Which country returned two giant pandas to China "
         "this week after housing them at a zoo for several years?",
         ["“United States”", "“Japan”"], 1, [new, old])
    out = tmp_path / "out"
    result = run(EvalConfig(dataset="realtimeqa", data=data, out=out, choices=True,
                            free_form=False, year="2026", baseline=True), progress=False)
    assert result["n"] == 1 and list(result["by_year"]) == ["2026"]
    ours = result["ours"]
    assert ours["mc_accuracy"] == 1.0 and ours["hit@1"] == 1.0  # curly quotes match too
    assert ours["contains_gold"] is None and ours["truthfulness"] is None
    assert result["baseline"]["mc_accuracy"] is not None
    row = json.loads((out / "answers.jsonl").read_text().splitlines()[0])
    assert row["date"] == "2026-01-30" and row["ours"]["answer"] is None


def test_naive_multiple_choice_by_llm_quotes_true_spans() -> None:
    """The naive pipeline's LLM pick sees its nearest chunks, each a true span of its
    article, undated, and the question's date."""
    from assistant.eval.datasets import Question
    from assistant.eval.harness import mc_naive
    from assistant.eval.naive import NaivePipeline
    from tests.conftest import ScriptedLLM

    text = "Intro line.\n\n" + "Japan returned its last two giant pandas to China. " * 3
    llm = ScriptedLLM("0")
    n = NaivePipeline([{"url": "https://example.com/p", "title": "Pandas", "text": text}], llm)
    try:
        q = Question("q", "Which country returned pandas?", ["Japan"], choices=["Japan",
                     "France"], answer_index=0, date="2026-01-30")
        score: dict = {}
        mc_naive(n, q, score, q.date, 4000)
        assert score["mc_correct"] == 1.0
        prompt = llm.calls[0][0]["content"]
        assert "Today is 2026-01-30." in prompt and "published=" not in prompt
        assert "giant pandas" in prompt
        found = n.store.similarity_search(q.question, k=1)[0]
        start = found.metadata["start_index"]
        assert text[start:start + len(found.page_content)] == found.page_content
    finally:
        n.close()


SQUAD = {"version": "v2.0", "data": [
    {"title": "Ferry_lines", "paragraphs": [
        {"context": "The Danube ferry carried 9,300 cars in June. Its captain is Ilona Varga.",
         "qas": [{"id": "f1", "question": "How many cars did the Danube ferry carry in June?",
                  "answers": [{"text": "9,300", "answer_start": 25}], "is_impossible": False},
                 {"id": "f2", "question": "How many trucks did the Rhine ferry carry in May?",
                  "answers": [], "plausible_answers": [{"text": "9,300", "answer_start": 25}],
                  "is_impossible": True}]}]},
    {"title": "Glaciers", "paragraphs": [
        {"context": "The glacier lake in Patagonia rose 3 metres during the storm.",
         "qas": [{"id": "g1", "question": "How much did the glacier lake rise?",
                  "answers": [{"text": "3 metres", "answer_start": 35}],
                  "is_impossible": False}]}]}]}


def test_squad_in_the_harness(tmp_path: Path) -> None:
    """`assistant eval --dataset squad`: each article one document, all its questions,
    impossible ones unanswerable; --articles keeps some titles."""
    import gzip

    from assistant.cli import main
    from assistant.errors import ConfigError
    from assistant.eval.datasets import load_squad

    data = tmp_path / "squad.json.gz"
    with gzip.open(data, "wt", encoding="utf-8") as f:
        json.dump(SQUAD, f)
    ds = load_squad(data, ["Ferry_lines"])
    assert [q.answerable for q in ds.questions] == [True, False]
    assert ds.corpus[0]["title"] == "Ferry lines" and "Ilona Varga" in ds.corpus[0]["text"]
    with pytest.raises(ConfigError, match="no article titled Nope"):
        load_squad(data, ["Nope"])
    out = tmp_path / "out"
    assert main(["eval", "--dataset", "squad", "--data", str(data), "--out", str(out),
                 "--no-baseline"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["n"] == 3 and set(report["by_split"]) == {"Ferry_lines", "Glaciers"}
    rows = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert {r["id"]: r["unanswerable"] for r in rows} == {"f1": False, "f2": True, "g1": False}
    assert report["ours"]["contains_gold"] > 0


def test_the_fit_calibrates_on_squad_articles_neither_trained_on_nor_tested(
        tmp_path: Path) -> None:
    import json as _json

    from assistant.eval.fit import calibration_articles
    from assistant.eval.results import SQUAD_HELD_OUT
    from assistant.reader import MODEL_DIR

    assert calibration_articles(None) == []
    assert calibration_articles(MODEL_DIR) == []  # the shipped reader holds out only those
    card = {"held_out_articles": SQUAD_HELD_OUT + ["Normans", "Huguenot"]}
    (tmp_path / "card.json").write_text(_json.dumps(card))
    assert calibration_articles(tmp_path) == ["Huguenot", "Normans"]
