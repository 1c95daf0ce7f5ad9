"""What a question asks for, decided in one place from the words of ``assistant.text``:

- its kind: an amount, a count, a date, a person, an organisation, a place, yes/no or
  other (``question_kind``), and how well a sentence holds that kind (``fits``);
- its focus words (``focus_words``);
- the time it is about: "this week", "yesterday", "last month", "in 2025" resolved against
  the day it is asked (``time_window``), and whether it asks for the latest news
  (``wants_recent``).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from assistant.text import (QUESTION_WORDS, SPELLED, STOP, WORD, fold, name_words, quantities,
                            stems)

ROLES = (r"chief executive|ceo|president|prime minister|minister|founder|chair(?:man|woman)?"
         r"|director|head|leader|spokes(?:man|woman|person)|secretary|governor|mayor|author"
         r"|writer|actor|actress|singer|player|coach|manager|judge|senator|king|queen")
_PEOPLE = (rf"{ROLES}|person|people|official|member|star|athlete|rapper|musician|artist|"
           r"politician|lawmaker|candidate|justice|executive|billionaire|celebrity|comedian|"
           r"host|journalist|scientist|astronaut|lady|prince|princess|pope|man|woman|"
           r"quarterback|pitcher|golfer|driver|champion|winner")
_PLACES = r"city|country|state|place|region|town|continent|province|county|island|nation"
_ORGS = (r"company|firm|companies|competitors?|rivals?|brand|agency|organi[sz]ation|team|"
         r"group|bank|party|newspaper|network|film|movie|journal|startup|maker|retailer|"
         r"airline|automaker|university|school|club|league")
KINDS = ("amount", "count", "date", "person", "organisation", "place", "yesno", "other")


_NOUN_KINDS = [(kind, re.compile(rf"(?:{nouns})s?", re.I)) for kind, nouns in (
    ("person", _PEOPLE), ("place", _PLACES), ("organisation", _ORGS))]
_WHICH = [(re.compile(p, re.I), n) for p, n in ((r"\bname of(?: the)?\s+", 4),
                                                  (r"\bwhich\s+", 4), (r"\bwhat\s+", 1))]


def _which_kind(question: str) -> str | None:
    """The kind named by "which [up to three words] NOUN" ("which high-ranking US
    official": person), "name of the ... NOUN" or "what NOUN", from the first of those
    words that names one."""
    for pattern, n in _WHICH:
        for m in pattern.finditer(question):
            for word in question[m.end():].split()[:n]:
                for kind, noun in _NOUN_KINDS:
                    if noun.fullmatch(word.strip("?,.'’")):
                        return kind
    return None


_AMOUNT_NOUNS = (r"amount|percentage|share|sum|price|value|size|diameter|cost|population|"
                 r"rate|revenue|budget|worth|salary|valuation|market value|market cap\w*")
_KIND_RULES = [  # the rule matching earliest in the question wins; then "which NOUN"
    ("count", r"\bhow many\b|\bnumber of\b|\bwhat number\b"),
    ("date", r"\bwhen\b|\b(what|which) (year|date|day|month|time)\b|\bon what date\b|"
             r"\bby when\b|\bsince when\b|\bhow long ago\b|\bwhat (is|was) the .{0,30}"
             r"\bdeadline\b"),
    ("amount", r"\bhow (much|big|large|high|expensive|old|long|far|tall|fast|often|wide)\b|"
               rf"\bwhat(?: (?:is|was|are|were) (?:the |[\w.]+['’]s? )?(?:[\w-]+ ){{0,2}}?)?"
               rf"({_AMOUNT_NOUNS})\b|\bby (how much|what percentage)\b|"
               r"\bwhat (did|does) .{0,40}\bcost\b"),
    ("person", rf"\bwho(m|se)?\b|\bname of\b.{{0,40}}\b({ROLES})\b"),
    ("place", r"\bwhere\b"),
]
_YESNO = re.compile(r"(is|are|was|were|did|does|do|can|could|will|has|have|had|should)\b",
                    re.I)
_KIND_PATTERNS = [(k, re.compile(p, re.I)) for k, p in _KIND_RULES]
_ROLE_VERBS = {"lead", "leads", "led", "leading", "head", "heads", "headed", "run", "runs",
               "ran", "chair", "chairs", "chaired", "found", "founded", "own", "owns"}
# Words that only say what kind of answer is wanted: not focus words.
_KIND_WORDS = {"much", "many", "big", "large", "high", "expensive", "old", "long", "far",
               "tall", "fast", "often", "wide", "number", "name", "amount", "year", "date",
               "day", "month", "time", "city", "country", "place", "person", "kind", "type"}


def question_kind(question: str) -> str:
    """What ``question`` asks for: one of ``KINDS``."""
    q = question.strip()
    found = [(m.start(), kind) for kind, pattern in _KIND_PATTERNS if (m := pattern.search(q))]
    if found:
        return min(found)[1]
    if named := _which_kind(q):
        return named
    return "yesno" if _YESNO.match(q) else "other"


def focus_words(question: str) -> set[str]:
    """Stems of the words a question is about: its content words, without the words
    that only say what kind of answer is wanted ("much", "name", "year"; for a question
    about a person, the verbs of a role: "who leads X" asks for X's leader, whom a source
    names as "chief executive")."""
    skip = _KIND_WORDS | (_ROLE_VERBS if question_kind(question) == "person" else set())
    return stems(" ".join(w for w in WORD.findall(fold(question)) if w not in skip))


_RUN = re.compile(r"\b[A-Z][a-z'’\-]+(?:\s+(?:[A-Z]\.\s+)?[A-Z][a-z'’\-]+)+")
# Last words of names that are not people's: organisations, places, events, works.
_NOT_PERSON = re.compile(
    r"(Group|Inc|Corp|Company|Co|Association|Bank|Party|University|College|Museum|Institute|"
    r"Agency|Department|Ministry|Committee|Council|Commission|Foundation|Service|Network|"
    r"Times|News|Post|Journal|Awards?|Games|Olympics|Cup|League|Club|Street|Avenue|River|"
    r"Lake|City|County|State|States|Kingdom|Union|House|Center|Centre|Hotel|Palace|Abbey|"
    r"Garden|Square|Hall|Stadium|Court|Republic|Airlines?|Motors|Systems|Technologies|"
    r"Labs?|Studios?|Pictures|Records|Act|Bill|Day|Week|Moon|Sea|Ocean|Mountains?|Island|"
    r"Valley|Park|Bridge|Station|Airport|Mall|Festival|Show|Series|Prize|Index|Exchange|"
    r"Fund|Capital|Holdings|Partners|Ventures|Media|Press|Intelligence|Cloud|Team)['’]?s?")
_MONTH_OR_DAY = re.compile(r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|"
                           r"Thu|Fri|Sat|Sun)[a-z]*")


def person_names(text: str) -> list[str]:
    """Runs of capitalised words that look like a person's name ("Eddie Wu", "Jessie
    Buckley"): at least two words once leading function words, months and days are set
    aside, the last not naming an organisation, a place or an event ("Alibaba Group")."""
    out = []
    for m in _RUN.finditer(text):
        words = m.group().split()
        while words and (words[0].lower() in QUESTION_WORDS or words[0].lower() in STOP
                         or _MONTH_OR_DAY.fullmatch(words[0])):
            words.pop(0)
        if len(words) >= 2 and not _NOT_PERSON.fullmatch(words[-1]) and not any(
                _MONTH_OR_DAY.fullmatch(w) for w in words):
            out.append(" ".join(words))
    return out


_ROLE = re.compile(rf"\b({ROLES}|led by|headed by|founded by|according to)\b", re.I)
_PLACE = re.compile(r"\b(in|at|from|near|to)\s+(the\s+)?[A-Z][a-z]+")
_WHEN = re.compile(r"\b((mon|tues|wednes|thurs|fri|satur|sun)day|yesterday|today|"
                   r"tonight|last (week|month|year)|this (week|month|year))\b", re.I)


def fits(kind: str, sentence: str) -> float:
    """How well ``sentence`` holds the kind of fact a question asks for: 1 it states one,
    0.5 it may, 0 it does not; questions without a kind are fitted by anything."""
    if kind in ("yesno", "other"):
        return 1.0
    found = {q.kind for q in quantities(sentence)}
    if kind == "amount":
        # money, a percentage, or a number with its unit ("1.5 million kilometres")
        return 1.0 if found & {"money", "percent", "count"} else 0.5 if "number" in found or \
            SPELLED.search(sentence) else 0.0
    if kind == "count":
        return 1.0 if found & {"count", "number"} or SPELLED.search(sentence) else 0.0
    if kind == "date":
        return 1.0 if "date" in found else 0.7 if "year" in found or _WHEN.search(
            sentence) else 0.0
    names = name_words(sentence)
    if kind == "person":
        return 1.0 if person_names(sentence) else 0.5 if names and _ROLE.search(
            sentence) else 0.0
    if kind == "place":
        return 1.0 if _PLACE.search(sentence) else 0.5 if names else 0.0
    return 1.0 if names else 0.0  # organisation


# --- the time a question is about ----------------------------------------------------
_RELATIVE = [  # (pattern, days back from the as-of day to the window's start, to its end)
    (r"\btoday\b|\btonight\b|\bthis (morning|afternoon|evening)\b", 1, 0),
    (r"\byesterday\b|\blast night\b", 2, 0),
    (r"\bthis week(end)?\b|\bthe past (few )?days\b|\bthis past week(end)?\b", 7, 0),
    (r"\blast week(end)?\b|\bthe past week\b", 14, 0),
    (r"\bthis month\b|\bthe past (few )?weeks\b", 31, 0),
    (r"\blast month\b", 62, 0),
]
_RELATIVE_RE = [(re.compile(p, re.I), a, b) for p, a, b in _RELATIVE]
_THIS_YEAR = re.compile(r"\bthis year\b", re.I)
_LAST_YEAR = re.compile(r"\blast year\b", re.I)
_IN_YEAR = re.compile(r"\b(?:in|during|since|of)\s+((?:19|20)\d\d)\b")
_RECENT = re.compile(r"\b(recent(ly)?|latest|newest|current(ly)?|now|so far|new|just|"
                     r"this (week|month|year)|today|yesterday)\b", re.I)


def time_window(question: str, as_of: str) -> tuple[str, str] | None:
    """The publication days (first, last; ISO) the question's own time words point to,
    resolved against ``as_of``: "this week" asked on 2026-05-08 is 2026-05-01..2026-05-08;
    "in 2025" is that year. News about a day is published on it or soon after, so a
    window ends at the as-of day unless the question names a past year."""
    day = date.fromisoformat(as_of)
    for pattern, back, forward in _RELATIVE_RE:
        if pattern.search(question):
            return ((day - timedelta(days=back)).isoformat(),
                    (day - timedelta(days=forward)).isoformat())
    if _THIS_YEAR.search(question):
        return f"{day.year}-01-01", as_of
    if _LAST_YEAR.search(question):
        return f"{day.year - 1}-01-01", f"{day.year - 1}-12-31"
    if m := _IN_YEAR.search(question):
        year = int(m.group(1))
        return (f"{year}-01-01", min(as_of, f"{year}-12-31")) if year <= day.year else None
    return None


def wants_recent(question: str) -> bool:
    """Whether the question asks about the latest state of things ("recently", "now",
    "this week"): newer articles are preferred."""
    return bool(_RECENT.search(question))
