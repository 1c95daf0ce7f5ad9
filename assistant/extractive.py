"""The extractive answerer: no LLM. It picks the retrieved sentences that best answer the
question and returns them verbatim, each with its citation.

A sentence's score mixes its meaning (cosine similarity to the question), its words
(stemmed overlap with the question's content words) and what the question asks for: a
"how much" question prefers amounts, "when" dates, "who" names, "where" places.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from assistant.citations import STOP, missing_entities
from assistant.embedder import Embedder
from assistant.types import Citation, Hit
from assistant.text import sentence_spans

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
           "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
PATTERNS = {
    "amount": re.compile(r"[$€£¥]\s?\d|\d[\d,.]*\s?(%|percent|per cent|billion|million|"
                         r"trillion|thousand|bn|m\b|yuan|dollars?|euros?|pounds?|yen|rupees?)"
                         r"|\b(hundreds?|thousands?|millions?|billions?) of\b", re.I),
    "number": re.compile(r"\d"),
    "date": re.compile(rf"\b(({_MONTHS})\.?\s+\d{{1,2}}|\d{{1,2}}\s+({_MONTHS})|(19|20)\d\d|"
                       r"(mon|tues|wednes|thurs|fri|satur|sun)day|yesterday|today|"
                       r"last (week|month|year))\b", re.I),
    "name": re.compile(r"\b(chief executive|CEO|president|prime minister|minister|founder|"
                       r"founded by|chair(man|woman)?|director|head(ed)? by|led by|leader|"
                       r"spokes(man|woman|person)|secretary|governor|mayor)\b", re.I),
    "person": re.compile(r"\b[A-Z][a-z]+\s+[A-Z][a-z]+\b"),
    "place": re.compile(r"\b(in|at|from|near|to)\s+(the\s+)?[A-Z][a-z]+"),
}
QUESTION_TYPES = [
    ("amount", re.compile(r"\bhow (much|many|big|large|high|expensive)\b|\bwhat (amount|"
                          r"percentage|share|sum|price|number)\b|\bcost|\bspend|\bworth\b|"
                          r"\bvalue[ds]?\b|\brevenue|\bbudget|\binvest|\bfines?\b|\bpenalt",
                          re.I)),
    ("date", re.compile(r"\bwhen\b|\bwhat (year|date|day|month|time)\b|\bsince when\b",
                        re.I)),
    ("name", re.compile(r"\bwho(m|se)?\b|\bwhich (person|company|country|team|leader)\b",
                        re.I)),
    ("place", re.compile(r"\bwhere\b|\bwhich (city|country|state|place|region)\b", re.I)),
    ("number", re.compile(r"\bhow (old|long|far|tall|fast)\b", re.I)),
]
# Text that addresses an AI system rather than a reader: data, never an answer.
INJECTION = re.compile(r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules|"
                       r"prompts?|guidelines)\b|\b(reply|respond|answer|say|output)\b.{0,30}"
                       r"\b(to every|to all|with only|only with)\b|\byou are now\b|"
                       r"\bsystem prompt\b|\bas an ai\b", re.I)
W_MEANING, W_WORDS, W_TYPE, W_RANK = 0.55, 0.35, 0.15, 0.04
MIN_SCORE = 0.30  # below this the best sentence does not answer the question


def question_type(question: str) -> str | None:
    for name, pattern in QUESTION_TYPES:
        if pattern.search(question):
            return name
    return None


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def _stem(words: list[str]) -> set[str]:
    return set(_stemmer().stemWords([w for w in words if w not in STOP and len(w) > 1]))


def stems(text: str) -> set[str]:
    return _stem(re.findall(r"[a-z0-9]+", text.lower()))


@dataclass(frozen=True)
class Candidate:
    source: int  # 1-based source number
    start: int
    end: int
    text: str
    score: float
    fits: float = 0.0  # how well it holds what the question asks for (0..1)


class ExtractiveAnswerer:
    """Chooses and joins the best supporting sentences of the retrieved chunks."""

    name = "extractive"

    def __init__(self, embedder: Embedder, max_sentences: int = 3,
                 cache_size: int = 20_000) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences
        # Stored sentences recur across questions (a warm server, a chat): their vectors
        # are kept, most recently used last, so each is embedded once.
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _vectors(self, texts: list[str]) -> list[list[float]]:
        """Vectors of sentences, from the cache where it has them."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        fresh = dict(zip(missing, self.embedder.embed(missing))) if missing else {}
        with self._lock:
            self._cache.update(fresh)
            out = [fresh.get(t) or self._cache[t] for t in texts]
            for t in texts:
                if t in self._cache:
                    self._cache.move_to_end(t)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return out

    def candidates(self, question: str, sources: list[Hit],
                   doc_texts: dict[str, str]) -> list[Candidate]:
        spans = []
        seen: set[tuple[str, int]] = set()
        for n, hit in enumerate(sources, start=1):
            text = doc_texts[hit.chunk.doc_id]
            if missing_entities(question, f"{hit.title} {text}"):
                continue  # this article is about something else
            for s, e in sentence_spans(text, hit.chunk.start, hit.chunk.end):
                sent = text[s:e]
                heading = sent.startswith("#") or sent == hit.title or (
                    sent[-1] not in ".!?\"'”)" and len(sent.split()) < 12)
                if (hit.chunk.doc_id, s) not in seen and len(sent.split()) >= 4 and not (
                        heading or INJECTION.search(sent)):
                    seen.add((hit.chunk.doc_id, s))
                    spans.append((n, s, e, text[s:e]))
        if not spans:
            return []
        q = self.embedder.embed([question])[0]
        vecs = [q] + self._vectors([f"{sources[n - 1].title}: {t}" for n, _, _, t in spans])
        q_stems = stems(question)
        kind = question_type(question)
        out = []
        for (n, s, e, t), v in zip(spans, vecs[1:]):
            meaning = sum(a * b for a, b in zip(q, v))
            own = q_stems & stems(t)
            # Words found only in the title count half: "the group" means the title's firm.
            implied = (q_stems & stems(sources[n - 1].title)) - own
            words = (len(own) + 0.5 * len(implied)) / len(q_stems) if q_stems else 0.0
            fits = 1.0 if kind and PATTERNS[kind].search(t) else 0.0
            if kind == "amount" and not fits and PATTERNS["number"].search(t):
                fits = 0.4
            if kind == "name" and not fits and PATTERNS["person"].search(t):
                fits = 0.5
            score = (W_MEANING * meaning + W_WORDS * words + W_TYPE * fits +
                     W_RANK / n)
            out.append(Candidate(n, s, e, t, score, fits))
        return sorted(out, key=lambda c: -c.score)

    def answer(self, question: str, sources: list[Hit],
               doc_texts: dict[str, str]) -> list[tuple[int, Citation]] | None:
        """The chosen sentences, each with the number of its source (1-based, as the
        ``[n]`` marker) and its citation, in answer order; None to refuse."""
        ranked = self.candidates(question, sources, doc_texts)
        if not ranked or ranked[0].score < MIN_SCORE:
            return None
        top = ranked[0]
        if question_type(question):  # a typed question: answer with sentences that fit
            fitting = [c for c in ranked if c.fits == 1.0 and c.score >= 0.8 * top.score]
            if fitting:
                ranked = fitting
        chosen = [ranked[0]]
        for c in ranked[1:]:
            if len(chosen) >= self.max_sentences or c.score < 0.85 * top.score:
                break
            new = stems(c.text) - set().union(*(stems(x.text) for x in chosen))
            if len(new) >= 0.5 * len(stems(c.text)):  # adds information, not a repeat
                chosen.append(c)
        # Keep document order within the same source for a readable answer.
        first = chosen[0]
        chosen.sort(key=lambda c: (0, c.start) if c.source == first.source else (1, c.start))
        return [(c.source, Citation.of(sources[c.source - 1], c.start, c.end, c.text))
                for c in chosen]
