"""Domain types: the few objects that flow through the system.

Data flows one way: source -> Document -> Chunks -> index -> retrieved chunks -> Answer.
The invariant everywhere: ``document.text[x.start:x.end] == x.text`` for a chunk and
``== x.quote`` for a citation.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from assistant.text import parse_day


def content_hash(*parts: str, length: int = 16) -> str:
    """A short, stable hex id made from the given strings."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:length]


def link_of(uri: str, url: object = None) -> str | None:
    """The link people follow to a document: the URL it names for itself (front matter
    ``url``, a JSONL ``url``, an HTML file's ``<link rel=canonical>``), else its uri when
    that is a web address; None for a local file that names none. Only http(s)."""
    for candidate in (url, uri):
        if isinstance(candidate, str) and candidate.lower().startswith(("http://", "https://")):
            return candidate
    return None


@dataclass(frozen=True)
class Document:
    """One article, kept whole. ``id`` is the hash of its cleaned text; ``uri`` says where
    it came from (canonical URL or resolved file path, with ``#line`` for JSONL rows)."""

    id: str
    uri: str
    title: str
    text: str
    published: str | None = None  # ISO date (YYYY-MM-DD) when known
    meta: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def make(uri: str, title: str, text: str, *, published: str | None = None,
             meta: dict[str, Any] | None = None) -> "Document":
        return Document(content_hash(text), uri, title, text, published, dict(meta or {}))

    @property
    def url(self) -> str | None:
        """The document's link (``link_of``)."""
        return link_of(self.uri, self.meta.get("url"))

    def span(self, start: int, end: int) -> str:
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span [{start}:{end}] is outside document {self.id} "
                             f"of length {len(self.text)}")
        return self.text[start:end]

    def page_at(self, offset: int) -> int | None:
        """The 1-based PDF page holding ``offset``, when the document came from a PDF."""
        starts: list[int] = self.meta.get("page_starts") or []
        page = None
        for i, s in enumerate(starts):
            if s <= offset:
                page = i + 1
        return page


@dataclass(frozen=True)
class DocRecord:
    """A stored document's listing entry (no text)."""

    id: str
    uri: str
    title: str
    published: str | None
    chunks: int
    ingested_at: float
    source_hash: str
    url: str | None = None  # the link people follow (``link_of``)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "uri": self.uri, "url": self.url, "title": self.title,
                "published": self.published, "chunks": self.chunks,
                "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                             time.gmtime(self.ingested_at))}


UNDATED = 0  # the day number of a document without a publication date


def day_number(published: str | None) -> int:
    """An ISO day as a sortable integer (2026-05-08 -> 20260508); undated -> 0."""
    return int(published.replace("-", "")) if published else UNDATED


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval: ``uri`` is a prefix of the document uri; dates are ISO days."""

    uri: str | None = None
    published_after: str | None = None
    published_before: str | None = None
    as_of: str | None = None  # nothing published after this day; undated documents stay

    def __post_init__(self) -> None:
        for name in ("published_after", "published_before", "as_of"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, parse_day(v, name))

    @property
    def empty(self) -> bool:
        return not (self.uri or self.published_after or self.published_before or self.as_of)

    def days(self) -> tuple[int, int]:
        """The allowed publication days as an inclusive range of ``day_number``s, so that
        every index can apply it as one range clause: undated documents (day 0) are inside
        unless an after or before bound is given."""
        lo = day_number(self.published_after) if self.published_after else (
            1 if self.published_before else UNDATED)
        his = [day_number(d) for d in (self.published_before, self.as_of) if d]
        return lo, min(his, default=99991231)

    def admits(self, day: int, uri: str) -> bool:
        """Whether a document published on ``day`` (a day number) at ``uri`` passes."""
        lo, hi = self.days()
        return lo <= day <= hi and (not self.uri or uri.startswith(self.uri))


@dataclass(frozen=True)
class Chunk:
    """A span of a document's text; ``text == document.text[start:end]``."""

    id: str
    doc_id: str
    start: int
    end: int
    text: str

    @staticmethod
    def of(doc: Document, start: int, end: int) -> "Chunk":
        return Chunk(content_hash(doc.id, str(start), str(end)), doc.id, start, end,
                     doc.span(start, end))


