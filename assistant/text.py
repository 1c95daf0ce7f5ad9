"""Text as the read and write sides both see it: sentences and token counts.

The one place that decides where a sentence ends (chunking, the extractive answerer and
citation checking all split with ``sentence_spans``) and how long a text is in tokens.
"""

from __future__ import annotations

import re

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
            add_trimmed(text, start, end, spans)
        start = m.end()
    if start < hi:
        add_trimmed(text, start, hi, spans)
    return spans


def add_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    """Append (start, end) to ``spans`` with surrounding whitespace trimmed, if anything
    is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
