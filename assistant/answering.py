"""Question -> Answer with checked citations.

retrieve (hybrid) -> evidence decision (answer, or refuse with a reason without calling
anything; see ``evidence``) -> backend (extractive, or an LLM given numbered sources as
quoted data) -> citation check (drop markers of unknown sources; mark or drop claims whose
key facts are not in the cited source) -> Answer. If no supported claim is left, the
answer is a refusal.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date
from typing import Any, Generator, Iterator

from assistant import prompts
from assistant.addressed import without_notes_to_ai
from assistant.citations import Claim, check_claims, quotes_for, split_claims
from assistant.embedder import Embedder, load_ms
from assistant.errors import InvalidQuestion
from assistant.evidence import Decision, Evidence, make_reader
from assistant.extractive import ExtractiveAnswerer
from assistant.llm import LLM, Messages, make_llm
from assistant.question import time_window, wants_recent
from assistant.retrieval import Filters, HybridRetriever, Retriever
from assistant.settings import Settings
from assistant.store import Store
from assistant.text import long_date, sentence_spans
from assistant.types import Answer, Citation, Hit

REFUSAL = "Not in the sources: none of the ingested articles answers this question."
LLM_REFUSAL = "NOT IN SOURCES"
EMPTY = "Nothing is ingested yet: add articles with `assistant ingest PATH_OR_URL` first."
MAX_QUESTION_CHARS = 2000


def format_sources(sources: list[Hit]) -> str:
    """Numbered sources as delimited, quoted data. A source cannot close its own tag, and
    its notes addressed to AI systems are left out (``addressed``)."""
    blocks = []
    for n, h in enumerate(sources, start=1):
        body = without_notes_to_ai(h.chunk.text, sentence_spans(h.chunk.text))
        body = body.replace("</source", "</ source").replace("<source", "< source")
        title = h.title.replace('"', "'")
        date = f' published="{h.published}"' if h.published else ""
        blocks.append(f'<source id="{n}" title="{title}"{date}>\n{body}\n</source>')
    return "\n\n".join(blocks)


def fit_context(hits: list[Hit], budget: int) -> list[Hit]:
    """The best-ranked hits whose text fits in ``budget`` characters, in rank order; the
    first hit always goes in."""
    kept, used = [], 0
    for h in hits:
        size = len(h.chunk.text)
        if not kept or used + size <= budget:
            kept.append(h)
            used += size
    return kept


def evidence_first(hits: list[Hit], decision: Decision) -> list[Hit]:
    """The hits reordered for an LLM: those holding the best-scored sentences first (in
    the order of their best sentence), then the rest in rank order, so that the model
    reads the answer before the noise."""
    first = list(dict.fromkeys(c.source for c in decision.candidates))
    return [hits[n - 1] for n in first] + [h for i, h in enumerate(hits, start=1)
                                           if i not in first]


def build_messages(question: str, sources: list[Hit]) -> Messages:
    return [{"role": "system", "content": prompts.render("answer_system")},
            {"role": "user", "content": prompts.render("answer_user",
                                                        sources=format_sources(sources),
                                                        question=question)}]


def final_answer(pieces: Iterator[str | Answer]) -> Answer:
    """Run a stream to its end and return the Answer it closes with."""
    answer = None
    for piece in pieces:
        if isinstance(piece, Answer):
            answer = piece
    if answer is None:
        raise RuntimeError("the answer stream ended without an Answer")
    return answer


class Numbering:
    """Numbers the sources an answer cites 1..n, in the order they are first cited (the
    retriever's order would leave gaps: an answer citing [2] and [3] with no [1])."""

    def __init__(self) -> None:
        self.order: list[int] = []  # retrieval numbers, in order of first citation

    def __call__(self, nums: tuple[int, ...]) -> tuple[int, ...]:
        for n in nums:
            if n not in self.order:
                self.order.append(n)
        return tuple(self.order.index(n) + 1 for n in nums)

    def sources(self, hits: list[Hit]) -> list[Hit]:
        """The hits renumbered: cited ones first, in citation order, then the rest."""
        rest = [h for i, h in enumerate(hits, start=1) if i not in self.order]
        return [hits[n - 1] for n in self.order] + rest


class Answerer:
    """Runs the read side for one store and one configured backend."""

    def __init__(self, store: Store, settings: Settings, embedder: Embedder, *,
                 llm: LLM | None = None, retriever: Retriever | None = None) -> None:
        self.store = store
        self.settings = settings
        self.retriever = retriever or HybridRetriever(store)
        self.llm = llm if llm is not None else make_llm(settings)
        self.evidence = Evidence(embedder, stored=store.sentence_vectors)
        self.evidence.use_reader(make_reader(settings, self.evidence.params))
        self.extractive = ExtractiveAnswerer(self.evidence.params.answer_at)
        self.backend = self.llm.name if self.llm else "extractive"

    # --- public -------------------------------------------------------------------------
    def ask(self, question: str, **filters: Any) -> Answer:
        return final_answer(self.stream(question, **filters))

    def stream(self, question: str, **filters: Any) -> Iterator[str | Answer]:
        """Yield checked answer text as it is produced (a sentence at a time), then the
        final Answer. An answer to a time-sensitive question ("this week", "recently")
        ends by saying which date its facts are from."""
        question = self._check_question(question)
        given = Filters(**filters) if filters else None  # every date checked, or one line
        as_of = (given.as_of if given else None) or date.today().isoformat()
        timely = wants_recent(question) or time_window(question, as_of) is not None
        for piece in self._stream(question, given):
            dates = [c.published for c in piece.citations if c.published] if isinstance(
                piece, Answer) and not piece.refused and timely else []
            if dates:
                note = f" (As of {long_date(max(dates))}, the date of the newest source.)"
                yield note
                piece = replace(piece, text=piece.text + note, as_of=max(dates))
            yield piece

    def _stream(self, question: str, filters: Filters | None) -> Iterator[str | Answer]:
        t0, loaded = time.perf_counter(), load_ms()
        hits = self.retriever.search(question, self.settings.top_k, filters)
        load = load_ms() - loaded  # a first question loads the embedder: not search time
        timings = {"retrieve_ms": (time.perf_counter() - t0) * 1000 - load}
        if load:
            timings["load_ms"] = load
        if not hits and self.store.document_count() == 0:
            yield from self._refuse(hits, timings, "empty", EMPTY)
            return
        t1 = time.perf_counter()
        # Each document's text is read once per answer, and only for the hits used.
        docs = {d: self.store.get(d).text for d in dict.fromkeys(h.chunk.doc_id for h in hits)}
        decision = self.evidence.decide(question, hits, docs)
        if decision.refusal and self.llm is not None and decision.refusal != "name_missing" \
                and decision.candidates and decision.best >= self.evidence.params.gate:
            decision = replace(decision, refusal=None)  # the LLM reads it: it reads better
        if decision.refusal:
            yield from self._refuse(hits, timings, decision.refusal, t1=t1,
                                    detail=decision.detail)
            return
        if self.llm is None:
            yield from self._extractive_stream(decision, hits, question, timings=timings,
                                               t1=t1)
            return
        given = fit_context(evidence_first(hits, decision),  # [n] numbers these
                            self.settings.llm_context_chars)
        numbering = Numbering()
        claims, said = yield from self._llm_claims(question, given, numbering)
        answer = self._assemble(claims, given, docs, timings=timings, numbering=numbering)
        if answer.refused and not said and self.settings.llm_fallback and (
                decision.best >= self.evidence.params.confident_at):
            # The LLM declined, yet a sentence answers the question with high confidence:
            # quote it.
            for piece in self._extractive_stream(decision, hits, question, timings=timings,
                                                 t1=t1):
                yield replace(piece, backend=f"extractive ({self.backend} declined)") if (
                    isinstance(piece, Answer)) else piece
            return
        timings["answer_ms"] = (time.perf_counter() - t1) * 1000
        yield answer

    # --- steps --------------------------------------------------------------------------
    def _refuse(self, hits: list[Hit], timings: dict[str, float], code: str,
                text: str = REFUSAL, *, t1: float | None = None,
                detail: str = "") -> Iterator[str | Answer]:
        """A refusal made without calling any backend."""
        timings["answer_ms"] = (time.perf_counter() - t1) * 1000 if t1 else 0.0
        yield text
        yield Answer.refusal(text, hits, code=code, detail=detail, backend=self.backend,
                             timings=timings)

    @staticmethod
    def _check_question(question: object) -> str:
        if not isinstance(question, str):
            raise InvalidQuestion(f"the question must be text (str), not "
                                  f"{type(question).__name__}; decode bytes first")
        try:
            question.encode("utf-8")
        except UnicodeEncodeError as e:  # lone surrogates: undecodable bytes from argv
            raise InvalidQuestion(f"the question is not valid text (an undecodable byte at "
                                  f"character {e.start}); check the terminal's encoding "
                                  "(UTF-8) and type it again") from None
        if not question.strip():
            raise InvalidQuestion(f"the question is empty: {question!r}")
        if len(question) > MAX_QUESTION_CHARS:
            raise InvalidQuestion(f"the question is {len(question)} characters long; the "
                                  f"limit is {MAX_QUESTION_CHARS}")
        return question.strip()

    def _extractive_stream(self, decision: Decision, hits: list[Hit], question: str, *,
                           timings: dict[str, float], t1: float) -> Iterator[str | Answer]:
        answer, sentences = self._extractive(decision, hits, question)
        timings["answer_ms"] = (time.perf_counter() - t1) * 1000
        answer.timings.update(timings)
        for i, sentence in enumerate(sentences):  # a sentence at a time, as an LLM's
            yield sentence if i == len(sentences) - 1 else sentence + " "
        yield answer

    def _extractive(self, decision: Decision, hits: list[Hit],
                    question: str) -> tuple[Answer, list[str]]:
        """The extractive answer and its sentences, each with its ``[n]`` marker."""
        got = self.extractive.answer(decision, hits)
        # The extractive answer goes through the same check as an LLM's.
        claims = check_claims([(c.quote, (n,)) for n, c in got], hits, question)
        if not any(c.supported for c in claims):
            return Answer.refusal(REFUSAL, hits, code="unsupported",
                                  backend=self.backend), [REFUSAL]
        numbering = Numbering()
        sentences = [f"{c.quote} [{numbering((n,))[0]}]" for n, c in got]
        return Answer(text=" ".join(sentences), citations=[c for _, c in got], refused=False,
                      sources=numbering.sources(hits), backend=self.backend), sentences

    def _llm_claims(self, question: str, hits: list[Hit],
                    numbering: Numbering) -> Generator[str, None, tuple[list[Claim], bool]]:
        """Stream the LLM's answer; yield each sentence once it is complete and checked.
        Returns the checked claims (none if the LLM declined) and whether text was yielded."""
        assert self.llm is not None
        messages = build_messages(question, hits)
        buffer, done, claims, said = "", 0, [], False
        for token in self.llm.stream(messages):
            buffer += token
            parts = split_claims(buffer)
            # A sentence is complete once the next one has begun: its markers are in.
            complete = len(parts) - 1
            if parts and parts[-1][0].startswith("["):  # a marker still being written
                complete -= 1
            for piece in self._checked(parts[done:complete], hits, question,
                                       claims=claims, numbering=numbering):
                said = True
                yield piece
            done = max(done, complete)
        if LLM_REFUSAL in buffer.upper():
            return [], said
        for piece in self._checked(split_claims(buffer)[done:], hits, question,
                                   claims=claims, numbering=numbering):
            said = True
            yield piece
        return claims, said

    def _checked(self, parts: list[tuple[str, tuple[int, ...]]], hits: list[Hit],
                 question: str, *, claims: list[Claim],
                 numbering: Numbering) -> Iterator[str]:
        """Check each new sentence, add it to ``claims`` and yield what is to be shown."""
        for text, nums in parts:
            claim = check_claims([(text, nums)], hits, question)[0]
            if LLM_REFUSAL in claim.text.upper() or any(c.text == claim.text for c in claims):
                continue  # a refusal marker, or a sentence the model repeated
            claims.append(claim)
            if claim.supported or self.settings.unsupported == "flag":
                yield self._render(claim, numbering) + " "

    def _render(self, claim: Claim, numbering: Numbering) -> str:
        marks = "".join(f"[{n}]" for n in numbering(claim.sources))
        flag = "" if claim.supported else " [unsupported]"
        return f"{claim.text} {marks}{flag}".replace("  ", " ").strip()

    def _assemble(self, claims: list[Claim], hits: list[Hit], docs: dict[str, str], *,
                  timings: dict[str, float], numbering: Numbering) -> Answer:
        kept = [c for c in claims if c.supported or self.settings.unsupported == "flag"]
        if not any(c.supported for c in claims):
            code = "llm_declined" if not claims else "unsupported"
            return Answer.refusal(REFUSAL, hits, code=code, backend=self.backend,
                                  timings=timings)
        citations: list[Citation] = []
        for c in kept:
            if c.supported:
                for cite in quotes_for(c, hits, docs):
                    if cite not in citations:
                        citations.append(cite)
        text = " ".join(self._render(c, numbering) for c in kept)
        return Answer(text=text, citations=citations, refused=False,
                      sources=numbering.sources(hits), timings=timings, backend=self.backend)
