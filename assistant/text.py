"""Text as the read and write sides both see it: the one place that decides

- where a sentence ends (chunking, the extractive answerer and citation checking all split
  with ``sentence_spans``) and how long a text is in tokens;
- dates ("Sept. 20, 2025") and datelines;
- words: stop words, content words, stems;
- numbers with their units (money, percentages, dates, years, counts);
- names ("Alibaba", "U.S.", "Steven Soarez").

What a question asks for is decided beside it, in ``assistant.question``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from assistant.errors import InvalidDate

# ANSI escape sequences (CSI, OSC, two-byte): stripped whole from stored text and from
# what the terminal is shown, so no "[2J" residue is left.
ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_]?)")

# A sentence ends at . ! ? (plus closing quotes/brackets) followed by whitespace, or at a
# line break. Common abbreviations and initials do not end sentences.
# C0 and C1 controls and DEL; ESC sequences are removed whole (ANSI_ESCAPE).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe(text: str, lines: bool = False) -> str:
    """``text`` fit for a terminal or a log line: ANSI escape sequences removed and every
    other control character shown as an escape (``\\n``, ``\\x07``), on one line, or
    keeping its line breaks when ``lines`` is true. The one function every message that
    carries a stored name or text goes through (CLI, REPL, logs)."""
    text = ANSI_ESCAPE.sub("", text)
    return _CONTROL.sub(lambda m: m.group() if lines and m.group() == "\n" else
                        repr(m.group())[1:-1], text)


def plural(n: int, word: str) -> str:
    """"1 chunk", "8 chunks"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


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
_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"]
_MONTH = {m[:3].lower(): i for i, m in enumerate(_MONTH_NAMES, start=1)}
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
            try:  # a calendar day only: never 30 February
                if 1900 <= year <= 2100:
                    found.append((match.start(), date(year, mo, day).isoformat()))
            except ValueError:
                pass
    return min(found)[1] if found else None


_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse_day(value: object, what: str = "the date") -> str:
    """A day that a person typed (``--as-of``, ``/asof``, an API's ``as_of``), checked: the
    one parser of every date the assistant is given. Returns it as YYYY-MM-DD; anything
    else raises ``InvalidDate`` naming ``what``, the value and the format expected."""
    shown = repr(value) if not isinstance(value, str) else repr(value[:40])
    expected = "expected a day as YYYY-MM-DD, e.g. 2025-09-22"
    if not isinstance(value, str) or not (m := _ISO_DAY.fullmatch(value.strip())):
        raise InvalidDate(f"{what} {shown} is not a date: {expected}")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError as e:  # month 13, 30 February, year 0
        raise InvalidDate(f"{what} {shown} is not a calendar day ({e}): {expected}") from None


def long_date(iso: str) -> str:
    """"2026-05-08" -> "8 May 2026"."""
    y, m, d = (int(x) for x in iso.split("-"))
    return f"{d} {_MONTH_NAMES[m - 1]} {y}"


def dateline_date(text: str, lines: int = 8, width: int = 80) -> str | None:
    """A publication date on a short line of its own at the top of an article ("Sep 20,
    2025", "Updated June 9, 2025, 12:30 p.m. ET"), or None. A date inside the prose ("On
    March 3, 2020, the ...") is not a dateline."""
    for line in text.split("\n")[:lines]:
        if len(line) <= width and (found := iso_date(line)):
            return found
    return None


# --- words -------------------------------------------------------------------------
# Function words: never content, never names. The one list (citations, the extractive
# answerer, question analysis and follow-up rewriting read it).
STOP = frozenset("""a an and are as at be been but by can could did do does for from had has
have how i if in into is it its of on or our should that the their them then there these
they this those to was were what when where which who whom whose why will with would you
your about after also than over more most much many such said says say not no yes he she
we his her him us my me so any all some""".split())
# Words that open a question or a clause and are capitalised only by position.
QUESTION_WORDS = frozenset("""how what who whom whose when where which why is are was were
did does do can could will would has have had should in on at after before since during
according the a an this that these those i and what's who's however while although as
it its they he she we not some most chief revenue over more""".split())
WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower case with typographic apostrophes made plain, for matching words."""
    return text.replace("’", "'").replace("‘", "'").lower()


def content_words(text: str) -> set[str]:
    return {w for w in WORD.findall(fold(text)) if w not in STOP and len(w) > 1}


def search_terms(text: str) -> list[str]:
    """The words a lexical search looks for: every word of any script, folded, without
    function words (stemming is the index's own)."""
    return sorted({w for w in re.findall(r"\w+", fold(text))
                   if w not in STOP and (len(w) > 1 or w.isdigit())})


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def stems(text: str) -> set[str]:
    """Stems of the content words ("investments" and "invested" share "invest")."""
    return set(_stemmer().stemWords(sorted(content_words(text))))


# --- numbers with their units ---------------------------------------------------------
_NUM = r"\d+(?:[.,]\d+)*"
NUMBER = re.compile(_NUM)
_SCALE = r"(?:thousand|million|billion|trillion|bn|mn)\b"
_CURRENCY = r"(?:yuan|renminbi|dollars?|euros?|pounds?|yen|rupees?|won|francs?|pesos?)\b"
_QUANTITY = re.compile(
    rf"(?P<cur>US\$|[$€£¥])?\s?(?P<num>\d+(?:[.,:]\d+)*)(?:\s?(?P<scale>{_SCALE}))?"
    rf"(?:\s?(?P<unit>%|percent\b|per cent\b|{_CURRENCY}))?", re.I)
_DAY_DATES = [re.compile(p, re.I) for p in (
    rf"\b{_MONTH_NAME}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b",
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH_NAME}\b\.?(?:,?\s+\d{{4}})?",
    r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}\b")]
SPELLED = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                     r"dozens?|hundreds|thousands|millions|billions|half|twice)\b", re.I)


