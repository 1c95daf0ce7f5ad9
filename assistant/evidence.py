"""Whether the retrieved text answers a question, and which of its sentences do: the read
side's one answer-or-refuse decision, made before any backend runs.

Every sentence of the retrieved passages is a candidate. Its features say how well it
matches the question: ``meaning`` (cosine of question and "title: sentence"), ``focus``
(share of the question's focus words it holds, title words counting half), ``fits`` (it
holds the kind of fact asked for: an amount, a date, a person ...), ``names`` (share of
the question's names it or its title mentions), ``rank`` (1/n of its passage), ``new``
(it states a name or number the question does not: an answer adds something) and
``heading`` (a short line without final punctuation, such as a heading or a table row). A
logistic model turns them into ``p``, the chance the sentence answers the question. The
question is answered when the best ``p`` reaches ``answer_at``.

The weights and thresholds are fitted by ``python -m assistant.eval.fit`` on the dev data
and read from ``evidence_params.json`` beside this module, with the measurement behind
them; a re-fit is one command.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from assistant.addressed import addresses_ai
from assistant.citations import missing_entities, question_entities
from assistant.documents import Span, unpack_sentences
from assistant.embedder import Embedder
from assistant.sentences import SpanEmbedder, encode
from assistant.reader import MODEL_DIR, OnnxReader, Reader, neighbours, reader_text
from assistant.settings import Settings
from assistant.question import fits, focus_words, question_kind
from assistant.text import fold, mentions, name_words, numbers, sentence_spans, stems
from assistant.types import Hit

PARAMS_FILE = Path(__file__).with_name("evidence_params.json")
# The kinds of fact a question can ask for (question.question_kind), as a refusal names them.
KIND_NOUNS = {"count": "number", "date": "date", "amount": "amount",
              "person": "person's name", "organisation": "organisation's name",
              "place": "place"}
FEATURES = ("meaning", "focus", "fits", "names", "rank", "new", "heading")
READER = "reader"  # the trained reader's chance, a feature when a reader is given
# Candidates the reader reads: the best by the first stage (``Params.preselect``). Held
# out by article (``eval.fit``, two stages, 311 questions): 8 read -> answerable right
# 0.605, unanswerable refused 0.806, truthfulness 0.093; 16 -> 0.605, 0.806, 0.096;
# 24 -> 0.605, 0.819, 0.103. Eight lose nothing and halve the reading time, the most
# of a question's time.
PRESELECT = 8


@dataclass(frozen=True)
class Params:
    """The fitted model: weights per feature, bias, and the two thresholds on ``p``."""

    weights: dict[str, float]
    bias: float
    answer_at: float  # answer when the best sentence's p reaches this
    confident_at: float  # quote a sentence even when the LLM declined, from this p
    measured: dict[str, Any] = field(default_factory=dict)
    llm_gate_at: float | None = None  # with an LLM, refuse unasked only below this p
    # The cascade's first stage: weights and bias over the cheap features alone, fitted
    # before the reader reads, so which candidates it reads does not depend on the
    # weights fitted on what it read (None: rank by ``weights`` without the reader's).
    preselect: dict[str, Any] | None = None

    @property
    def gate(self) -> float:
        return self.answer_at if self.llm_gate_at is None else self.llm_gate_at

    @classmethod
    def load(cls, path: Path = PARAMS_FILE) -> Params:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(raw["weights"], raw["bias"], raw["answer_at"], raw["confident_at"],
                   raw.get("measured", {}), raw.get("llm_gate_at"), raw.get("preselect"))

    def p(self, features: dict[str, float]) -> float:
        return logistic(self.weights, self.bias, features)

    def cheap_p(self, features: dict[str, float]) -> float:
        """The first stage's chance, by which the candidates the reader reads are picked."""
        if self.preselect is None:
            return self.p(features)
        return logistic(self.preselect["weights"], self.preselect["bias"], features)


