"""Fit the answer-or-refuse model of ``assistant/evidence.py`` on the dev data.

    python -m assistant.eval.fit --shared ../shared [--write]

Data: the dev split of ``eval/dev_qa.jsonl`` (its test split is never read here) and the
RealTime QA 2022 dev questions with their gold articles, each asked twice: with the gold
article retrievable (answerable) and with it removed from the hits (unanswerable, as
``--withhold-gold`` makes it). With a reader whose model card holds out more SQuAD 2.0 dev
articles than the harness tests on, a seeded sample of those articles' questions too (each
article one document; their adversarial unanswerable questions calibrate the refusal).
Every candidate sentence is a row: its features, and whether it holds one of the answers.

Fit: a logistic regression on the sentences (each source weighing the same)
gives the weights; ``answer_at`` is the
threshold on the best sentence's p that best separates the questions the retrieved text
can answer from those it cannot (balanced accuracy: the share of answerable questions
answered plus the share of unanswerable ones refused); ``llm_gate_at`` the highest p
under which 90% of the questions are unanswerable (with an LLM, only those are refused
before asking it); ``confident_at`` is the lowest p
from which answers are right at least 90% of the time. Five-fold cross-validation grouped by
article reports the same figures on held-out folds. ``--write`` stores the result, with
these measurements, in ``assistant/evidence_params.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from assistant.api import Assistant
from assistant.eval.datasets import Question, load_jsonl, load_realtimeqa, load_squad, split_of
from assistant.eval.metrics import normalize_answer
from assistant.evidence import FEATURES, PARAMS_FILE
from assistant.reader import OnnxReader
from assistant.retrieval import Filters

DEV_SET = Path(__file__).with_name("dev_qa.jsonl")
PRECISION = 0.9  # confident_at: answers from this p on are right this often


@dataclass
class Example:
    """One question as asked: its candidates' features and which hold an answer."""

    id: str
    source: str  # "dev set", "realtimeqa" or "squad": each weighs the same in the fit
    group: str  # the article it is about (cross-validation folds keep articles apart)
    answerable: bool
    blocked: bool  # refused by the named-entity rule whatever the model says
    x: np.ndarray  # candidates x features
    y: np.ndarray  # candidate holds an answer


def collect(a: Assistant, q: Question, *, withhold: bool, source: str) -> Example:
    gold = set(q.gold_uris)
    when = {"as_of": q.date} if q.date else {}
    k = a.settings.top_k
    hits = a.search(q.question, k=2 * k if withhold else k, **when)
    if withhold:
        hits = [h for h in hits if h.uri not in gold and not any(
            h.uri.endswith("/" + g) for g in gold)][:k]
    docs = {h.chunk.doc_id: a.document(h.chunk.doc_id).text for h in hits}
    ev = a.answerer.evidence
    cands = ev.candidates(q.question, hits, docs)
    answers = [f" {normalize_answer(x)} " for x in q.answers]
    answerable = q.answerable and not withhold
    y = [answerable and any(x in f" {normalize_answer(c.text)} " for x in answers)
         for c in cands]
    return Example(q.id + ("/withheld" if withhold else ""),
                   source, sorted(gold)[0] if gold else q.id,
                   answerable, bool(ev.unmentioned(q.question, hits, docs)),
                   np.array([[c.features[f] for f in ev.features] for c in cands]).reshape(
                       -1, len(ev.features)), np.array(y, dtype=bool))


def outcomes(examples: list[Example], w: np.ndarray, b: float, t: float,
             max_sentences: int = 3) -> list[str]:
    """"correct", "wrong" or "refused" for each example under weights, bias, threshold."""
    out = []
    for e in examples:
        if e.blocked or not len(e.y):
            out.append("refused")
            continue
        p = 1 / (1 + np.exp(-(e.x @ w + b)))
        order = np.argsort(-p)
        if p[order[0]] < t:
            out.append("refused")
            continue
        chosen = [i for i in order[:max_sentences] if p[i] >= t] or [order[0]]
        out.append("correct" if e.answerable and e.y[chosen].any() else "wrong")
    return out


