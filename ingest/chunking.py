"""Sentence-aware chunking with a token budget and overlap.

Chunks are *spans* of the document's text: ``doc.text[c.start:c.end] == c.text`` by
construction, so every citation made from a chunk can be checked against the document.
"""

from __future__ import annotations

import re

from assistant.text import add_trimmed, count_tokens, sentence_spans
from assistant.types import Chunk, Document

# A chunk's length in characters is bounded too: a token of prose is rarely longer than 8
# characters, so a text whose "tokens" are longer (no whitespace, a base64 blob) is cut by
# characters instead of becoming one huge chunk.
CHARS_PER_TOKEN = 8


def _split_long(text: str, start: int, end: int, budget: int,
                max_chars: int) -> list[tuple[int, int]]:
    """Cut a sentence over the token or character budget at word boundaries, and a word
    over the character budget wherever it reaches it."""
    pieces, cur, used = [], start, 0
    for m in re.finditer(r"\S+", text[start:end]):
        w_start, w_end = start + m.start(), start + m.end()
        n = count_tokens(m.group())
        if used and (used + n > budget or w_end - cur > max_chars):
            pieces.append((cur, w_start))
            cur, used = w_start, 0
        while w_end - cur > max_chars:  # one word longer than a chunk may be
            pieces.append((cur, cur + max_chars))
            cur, used = cur + max_chars, 0
        used += n
    pieces.append((cur, end))
    out: list[tuple[int, int]] = []
    for s, e in pieces:
        add_trimmed(text, s, e, out)
    return out


def chunk_spans(text: str, max_tokens: int = 160, overlap: int = 32) -> list[tuple[int, int]]:
    """Greedily pack whole sentences into spans of at most ``max_tokens`` (and at most
    ``max_tokens * CHARS_PER_TOKEN`` characters); each new span starts with the previous
    span's trailing sentences worth at most ``overlap`` tokens."""
    if overlap >= max_tokens:
        raise ValueError(f"overlap ({overlap}) must be smaller than max_tokens ({max_tokens})")
    max_chars = max_tokens * CHARS_PER_TOKEN
    sents: list[tuple[int, int, int]] = []
    for s, e in sentence_spans(text):
        n = count_tokens(text[s:e])
        if n > max_tokens or e - s > max_chars:
            sents += [(a, b, count_tokens(text[a:b])) for a, b in _split_long(
                text, s, e, max_tokens, max_chars)]
        else:
            sents.append((s, e, n))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(sents):
        j, used = i, 0
        while j < len(sents) and (j == i or (used + sents[j][2] <= max_tokens and
                                             sents[j][1] - sents[i][0] <= max_chars)):
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