def embedding_text(title: str, chunk: Chunk) -> str:
    """What is embedded for a chunk: its document's title, then its text."""
    return f"{title}\n{chunk.text}" if title else chunk.text


@dataclass(frozen=True)
class Citation:
    """The exact source words that support a claim; ``quote == document.text[start:end]``."""

    doc_id: str
    start: int
    end: int
    quote: str
    uri: str = ""
    title: str = ""
    published: str | None = None  # the source's publication date (ISO), when known
    url: str | None = None  # the link people follow (``link_of``)

    @staticmethod
    def of(hit: "Hit", start: int, end: int, quote: str) -> "Citation":
        """A citation of ``quote`` at [start:end] of the document ``hit`` came from."""
        return Citation(hit.chunk.doc_id, start, end, quote, hit.uri, hit.title,
                        hit.published, hit.url)

    @property
    def link(self) -> str:
        """What to show and link to: the document's URL, else its uri (a local path)."""
        return self.url or self.uri

    def to_dict(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "uri": self.uri, "url": self.url, "title": self.title,
                "published": self.published, "start": self.start, "end": self.end,
                "quote": self.quote}


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its scores and its document's metadata: ``score`` ranks
    hits (higher is better; a fused rank score for the hybrid retriever), ``similarity``
    is the question's cosine similarity to the chunk, when the retriever measured one."""

    chunk: Chunk
    score: float
    uri: str = ""
    title: str = ""
    published: str | None = None
    page: int | None = None
    similarity: float | None = None
    url: str | None = None  # the document's link (``link_of``)


# Why an answer is a refusal: a stable code (``Answer.refusal_code``) and the words shown
# to people (``Answer.refusal_reason``); ``{detail}`` is the missing name or kind of fact.
REFUSALS = {
    "empty": "Nothing is ingested yet.",
    "name_missing": "None of the articles mentions {detail}.",
    "no_relevant": "No passage of the articles answers this question.",
    "kind_absent": "The articles found on this give no {detail}.",
    "unsupported": "No sentence of the answer could be checked against its source.",
    "llm_declined": "The language model found no answer in the sources.",
}


@dataclass
class Answer:
    """What ``Assistant.ask`` returns."""

    text: str
    citations: list[Citation]
    refused: bool
    sources: list[Hit] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    backend: str = "extractive"
    refusal_reason: str | None = None  # why it refused, in words for people
    as_of: str | None = None  # for a time-sensitive question: the date its facts are from
    refusal_code: str | None = None  # why it refused: a key of REFUSALS

    @classmethod
    def refusal(cls, text: str, sources: list[Hit], *, code: str, backend: str,
                detail: str = "", timings: dict[str, float] | None = None) -> "Answer":
        """An answer that says the sources do not hold the answer, and why (``code``, a
        key of ``REFUSALS``, with ``detail`` filled in)."""
        return cls(text=text, citations=[], refused=True, sources=sources,
                   timings=dict(timings or {}), backend=backend, refusal_code=code,
                   refusal_reason=REFUSALS[code].format(detail=detail))

    def source_number(self, citation: Citation) -> int | None:
        """The ``[n]`` marker under which ``citation``'s source appears in the text."""
        for n, hit in enumerate(self.sources, start=1):
            c = hit.chunk
            if c.doc_id == citation.doc_id and c.start <= citation.start and citation.end <= c.end:
                return n
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.text, "refused": self.refused,
                "refusal_reason": self.refusal_reason, "refusal_code": self.refusal_code,
                "backend": self.backend,
                "as_of": self.as_of, "citations": [c.to_dict() for c in self.citations],
                "timings": dict(self.timings)}
