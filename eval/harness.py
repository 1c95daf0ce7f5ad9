"""``assistant eval``: build a fresh index inside DIR, run the questions through ours and the
naive baseline in the same process, and write report.json, report.md, answers.jsonl and
plots."""

from __future__ import annotations

import json
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable

from assistant.api import Assistant
from assistant.errors import ConfigError
from assistant.settings import load_settings
from assistant.types import Chunk, Hit
from assistant.eval import metrics as M
from assistant.eval.choices import by_evidence, by_llm
from assistant.eval.datasets import (EvalSet, Question, load_jsonl, load_realtimeqa,
                                     load_squad, sample, split_of)
from assistant.eval.naive import NaivePipeline
from assistant.eval.report import write_outputs
from assistant.ingest.loaders import load_file

@dataclass(kw_only=True)
class EvalConfig:
    dataset: str
    data: Path
    out: Path
    llm: str = "extractive"
    limit: int | None = None
    seed: int = 0
    withhold_gold: float = 0.0
    corpus: Path | None = None
    llm_base_url: str | None = None
    llm_model: str | None = None
    baseline: bool = True
    choices: bool = False  # also the multiple-choice setting (RealTime QA)
    split: str = "all"  # jsonl datasets: dev, test or all
    dated: bool = True  # ask each question as of its own date (RealTime QA)
    keep_index: bool = False  # reuse the index a previous run left in OUT/home
    free_form: bool = True  # False: multiple choice only, no free-form answers
    year: str | None = None  # only the questions asked in this year (RealTime QA)
    articles: list[str] | None = None  # SQuAD: only these article titles

    def __post_init__(self) -> None:
        if self.dataset not in ("realtimeqa", "jsonl", "squad"):
            raise ConfigError(f"--dataset must be realtimeqa, jsonl or squad, got "
                              f"{self.dataset!r}")
        if not 0 <= self.withhold_gold < 1:
            raise ConfigError(f"--withhold-gold must be in [0, 1), got {self.withhold_gold}")
        if self.split not in ("dev", "test", "all"):
            raise ConfigError(f"--split must be dev, test or all, got {self.split!r}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"--limit must be positive, got {self.limit}")
        if not self.free_form and not self.choices:
            raise ConfigError("--choices-only needs questions with choices (--choices)")
        if self.dataset == "jsonl" and self.corpus is None:
            raise ConfigError("--dataset jsonl needs --corpus PATH (files to ingest)")


def is_gold(uri: str, gold: list[str]) -> bool:
    return any(uri == g or uri.endswith("/" + g) for g in gold)


def load(cfg: EvalConfig) -> EvalSet:
    if cfg.dataset == "realtimeqa":
        return load_realtimeqa(cfg.data)
    if cfg.dataset == "squad":
        return load_squad(cfg.data, cfg.articles)
    assert cfg.corpus is not None
    return load_jsonl(cfg.data, cfg.corpus)


def withhold(qs: list[Question], fraction: float, seed: int) -> set[str]:
    """Pick a fraction of answerable questions and return their gold uris to leave out."""
    answerable = [q for q in qs if q.answerable and q.gold_uris]
    chosen = random.Random(seed + 1).sample(answerable, int(round(fraction * len(answerable))))
    return {u for q in chosen for u in q.gold_uris}


def build_corpus(cfg: EvalConfig, ds: EvalSet, qs: list[Question],
                 left_out: set[str]) -> tuple[list[str], list[dict]]:
    """Sources to ingest (ours) and article dicts (naive), without withheld articles."""
    files = [Path(e["path"]) for e in ds.corpus if "path" in e]
    files = [f for root in files for f in ([root] if root.is_file() else sorted(
        p for p in root.rglob("*") if p.is_file()))]
    keep = [f for f in files if not is_gold(str(f), sorted(left_out))]
    settings = load_settings()
    arts = [{"url": d.uri, "title": d.title, "text": d.text}
            for f in keep for d in (item.parse() for item in load_file(f, settings))]
    sources = [str(f) for f in keep]
    # Articles given inline (RealTime QA, or named by a jsonl row); the whole corpus,
    # whatever the sample of questions, so that retrieval stays as hard.
    inline = [a for a in ds.corpus if "url" in a and a["url"] not in left_out]
    if inline:
        path = cfg.out / "corpus.jsonl"
        path.write_text("".join(json.dumps(a) + "\n" for a in inline), encoding="utf-8")
        sources.append(str(path))
    return sources, arts + inline


def run(cfg: EvalConfig, progress: bool | None = None) -> dict[str, Any]:
    cfg.out.mkdir(parents=True, exist_ok=True)
    ds = load(cfg)
    qs = [q for q in split_of(ds.questions, cfg.split)
          if cfg.year is None or (q.date or "").startswith(cfg.year)]
    qs = sample(qs, cfg.limit, cfg.seed)
    left_out = withhold(qs, cfg.withhold_gold, cfg.seed) if cfg.withhold_gold else set()
    sources, articles = build_corpus(cfg, ds, qs, left_out)
    indexed = {a["url"] for a in articles}
    home = cfg.out / "home"
    if not cfg.keep_index:
        shutil.rmtree(home, ignore_errors=True)
    overrides = {k: v for k, v in (("llm_base_url", cfg.llm_base_url),
                                   ("llm_model", cfg.llm_model)) if v}
    a = Assistant(home=home, llm=cfg.llm, **overrides)
    t = time.perf_counter()
    report = a.ingest(sources, progress=False)
    ingest_s = time.perf_counter() - t
    naive = NaivePipeline(articles, a.answerer.llm) if cfg.baseline else None
    rows = []
    bar = _bar(len(qs), progress)
    for i, q in enumerate(qs, start=1):
        gold_in_index = [u for u in q.gold_uris if u in indexed or cfg.dataset == "jsonl"
                         and not is_gold(u, sorted(left_out))]
        answerable = q.answerable and bool(gold_in_index)
        # Unanswerable: its gold was withheld, or the dataset says so. (RealTime QA 2026
        # questions whose answer is in no article are neither: their label is unknown.)
        unanswerable = (bool(q.gold_uris) and not gold_in_index) or (
            cfg.dataset in ("jsonl", "squad") and not q.answerable)
        row = {"id": q.id, "question": q.question, "answers": q.answers,
               "answerable": answerable, "unanswerable": unanswerable,
               "gold_uris": q.gold_uris,
               "date": q.date, "split": q.split,
               "ours": score_ours(a, q, gold_in_index, q.date if cfg.dated else None,
                                  answer=cfg.free_form)}
        if naive is not None:
            row["naive"] = score_naive(naive, q, gold_in_index, answer=cfg.free_form)
        if cfg.choices and q.choices:
            mc_ours(a, q, row["ours"], q.date if cfg.dated else None)
            if naive is not None:
                mc_naive(naive, q, row["naive"], q.date if cfg.dated else None,
                         a.settings.llm_context_chars)
        rows.append(row)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(contains_gold=f"{M.mean([r['ours']['contains_gold'] for r in rows]):.2f}")
    if bar is not None:
        bar.close()
    a.close()
    if naive is not None:
        naive.close()
    result = {"dataset": cfg.dataset, "n": len(qs),
              "settings": {**{k: str(v) for k, v in asdict(cfg).items()},
                           "ingested_docs": len(report.added), "ingest_seconds": ingest_s,
                           "withheld_articles": len(left_out)},
              "ours": aggregate([r["ours"] for r in rows], rows)}
    if naive is not None:
        result["baseline"] = aggregate([r["naive"] for r in rows], rows)
    if cfg.dataset == "realtimeqa":
        result["by_year"] = by_group(rows, naive is not None, lambda r: (r["date"] or "")[:4])
    else:
        result["by_split"] = by_group(rows, naive is not None, lambda r: r["split"])
    write_outputs(cfg.out, result, rows)
    return result


def score_ours(a: Assistant, q: Question, gold: list[str],
               as_of: str | None = None, *, answer: bool = True) -> dict[str, Any]:
    when = {"as_of": as_of} if as_of else {}
    t = time.perf_counter()
    hits = a.search(q.question, k=10, **when)
    retrieve_ms = (time.perf_counter() - t) * 1000
    ranked = [h.uri for h in hits]
    if not answer:
        return retrieval_only(q, gold, ranked, retrieve_ms)
    ans = a.ask(q.question, **when)
    valid = [a.document(c.doc_id).text[c.start:c.end] == c.quote for c in ans.citations]
    row = per_question(q, gold, Observed(
        ranked=ranked, text=ans.text, refused=ans.refused, cited=[c.uri for c in ans.citations],
        valid=valid, retrieve_ms=retrieve_ms,
        total_ms=ans.timings.get("retrieve_ms", 0) + ans.timings.get("answer_ms", 0),
        quotes=[c.quote for c in ans.citations]))
    row["refusal_reason"] = ans.refusal_reason
    row["refusal_code"] = ans.refusal_code
    row["quoted"] = (row["correct"] and M.quotes_gold(row["quotes"], q.quote or q.answers))
    row["stage_ms"] = {k: ans.timings.get(k, 0.0) for k in ("retrieve_ms", "answer_ms")}
    return row


def mc_ours(a: Assistant, q: Question, score: dict[str, Any], as_of: str | None) -> None:
    """The multiple-choice pick, from the hits for the question asked as of its date."""
    today = as_of or date.today().isoformat()
    hits = a.search(q.question, **({"as_of": as_of} if as_of else {}))
    llm = a.answerer.llm
    pick = (by_llm(llm, q.question, hits, q.choices, today, a.settings.llm_context_chars)
            if llm else by_evidence(score["answer"] or "", [h.chunk.text for h in hits],
                                    q.choices))
    score["mc_correct"] = float(pick == q.answer_index)


def mc_naive(n: NaivePipeline, q: Question, score: dict[str, Any], as_of: str | None,
             budget: int) -> None:
    """The naive pipeline's pick: its 4 nearest chunks, undated."""
    found = n.store.similarity_search(q.question, k=4)
    if n.llm:
        hits = [Hit(Chunk("", d.metadata["source"], d.metadata["start_index"],
                          d.metadata["start_index"] + len(d.page_content), d.page_content),
                    0.0, uri=d.metadata["source"]) for d in found]  # true spans, as ours
        pick = by_llm(n.llm, q.question, hits, q.choices,
                      as_of or date.today().isoformat(), budget)
    else:
        pick = by_evidence(score["answer"] or "", [d.page_content for d in found], q.choices)
    score["mc_correct"] = float(pick == q.answer_index)


def score_naive(n: NaivePipeline, q: Question, gold: list[str], *,
                answer: bool = True) -> dict[str, Any]:
    if not answer:
        t = time.perf_counter()
        ranked = [d.metadata["source"] for d in n.store.similarity_search(q.question, k=10)]
        return retrieval_only(q, gold, ranked, (time.perf_counter() - t) * 1000)
    r = n.ask(q.question)
    return per_question(q, gold, Observed(
        ranked=r.ranked_uris, text=r.text, refused=r.refused,
        cited=[c["uri"] for c in r.citations], valid=[n.valid(c) for c in r.citations],
        retrieve_ms=r.retrieve_ms, total_ms=r.retrieve_ms + r.answer_ms,
        quotes=[c["quote"][:300] for c in r.citations]))


@dataclass(kw_only=True)
class Observed:
    """What one pipeline did for one question."""

    ranked: list[str]      # retrieved uris, best first
    text: str
    refused: bool
    cited: list[str]       # uris of the citations
    valid: list[bool]      # each citation's quote equals its document's span
    retrieve_ms: float
    total_ms: float
    quotes: list[str]


def per_question(q: Question, gold: list[str], o: Observed) -> dict[str, Any]:
    ranked, text, refused, cited, valid = o.ranked, o.text, o.refused, o.cited, o.valid
    retrieve_ms, total_ms, quotes = o.retrieve_ms, o.total_ms, o.quotes
    gold_set = {u for u in ranked + cited if is_gold(u, gold)}
    correct = (not refused) and M.contains_gold(text, q.answers) == 1.0
    return {"answer": text, "refused": refused, "ranked": ranked[:10], "quotes": quotes,
            "hit@1": M.hit_at(ranked, gold_set, 1) if gold else None,
            "hit@4": M.hit_at(ranked, gold_set, 4) if gold else None,
            "hit@10": M.hit_at(ranked, gold_set, 10) if gold else None,
            "hits@k": [M.hit_at(ranked, gold_set, k) for k in range(1, 11)] if gold else None,
            "mrr@10": M.mrr_at(ranked, gold_set, 10) if gold else None,
            "contains_gold": 0.0 if refused else M.contains_gold(text, q.answers),
            "em": 0.0 if refused else M.exact_match(text, q.answers),
            "f1": 0.0 if refused else M.f1(text, q.answers),
            "correct": correct, "valid": valid,
            "citation_precision": M.citation_precision(cited, gold_set) if gold else None,
            "citation_recall": (sum(any(is_gold(u, [g]) for u in cited) for g in gold) /
                                len(gold)) if gold else None,
            "retrieve_ms": retrieve_ms, "latency_ms": total_ms}


# What a free-form answer adds to a row; None in a multiple-choice-only run.
ANSWER_KEYS = ("answer", "refused", "contains_gold", "em", "f1", "correct",
               "citation_precision", "citation_recall")


def retrieval_only(q: Question, gold: list[str], ranked: list[str], ms: float) -> dict:
    """A row without a free-form answer: retrieval measured, the answer's metrics None."""
    row = per_question(q, gold, Observed(ranked=ranked, text="", refused=False, cited=[],
                                         valid=[], retrieve_ms=ms, total_ms=ms, quotes=[]))
    return {**row, **{k: None for k in ANSWER_KEYS}}


def aggregate(every: list[dict], rows: list[dict]) -> dict[str, float | None]:
    """Retrieval and multiple-choice metrics over every question; the answer's metrics
    over the questions that were answered in free form (all, unless --choices-only)."""
    out = {k: M.mean([s[k] for s in every]) for k in ("hit@1", "hit@4", "hit@10", "mrr@10")}
    pairs = [(s, r) for s, r in zip(every, rows) if s["answer"] is not None]
    scores, rows = [s for s, _ in pairs], [r for _, r in pairs]
    answerable = [s for s, r in zip(scores, rows) if r["answerable"]]
    valid = [v for s in scores for v in s["valid"]]
    lat = [s["latency_ms"] for s in scores]
    out.update({
        "contains_gold": M.mean([s["contains_gold"] for s in answerable]),
        "quoted_gold": M.mean([float(s["quoted"]) for s in answerable if "quoted" in s]),
        "em": M.mean([s["em"] for s in answerable]),
        "f1": M.mean([s["f1"] for s in answerable]),
        "truthfulness": M.truthfulness([s["correct"] for s in scores],
                                       [s["refused"] for s in scores]) if scores else None,
        "citation_validity": M.rate(valid),
        "citation_precision": M.mean([s["citation_precision"] for s in scores]),
        "citation_recall": M.mean([s["citation_recall"] for s in scores]),
        "refusal_rate_unanswerable": M.rate([s["refused"] for s, r in zip(scores, rows)
                                             if r["unanswerable"]]),
        "false_refusal_rate": M.rate([s["refused"] for s in answerable]),
        "latency_p50_ms": M.percentile(lat, 50), "latency_p95_ms": M.percentile(lat, 95),
    })
    if any("mc_correct" in s for s in every):
        out["mc_accuracy"] = M.mean([s.get("mc_correct") for s in every])
    for stage in ("retrieve_ms", "answer_ms"):  # per stage of ask(), where recorded
        vals = [s["stage_ms"][stage] for s in scores if "stage_ms" in s]
        out[f"{stage[:-3]}_p50_ms"] = M.percentile(vals, 50)
        out[f"{stage[:-3]}_p95_ms"] = M.percentile(vals, 95)
    return out


def by_group(rows: list[dict], baseline: bool,
             key: Callable[[dict], str]) -> dict[str, dict[str, Any]]:
    """The same metrics per group of questions (the year of the question date, or the
    dev/test split)."""
    out: dict[str, dict[str, Any]] = {}
    for name in sorted({key(r) for r in rows}):
        part = [r for r in rows if key(r) == name]
        out[name or "undated"] = {
            "n": len(part), "ours": aggregate([r["ours"] for r in part], part),
            **({"baseline": aggregate([r["naive"] for r in part], part)} if baseline else {})}
    return out


def _bar(total: int, progress: bool | None) -> Any:
    if not (sys.stderr.isatty() if progress is None else progress):
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="eval", unit="q", file=sys.stderr)
