"""Text as the read and write sides both see it: sentences and token counts.

The one place that decides where a sentence ends (chunking, the extractive answerer and
citation checking all split with ``sentence_spans``) and how long a text is in tokens.
"""

from __future__ import annotations

import re

# ANSI escape sequences (CSI, OSC, two-byte): stripped whole from stored text and from
# what the terminal is shown, so no "[2J" residue is left.
ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_]?)")

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


# --- dates ---------------------------------------------------------------------------
_MONTH = {m[:3]: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
_MONTH_NAME = (r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
               r"Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_DATES = [  # (pattern, order of (year, month, day) groups)
    (re.compile(rf"\b{_MONTH_NAME}\.?\s+(\d{{1,2}}),?\s+(\d{{4}})\b"), (3, 1, 2)),
    (re.compile(rf"\b(\d{{1,2}})\s+{_MONTH_NAME}\.?,?\s+(\d{{4}})\b"), (3, 2, 1)),
    (re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b"), (1, 2, 3)),
]


def iso_date(value: str) -> str | None:
    """The first date in ``value`` as YYYY-MM-DD ("Sept. 20, 2025", "20 September 2025",
    "2025-09-20", "2025/09/20"), or None."""
    found = []
    for pattern, (y, m, d) in _DATES:
        match = pattern.search(value or "")
        if match:
            month = match.group(m)
            mo = int(month) if month.isdigit() else _MONTH[month[:3].lower()]
            year, day = int(match.group(y)), int(match.group(d))
            if 1 <= mo <= 12 and 1 <= day <= 31 and 1900 <= year <= 2100:
                found.append((match.start(), f"{year:04d}-{mo:02d}-{day:02d}"))
    return min(found)[1] if found else None


def dateline_date(text: str, lines: int = 8, width: int = 80) -> str | None:
    """A publication date on a short line of its own at the top of an article ("Sep 20,
    2025", "Updated June 9, 2025, 12:30 p.m. ET"), or None. A date inside the prose ("On
    March 3, 2020, the ...") is not a dateline."""
    for line in text.split("\n")[:lines]:
        if len(line) <= width and (found := iso_date(line)):
            return found
    return None