def logistic(weights: dict[str, float], bias: float, features: dict[str, float]) -> float:
    z = bias + sum(w * features[k] for k, w in weights.items() if k in features)
    return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, with its features and its chance to answer."""

    source: int  # 1-based number of its hit
    start: int
    end: int
    text: str
    features: dict[str, float]
    p: float


@dataclass(frozen=True)
class Decision:
    """The candidates, best first, and why the question is refused (None: answer; else a
    key of ``types.REFUSALS``, with ``detail``: the missing names or kind of fact)."""

    candidates: list[Candidate]
    refusal: str | None
    detail: str = ""

    @property
    def best(self) -> float:
        return self.candidates[0].p if self.candidates else 0.0


def make_reader(settings: Settings, params: Params | None = None) -> Reader | None:
    """The shipped reader, when it is installed, fitted into the decision (its weight is
    in ``evidence_params.json``) and not turned off (``ASSISTANT_READER=false``)."""
    if not settings.reader or not (MODEL_DIR / "model.onnx").exists():
        return None
    return OnnxReader() if READER in (params or Params.load()).weights else None


def _is_heading(sent: str) -> bool:
    """A short line without final punctuation: a heading, a caption, a table row."""
    return sent[-1] not in ".!?\"'”)" and len(sent.split()) < 12


class Evidence:
    """Builds and scores candidate sentences; decides answer or refuse."""

    def __init__(self, embedder: Embedder, params: Params | None = None,
                 cache_size: int = 20_000, reader: Reader | None = None,
                 stored: Callable[[list[Span]], list[list[bytes]]] | None = None
                 ) -> None:
        self.embedder = embedder
        # (doc_id, start, end) -> the packed sentence vectors ingest stored (Store's door)
        self.stored = stored or (lambda spans: [[] for _ in spans])
        self.params = params or Params.load()
        self.use_reader(reader)
        # Stored sentences recur across questions (a warm server, a chat): their vectors
        # are kept, most recently used last, so each is embedded once.
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._chunk_cache: OrderedDict[str, bytes | None] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def use_reader(self, reader: Reader | None) -> None:
        """Read candidates with ``reader`` (None: the cheap features alone). The
        features of a candidate are the cheap ones, and the reader's when given."""
        self.reader = reader
        self.features = FEATURES + ((READER,) if reader is not None else ())

    def _vectors(self, texts: list[str]) -> list[list[float]]:
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

    def spans(self, hits: list[Hit],
              doc_texts: dict[str, str]) -> list[tuple[int, int, int]]:
        """(source number, start, end) of each candidate sentence, each sentence once.
        Titles, Markdown headings and questions are not candidates: they state no fact;
        nor is a note addressed to an AI system (``addressed``): it is never an answer."""
        out, seen = [], set()
        for n, hit in enumerate(hits, start=1):
            text = doc_texts[hit.chunk.doc_id]
            sents = sentence_spans(text, hit.chunk.start, hit.chunk.end)
            for s, e in sents:
                sent = text[s:e]
                if (hit.chunk.doc_id, s) in seen or len(sent.split()) < 3 or (
                        len(sents) > 1 and (sent.startswith("#") or sent == hit.title or
                                            sent.endswith("?"))) or addresses_ai(sent):
                    continue
                seen.add((hit.chunk.doc_id, s))
                out.append((n, s, e))
        return out

    def candidates(self, question: str, hits: list[Hit],
                   doc_texts: dict[str, str]) -> list[Candidate]:
        spans = self.spans(hits, doc_texts)
        if not spans:
            return []
        texts = [doc_texts[hits[n - 1].chunk.doc_id][s:e] for n, s, e in spans]
        q = np.asarray(self.embedder.embed([question])[0], dtype=np.float32)
        vecs = self._sentence_vectors(hits, spans, texts)
        focus, kind = focus_words(question), question_kind(question)
        names = question_entities(question)
        asked = {fold(w) for w in name_words(question, openers=True)} | numbers(question)
        sent_stems = [stems(t) for t in texts]
        # A focus word found in few candidate sentences tells more than one found in all.
        idf = {w: math.log((len(texts) + 1) / (0.5 + sum(w in x for x in sent_stems)))
               for w in focus}
        total = sum(idf.values()) or 1.0
        title_stems = {n: stems(h.title) for n, h in enumerate(hits, start=1)}
        # With a reader, the first stage ranks what it reads (``_read`` then re-scores).
        chance = self.params.cheap_p if self.reader else self.params.p
        out = []
        for (n, s, e), t, v, own_all in zip(spans, texts, vecs, sent_stems):
            title = hits[n - 1].title
            own = focus & own_all
            implied = (focus & title_stems[n]) - own  # "the group" means the title's firm
            f = {"meaning": float(np.dot(q, v)),
                 "focus": (sum(idf[w] for w in own) + 0.5 * sum(idf[w] for w in implied))
                 / total,
                 "fits": fits(kind, t),
                 "names": (sum(mentions(f"{title} {t}", w) for w in names) / len(names)
                           if names else 1.0),
                 "rank": 1.0 / n,
                 "new": float(any(fold(w) not in asked for w in name_words(t)) or
                              bool(numbers(t) - asked)),
                 "heading": float(_is_heading(t))}
            out.append(Candidate(n, s, e, t, f, chance(f)))
        ranked = sorted(out, key=lambda c: -c.p)
        return self._read(question, ranked, hits, doc_texts) if self.reader else ranked

    def _sentence_vectors(self, hits: list[Hit], spans: list[tuple[int, int, int]],
                          texts: list[str]) -> list[Any]:
        """Each candidate's vector: as ingest stored it with its chunk (``sentences``),
        else pooled from its passage's encoding now (a home made before they were
        stored), else "title: sentence" embedded (an embedder that cannot pool spans)."""
        used = sorted({n for n, _, _ in spans})
        blobs = self.stored([(hits[n - 1].chunk.doc_id, hits[n - 1].chunk.start,
                              hits[n - 1].chunk.end) for n in used])
        stored = dict(zip(used, blobs))
        lacking = [n for n in used if not stored[n]]
        if lacking and isinstance(self.embedder, SpanEmbedder):
            for n, blob in zip(lacking, self._pooled([hits[n - 1] for n in lacking])):
                stored[n] = [blob] if blob else []
        found: dict[int, dict[int, tuple[int, Any]]] = {}
        for n in used:
            found[n] = {}
            for blob in reversed(stored[n]):  # a sentence two chunks share: the first's
                found[n].update(unpack_sentences(blob))
        out: list[Any] = []
        for (n, s, e) in spans:
            got = found[n].get(s)
            out.append(got[1] if got and got[0] == e else None)
        alone = [i for i, v in enumerate(out) if v is None]
        for i, v in zip(alone, self._vectors([f"{hits[spans[i][0] - 1].title}: {texts[i]}"
                                              for i in alone])):
            out[i] = v
        return out

    def _pooled(self, hits: list[Hit]) -> list[bytes | None]:
        """Packed sentence vectors of these hits' chunks, computed (and kept) here."""
        with self._lock:
            missing = [h for h in hits if h.chunk.id not in self._chunk_cache]
        if missing:
            _, blobs = encode(self.embedder, [(h.title, h.chunk) for h in missing])
            with self._lock:
                self._chunk_cache.update({h.chunk.id: b for h, b in zip(missing, blobs)})
                while len(self._chunk_cache) > self._cache_size // 8:
                    self._chunk_cache.popitem(last=False)
        with self._lock:
            return [self._chunk_cache.get(h.chunk.id) for h in hits]

    def _read(self, question: str, ranked: list[Candidate], hits: list[Hit],
              doc_texts: dict[str, str]) -> list[Candidate]:
        """The cascade's second stage: the reader reads the ``PRESELECT`` best candidates
        (by the cheap features) in their context; its chance becomes a feature of each."""
        assert self.reader is not None
        kept = ranked[:PRESELECT]
        texts = []
        for c in kept:
            hit = hits[c.source - 1]
            context = neighbours(doc_texts[hit.chunk.doc_id], c.start, c.end)
            texts.append(reader_text(hit.title, c.text, context))
        out = []
        for c, chance in zip(kept, self.reader.score(question, texts)):
            features = {**c.features, READER: chance}
            out.append(replace(c, features=features, p=self.params.p(features)))
        return sorted(out, key=lambda c: -c.p)

    @staticmethod
    def unmentioned(question: str, hits: list[Hit], doc_texts: dict[str, str]) -> list[str]:
        """Names of the question that no retrieved article (title or text) mentions."""
        return missing_entities(question, " ".join(f"{h.title} {doc_texts[h.chunk.doc_id]}"
                                                   for h in hits))

    def decide(self, question: str, hits: list[Hit], doc_texts: dict[str, str]) -> Decision:
        if missing := self.unmentioned(question, hits, doc_texts):
            # A question about a name no retrieved article mentions is not answerable
            # from them, however similar the rest of the words are.
            named = [f"\u201c{m}\u201d" for m in missing]
            return Decision([], "name_missing", " or ".join(
                [", ".join(named[:-1]), named[-1]] if len(named) > 1 else named))
        ranked = self.candidates(question, hits, doc_texts)
        if not ranked:
            return Decision([], "no_relevant")
        if ranked[0].p >= self.params.answer_at:
            return Decision(ranked, None)
        close = [c for c in ranked if c.features["focus"] > 0]
        kind = question_kind(question)
        if kind in KIND_NOUNS and close and not any(c.features["fits"] for c in close):
            return Decision(ranked, "kind_absent", KIND_NOUNS[kind])
        return Decision(ranked, "no_relevant")
