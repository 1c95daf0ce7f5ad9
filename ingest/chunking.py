"""Sentence-aware chunking with a token budget and overlap.

Chunks are *spans* of the document's text: ``doc.text[c.start:c.end] == c.text`` by
construction, so every citation made from a chunk can be checked against the document.
"""

from __future__ import annotations

import re

from assistant.text import add_trimmed, count_tokens, sentence_spans
from assistant.types import Chunk, Document

def _split_long(text: str, start: int, end: int, budget: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than the budget at word boundaries."""
    pieces, cur, used = [], start, 0
    for m in re.finditer(r"\S+", text[start:end]):
        n = count_tokens(m.group())
        if used and used + n > budget:
            pieces.append((cur, start + m.start()))
            cur, used = start + m.start(), 0
        used += n
    pieces.append((cur, end))
    out: list[tuple[int, int]] = []
    for s, e in pieces:
        add_trimmed(text, s, e, out)
    return out


def chunk_spans(text: str, max_tokens: int = 160, overlap: int = 32) -> list[tuple[int, int]]:
    """Greedily pack whole sentences into spans of at most ``max_tokens``; each new span
    starts with the previous span's trailing sentences worth at most ``overlap`` tokens."""
    if overlap >= max_tokens:
        raise ValueError(f"overlap ({overlap}) must be smaller than max_tokens ({max_tokens})")
    sents: list[tuple[int, int, int]] = []
    for s, e in sentence_spans(text):
        n = count_tokens(text[s:e])
        if n > max_tokens:
            sents += [(a, b, count_tokens(text[a:b])) for a, b in _split_long(text, s, e,
                                                                              max_tokens)]
        else:
            sents.append((s, e, n))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(sents):
        j, used = i, 0
        while j < len(sents) and (j == i or used + sents[j][2] <= max_tokens):
            used += sents[j][2]
            j += 1
        spans.append((sents[i][0], sents[j - 1][1]))
        if j >= len(sents):
            break
        back, k = 0, j
        while k - 1 > i and back + sents[k - 1][2] <= overlap:
            k -= 1
            back += sents[k][2]
        i = k
    return spans


def chunk_document(doc: Document, max_tokens: int = 160, overlap: int = 32) -> list[Chunk]:
    return [Chunk.of(doc, s, e) for s, e in chunk_spans(doc.text, max_tokens, overlap)]
