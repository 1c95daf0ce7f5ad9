"""Sentence-aware chunking with a token budget and overlap.

Chunks are *spans* of the document's text: ``doc.text[c.start:c.end] == c.text`` by
construction, so every citation made from a chunk can be checked against the document.
"""

from __future__ import annotations

import re

from assistant.types import Chunk, Document

# A sentence ends at . ! ? (plus closing quotes/brackets) followed by whitespace, or at a
# line break. Common abbreviations and initials do not end sentences.
_END = re.compile(r"([.!?][\"'\u201d\u2019)\]]*)\s+|\n+")
_ABBREV = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Inc|Ltd|Co|Corp|vs|etc|e\.g|i\.e|"
                     r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|No|Gov|Sen|Rep|Gen|"
                     r"Lt|Col|Capt|Sgt|Maj|Adm|Rev|Pres|Mt|Ft|Ave|Dept|"
                     r"U\.S|U\.K|U\.N|a\.m|p\.m)|"
                     r"\b[A-Z])\.$")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """Approximate word-piece count: words and punctuation, plus a share for long words
    that a word-piece tokenizer splits."""
    words = _TOKEN.findall(text)
    return len(words) + sum(len(w) // 8 for w in words)


def sentence_spans(text: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence in ``text[lo:hi]``, whitespace trimmed."""
    hi = len(text) if hi is None else hi
    spans: list[tuple[int, int]] = []
    start = lo
    for m in _END.finditer(text, lo, hi):
        end = m.end(1) if m.group(1) else m.start()  # closing quotes stay with the sentence
        dot = m.start() + 1
        if m.group(1) and _ABBREV.search(text, max(lo, dot - 6), dot):
            continue
        if end > start:
            _add(text, start, end, spans)
        start = m.end()
    if start < hi:
        _add(text, start, hi, spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


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
        _add(text, s, e, out)
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
