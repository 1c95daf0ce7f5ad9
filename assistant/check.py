"""What ``Store.check`` finds: the consistency report of a home."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CheckReport:
    """What ``Store.check`` found; empty lists mean consistent."""

    documents: int = 0
    chunks: int = 0
    vectors: int = 0
    rows_without_vectors: list[str] = field(default_factory=list)   # chunk ids
    orphan_vectors: list[str] = field(default_factory=list)         # vector ids
    documents_without_chunks: list[str] = field(default_factory=list)
    bad_spans: list[str] = field(default_factory=list)              # chunk ids
    pending_writes: list[str] = field(default_factory=list)         # uris
    lexical: str | None = None  # a disagreement of the lexical index, if any
    # chunk ids whose sentences have no stored vectors (a home made before they were)
    rows_without_sentences: list[str] = field(default_factory=list)
    repaired: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.rows_without_vectors or self.orphan_vectors or self.bad_spans or
                    self.documents_without_chunks or self.pending_writes or self.lexical or
                    self.rows_without_sentences)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "documents": self.documents, "chunks": self.chunks,
                "vectors": self.vectors, "rows_without_vectors": self.rows_without_vectors,
                "orphan_vectors": self.orphan_vectors,
                "documents_without_chunks": self.documents_without_chunks,
                "bad_spans": self.bad_spans, "pending_writes": self.pending_writes,
                "lexical": self.lexical,
                "rows_without_sentences": len(self.rows_without_sentences),
                "repaired": self.repaired}

    def summary(self) -> str:
        head = (f"{self.documents} documents, {self.chunks} chunk rows, "
                f"{self.vectors} vectors: ")
        problems = [f"{len(v)} {k.replace('_', ' ')}" for k, v in (
            ("rows_without_vectors", self.rows_without_vectors),
            ("orphan_vectors", self.orphan_vectors),
            ("documents_without_chunks", self.documents_without_chunks),
            ("bad_spans", self.bad_spans), ("pending_writes", self.pending_writes),
            ("rows_without_sentence_vectors", self.rows_without_sentences)) if v]
        if self.lexical:
            problems.append(f"lexical index: {self.lexical}")
        text = head + ("consistent" if not problems else "; ".join(problems))
        if self.repaired:
            text += " (repaired: " + ", ".join(f"{k} {v}" for k, v in self.repaired.items()) \
                + ")"
        return text