def summary(examples: list[Example], result: list[str]) -> dict[str, float]:
    pos = [r for e, r in zip(examples, result) if e.answerable]
    neg = [r for e, r in zip(examples, result) if not e.answerable]
    n = len(result)
    return {"questions": n,
            "truthfulness": (result.count("correct") - result.count("wrong")) / n,
            "answerable_correct": pos.count("correct") / len(pos) if pos else 0.0,
            "unanswerable_refused": neg.count("refused") / len(neg) if neg else 0.0,
            "false_refusals": pos.count("refused") / len(pos) if pos else 0.0}


def balanced(examples: list[Example], w: np.ndarray, b: float, t: float) -> float:
    """Balanced accuracy of answering exactly the answerable questions at threshold t."""
    top = best_top_p(examples, w, b)
    pos = [p >= t for p, e in zip(top, examples) if e.answerable]
    neg = [p < t for p, e in zip(top, examples) if not e.answerable]
    return (sum(pos) / max(1, len(pos)) + sum(neg) / max(1, len(neg))) / 2


def best_top_p(examples: list[Example], w: np.ndarray, b: float) -> list[float]:
    return [float((1 / (1 + np.exp(-(e.x @ w + b)))).max()) if len(e.y) and not e.blocked
            else 0.0 for e in examples]


def fit(examples: list[Example], names: tuple[str, ...] = FEATURES) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    used = [e for e in examples if len(e.y)]
    x = np.vstack([e.x for e in used])
    y = np.concatenate([e.y for e in used])
    # Each source of dev data weighs the same, however many sentences it brings.
    size = {s: sum(len(e.y) for e in used if e.source == s) for s in {e.source for e in used}}
    weight = np.concatenate([np.full(len(e.y), len(y) / len(size) / size[e.source])
                             for e in used])
    model = LogisticRegression(C=1.0, max_iter=2000).fit(x, y, sample_weight=weight)
    w, b = model.coef_[0], float(model.intercept_[0])
    tops = sorted(set(best_top_p(examples, w, b)))
    grid = [0.0] + [(u + v) / 2 for u, v in zip(tops, tops[1:])] + [1.0]
    answer_at = grid[int(np.argmax([balanced(examples, w, b, t) for t in grid]))]
    confident_at = 1.01
    for t in sorted(g for g in grid if g >= answer_at):
        got = outcomes(examples, w, b, t)
        answered = [r for r in got if r != "refused"]
        if answered and answered.count("correct") / len(answered) >= PRECISION:
            confident_at = t
            break
    return {"weights": dict(zip(names, map(float, w))), "bias": b,
            "answer_at": float(answer_at), "confident_at": float(confident_at),
            "llm_gate_at": llm_gate(examples, w, b, answer_at)}


def llm_gate(examples: list[Example], w: np.ndarray, b: float, answer_at: float) -> float:
    """With an LLM, refuse before asking it only below this p: the highest threshold (at
    most ``answer_at``) under which at least ``PRECISION`` of the questions are truly
    unanswerable; a capable LLM reads better than the gate above it. 0: never by score."""
    scored = [(p, e.answerable) for p, e in zip(best_top_p(examples, w, b), examples)
              if len(e.y) and not e.blocked]
    gate = 0.0
    for t in sorted({p for p, _ in scored if p <= answer_at} | {answer_at}):
        below = [answerable for p, answerable in scored if p < t]
        if below and below.count(False) / len(below) >= PRECISION:
            gate = t
    return float(gate)


def cross_validate(examples: list[Example], folds: int = 5,
                   names: tuple[str, ...] = FEATURES) -> dict[str, float]:
    """Held-out figures: fit on four folds of articles, measure on the fifth."""
    from sklearn.model_selection import GroupKFold

    groups = [e.group for e in examples]
    result: list[str] = [""] * len(examples)
    for train, test in GroupKFold(n_splits=folds).split(examples, groups=groups):
        p = fit([examples[i] for i in train], names)
        w = np.array([p["weights"][f] for f in names])
        got = outcomes([examples[i] for i in test], w, p["bias"], p["answer_at"])
        for i, r in zip(test, got):
            result[i] = r
    return summary(examples, result)