@dataclass(frozen=True)
class Quantity:
    """A number as the text states it: ``kind`` is money, percent, date, year, count or
    number; ``value`` the number normalised ("1,000" -> "1000")."""

    kind: str
    text: str
    start: int
    end: int
    value: str


def norm_number(s: str) -> str:
    """"1,000" -> "1000", "5.00" -> "5", "3.50" -> "3.5"."""
    s = s.replace(",", "").rstrip(".")
    return s.rstrip("0").rstrip(".") if "." in s else s


def numbers(text: str) -> set[str]:
    """Every number of ``text``, normalised (dates and years included)."""
    return {norm_number(n) for n in NUMBER.findall(text)}


def quantities(text: str) -> list[Quantity]:
    """Dates ("Sept. 20, 2025", "March 23", "20/09/2025"), money ("$2.8 billion", "380
    billion yuan"), percentages ("26%"), years, counts ("41 cruise ships") and bare
    numbers, in text order."""
    out: list[Quantity] = []
    taken: list[tuple[int, int]] = []
    for pattern in _DAY_DATES:
        for m in pattern.finditer(text):
            if not any(a < m.end() and m.start() < b for a, b in taken):
                taken.append((m.start(), m.end()))
                out.append(Quantity("date", m.group().rstrip("."), m.start(), m.end(),
                                    norm_number(NUMBER.findall(m.group())[0])))
    for m in _QUANTITY.finditer(text):
        if any(a <= m.start("num") < b for a, b in taken):
            continue
        num, unit = m.group("num"), (m.group("unit") or "").lower()
        if m.group("cur") or re.fullmatch(_CURRENCY, unit):
            kind = "money"
        elif unit in ("%", "percent", "per cent"):
            kind = "percent"
        elif re.fullmatch(r"(19|20)\d\d", num) and not m.group("scale"):
            kind = "year"
        elif m.end() < len(text) and re.match(r"\s?[a-z]{3,}", text[m.end():]) or m.group(
                "scale"):
            kind = "count"
        else:
            kind = "number"
        start = m.start("cur") if m.group("cur") else m.start("num")
        out.append(Quantity(kind, text[start:m.end()].strip(), start, m.end(),
                            norm_number(num)))
    return sorted(out, key=lambda q: q.start)


# --- names ---------------------------------------------------------------------------
_CAPITAL = re.compile(r"\b(?:[A-Z]\.){2,}|\b[A-Z][\w'’\-]*(?:\.(?=[A-Z]))?")
_POSSESSIVE = re.compile(r"['’]s?$")


def name_words(text: str, *, short_acronyms: bool = True, openers: bool = False) -> list[str]:
    """The words of proper names in ``text`` ("Alibaba", "U.S.", "Pinduoduo", "De"):
    capitalised words that are not function or question words, without possessive "'s".
    A capitalised word opening a sentence counts only when it is not an ordinary word
    ("Approximately", "Investing"): it must be capitalised again elsewhere in ``text``
    or be one of several capitalised words in a row. ``short_acronyms=False`` leaves out
    acronyms of up to 3 letters (AI, US, EU), which sources often spell another way;
    ``openers=True`` counts every capitalised word that opens a sentence."""
    out: list[str] = []
    matches = list(_CAPITAL.finditer(text))
    for i, m in enumerate(matches):
        w = _POSSESSIVE.sub("", m.group())
        if not w or w.lower() in STOP or w.lower() in QUESTION_WORDS:
            continue
        if not short_acronyms and re.fullmatch(r"[A-Z]{1,3}|(?:[A-Z]\.){1,3}", w):
            continue
        before = text[:m.start()].rstrip()
        opens = not before or before[-1] in ".?!:\"“\n"
        if opens and w[1:].islower() and not openers:
            follows = i + 1 < len(matches) and text[m.end():matches[i + 1].start()] == " "
            again = any(x.group() == m.group() for x in matches[i + 1:])
            if not (follows or again):
                continue
        out.append(w)
    return out


def mentions(text: str, name: str) -> bool:
    """Whether ``text`` mentions ``name``; a compound ("Texas-Mexico") is mentioned when
    each of its parts is, a plural ("BAFTAs") when its singular is."""
    folded = fold(text)
    return all(fold(part) in folded or (len(part) > 3 and part.endswith("s") and
                                        fold(part[:-1]) in folded)
               for part in name.split("-") if part)
