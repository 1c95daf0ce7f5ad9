"""Evaluation metrics. Each is a small pure function with hand-made tests.

Answers: SQuAD exact match and token F1 with the official normalisation; contains-gold;
CRAG-style truthfulness (+1 correct, 0 refusal, -1 wrong). Retrieval: Hit@k, MRR@k.
Citations: validity, precision, recall. Refusals: rates on (un)answerable questions.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from typing import Sequence

# Every metric of a report, in report order, and whether the README results table shows it.
# The one list of names: aggregate() fills them, report.md and the README table read them.
METRICS: list[tuple[str, bool]] = [
    ("hit@1", False), ("hit@4", True), ("hit@10", False), ("mrr@10", False),
    ("contains_gold", True), ("quoted_gold", False), ("em", False), ("f1", False), ("truthfulness", True),
    ("citation_validity", True), ("citation_precision", False), ("citation_recall", False),
    ("refusal_rate_unanswerable", True), ("false_refusal_rate", True),
    ("mc_accuracy", True), ("latency_p50_ms", True), ("latency_p95_ms", False)]
NAMES = [name for name, _ in METRICS]
README_COLUMNS = [name for name, shown in METRICS if shown]
OPTIONAL = {"mc_accuracy"}  # only with --choices


def normalize_answer(s: str) -> str:
    """SQuAD v1.1 normalisation: lower case, no punctuation, no articles, single spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def quotes_gold(quotes: Sequence[str], required: Sequence[str]) -> bool:
    """Whether some citation quote holds one of the required strings (normalised)."""
    norm = [f" {normalize_answer(q)} " for q in quotes]
    return any(f" {normalize_answer(r)} " in q for r in required for q in norm)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    return float(any(normalize_answer(prediction) == normalize_answer(g) for g in golds))


def f1(prediction: str, golds: Sequence[str]) -> float:
    """Best token F1 of the prediction against any gold answer."""
    best = 0.0
    pred = normalize_answer(prediction).split()
    for g in golds:
        gold = normalize_answer(g).split()
        common = Counter(pred) & Counter(gold)
        same = sum(common.values())
        if not pred or not gold:
            best = max(best, float(pred == gold))
            continue
        if same == 0:
            continue
        p, r = same / len(pred), same / len(gold)
        best = max(best, 2 * p * r / (p + r))
    return best


def plain(s: str) -> str:
    """SQuAD normalisation after dropping all Unicode punctuation, not just ASCII: a gold
    answer written “Succession” must match Succession."""
    return normalize_answer("".join(ch for ch in s if not unicodedata.category(ch)
                                    .startswith("P")))


def contains_gold(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when a normalised gold answer appears, on word boundaries, in the prediction."""
    pred = f" {plain(prediction)} "
    return float(any(plain(g) and f" {plain(g)} " in pred for g in golds))


def truthfulness(correct: Sequence[bool], refused: Sequence[bool]) -> float:
    """CRAG score: +1 for a correct answer, 0 for a refusal, -1 for a wrong answer."""
    if not correct:
        return 0.0
    total = sum(0 if r else (1 if c else -1) for c, r in zip(correct, refused))
    return total / len(correct)


def hit_at(ranked_uris: Sequence[str], gold: set[str], k: int) -> float:
    return float(any(u in gold for u in ranked_uris[:k]))


def mrr_at(ranked_uris: Sequence[str], gold: set[str], k: int = 10) -> float:
    for i, u in enumerate(ranked_uris[:k], start=1):
        if u in gold:
            return 1.0 / i
    return 0.0


def citation_precision(cited_uris: Sequence[str], gold: set[str]) -> float | None:
    """Cited documents that are gold / all cited documents (None when nothing cited)."""
    cited = set(cited_uris)
    return len(cited & gold) / len(cited) if cited else None


def citation_recall(cited_uris: Sequence[str], gold: set[str]) -> float | None:
    """Gold documents cited / gold documents (None when there is no gold)."""
    return len(set(cited_uris) & gold) / len(gold) if gold else None


def rate(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def mean(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    s = sorted(values)
    idx = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[idx]