SQUAD_DEV = Path("train") / "squad2-dev-25-articles.json.gz"
SQUAD_QUESTIONS = 300  # a seeded sample of the calibration articles' questions


def calibration_articles(reader: Path | None) -> list[str]:
    """SQuAD 2.0 dev articles that the reader never trained on (its card's held-out ones)
    and that the harness does not test on (``results.SQUAD_HELD_OUT``): their adversarial
    unanswerable questions calibrate the refusal. None for a reader that holds out only
    the tested articles."""
    from assistant.eval.results import SQUAD_HELD_OUT

    if reader is None or not (reader / "card.json").exists():
        return []
    card = json.loads((reader / "card.json").read_text(encoding="utf-8"))
    return sorted(set(card.get("held_out_articles", [])) - set(SQUAD_HELD_OUT))


def gather(shared: Path, out: Path, reader: Path | None = None
           ) -> tuple[list[Example], dict[str, int], tuple[str, ...]]:
    dev = split_of(load_jsonl(DEV_SET, shared).questions, "dev")
    rtqa_set = load_realtimeqa(shared / "eval" / "realtimeqa" / "2022")
    rtqa = [q for q in rtqa_set.questions if q.answerable]
    devset = load_jsonl(DEV_SET, shared)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    corpus = out / "corpus.jsonl"
    inline = [c for c in devset.corpus + rtqa_set.corpus if "url" in c]
    calibration = calibration_articles(reader)
    squad: list[Question] = []
    if calibration:
        squad_set = load_squad(shared / SQUAD_DEV, calibration)
        inline += squad_set.corpus
        squad = squad_set.questions
        random.Random(0).shuffle(squad)
        squad = squad[:SQUAD_QUESTIONS]
    corpus.write_text("".join(json.dumps(c) + "\n" for c in inline), encoding="utf-8")
    files = [c["path"] for c in devset.corpus if "path" in c]
    with Assistant(home=out / "home") as a:
        a.ingest(files + [str(corpus)], progress=False)
        ev = a.answerer.evidence
        ev.use_reader(None)

        def examples_now() -> list[Example]:
            return ([collect(a, q, withhold=False, source="dev set") for q in dev] +
                    [collect(a, q, withhold=w, source="realtimeqa") for q in rtqa
                     for w in (False, True)] +
                    [collect(a, q, withhold=False, source="squad") for q in squad])

        examples = examples_now()
        preselect = None
        if reader is not None:
            # Two stages, as the cascade runs: the cheap features alone, fitted first,
            # pick the candidates the reader reads (so they do not hang on the weights
            # fitted on top of the reader's chance); then the reader reads them.
            cheap = fit(examples, ev.features)
            preselect = {"weights": cheap["weights"], "bias": cheap["bias"],
                         "held_out_5_fold_by_article": cross_validate(
                             examples, names=ev.features)}
            ev.params = replace(ev.params, preselect=preselect)
            ev.use_reader(OnnxReader(reader))
            examples = examples_now()
        names = ev.features
    return examples, {"dev_set_questions": len(dev), "realtimeqa_2022_questions": len(rtqa),
                      "squad_calibration_questions": len(squad),
                      "articles": len(files) + len(inline)}, names, preselect


def fit_recency(home: Path, shared: Path) -> dict[str, Any]:
    """Coordinate search of the date weights of ``retrieval.Recency`` for Hit@4 on the
    RealTime QA questions (both years, each as of its own date) over the index an eval
    run left in ``home`` (``assistant eval --dataset realtimeqa --data
    ../shared/eval/realtimeqa``: every article of both years). Each question's candidate
    pool is retrieved once; each trial only re-ranks it."""
    from assistant.retrieval import Recency

    questions = [q for q in load_realtimeqa(shared / "eval" / "realtimeqa").questions
                 if q.answerable and q.date]
    unit = 1 / 61  # one top rank of reciprocal-rank fusion
    grid = {"window_boost": [0, 0.5 * unit, unit, 2 * unit, 4 * unit],
            "recent_boost": [0, 0.5 * unit, unit, 2 * unit],
            "tie_boost": [0, 0.25 * unit, 0.5 * unit, unit],
            "half_life_days": [7.0, 30.0, 180.0, 720.0]}
    with Assistant(home=home) as a:
        retriever = a.answerer.retriever
        pools = [retriever.pool(q.question, 4, Filters(as_of=q.date)) for q in questions]

        def hit_at_4(r: Recency, subset: str = "") -> float:
            retriever.recency = r
            got = [any(h.uri in q.gold_uris for h in retriever.rank(q.question, p, 4, q.date))
                   for q, p in zip(questions, pools) if (q.date or "").startswith(subset)]
            return sum(got) / len(got)

        def coordinate_search(subset: str = "") -> Recency:
            best = Recency(0.0, 0.0, 0.0, 30.0)
            score = hit_at_4(best, subset)
            for _ in range(2):  # two rounds
                for name, values in grid.items():
                    for v in values:
                        trial = replace(best, **{name: v})
                        if trial != best and (got := hit_at_4(trial, subset)) > score:
                            best, score = trial, got
            return best

        none = Recency(0.0, 0.0, 0.0, 30.0)
        best = coordinate_search()
        before, score = hit_at_4(none), hit_at_4(best)
        # Held out by year: weights fitted on one year's questions, measured on the other.
        cross = {f"fit_on_{a}_measured_on_{b}": hit_at_4(coordinate_search(a), b)
                 for a, b in (("2022", "2026"), ("2026", "2022"))}
        years = {y: {"without_dates": hit_at_4(none, y), "fitted": hit_at_4(best, y)}
                 for y in ("2022", "2026")}
    return {**best.__dict__, "measured": {
        "command": "python -m assistant.eval.fit --recency OUT/home --shared ../shared --write",
        "date": time.strftime("%Y-%m-%d"), "questions": len(questions),
        "hit@4_without_dates": before, "hit@4_fitted": score, "hit@4_by_year": years,
        "hit@4_held_out_by_year": cross}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m assistant.eval.fit", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path("../shared"),
                    help="the folder holding corpus/ and eval/realtimeqa/")
    ap.add_argument("--out", type=Path, default=Path("eval/out/fit"), help="work folder")
    ap.add_argument("--write", action="store_true", help=f"write {PARAMS_FILE.name}")
    ap.add_argument("--reader", type=Path, metavar="DIR", help="fit with the reader in DIR "
                    "(assistant/reader_model for the shipped one) as one more feature")
    ap.add_argument("--recency", type=Path, metavar="HOME", help="fit the date weights of "
                    "retrieval instead, over the index of a full RealTime QA eval run")
    args = ap.parse_args(argv)
    if args.recency:
        from assistant.retrieval import RECENCY_FILE

        found = fit_recency(args.recency, args.shared)
        print(json.dumps(found, indent=1))
        if args.write:
            RECENCY_FILE.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
            print(f"wrote {RECENCY_FILE}")
        return 0
    t = time.perf_counter()
    examples, counts, names, preselect = gather(args.shared, args.out, args.reader)
    params = fit(examples, names)
    if preselect is not None:
        params["preselect"] = preselect
    w = np.array([params["weights"][f] for f in names])
    fitted = summary(examples, outcomes(examples, w, params["bias"], params["answer_at"]))
    held_out = cross_validate(examples, names=names)
    params["measured"] = {
        "command": "python -m assistant.eval.fit --shared ../shared --write" + (
            f" --reader {args.reader}" if args.reader else ""),
        "date": time.strftime("%Y-%m-%d"),
        "data": {**counts, "examples": len(examples),
                 "sentences": int(sum(len(e.y) for e in examples)),
                 "sentences_holding_an_answer": int(sum(e.y.sum() for e in examples))},
        "fitted": fitted, "held_out_5_fold_by_article": held_out,
        "seconds": round(time.perf_counter() - t)}
    print(json.dumps(params, indent=1))
    if args.write:
        PARAMS_FILE.write_text(json.dumps(params, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {PARAMS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
