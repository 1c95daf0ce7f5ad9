"""Citation checking: every claim must point at source words that hold its key facts.

An answer's text carries markers ``[n]`` naming numbered sources. ``verify`` keeps only
markers of sources that were given, checks each sentence's key facts (numbers, amounts,
dates, names) against the text of its cited sources, and picks as the quote the source
sentence(s) that best support the claim, so that ``doc.text[start:end] == quote``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.addressed import addresses_ai, without_notes_to_ai
from assistant.types import Citation, Hit
from assistant.text import (NUMBER, content_words, mentions, name_words, norm_number, numbers,
                           sentence_spans)

MARKER = re.compile(r"\s*\[(?:sources?\s*)?(\d+(?:\s*,\s*\d+)*)\]", re.I)
_LEAD_MARKERS = re.compile(rf"(?:{MARKER.pattern})+", re.I)


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer, its cited source numbers and whether it is supported."""

    text: str
    sources: tuple[int, ...]
    supported: bool
    missing: tuple[str, ...] = ()


def _windows(sents: list[tuple[int, int]], pairs: bool = True) -> list[tuple[int, int]]:
    """Each sentence span and, with ``pairs``, each two adjacent ones joined."""
    return sents + ([(a[0], b[1]) for a, b in zip(sents, sents[1:])] if pairs else [])


def key_facts(sentence: str) -> list[str]:
    """Numbers (dates and years included) and proper names a sentence asserts: what must
    appear in its source."""
    return [norm_number(n) for n in NUMBER.findall(sentence)] + name_words(sentence)


def question_entities(question: str) -> list[str]:
    """Names a question is about ("Alibaba", "Webb", "FIFA"). Acronyms of up to 3 letters
    (AI, US, EU) are left out: sources often spell them another way."""
    return name_words(question, short_acronyms=False)


def missing_entities(question: str, text: str) -> list[str]:
    """Names of the question that ``text`` never mentions."""
    return [e for e in question_entities(question) if not mentions(text, e)]


def supports(facts: list[str], source: str) -> list[str]:
    """The facts *not* found in ``source`` (empty list = supported)."""
    found = numbers(source)
    return [f for f in facts if (norm_number(f) not in found if f[0].isdigit() else
                                 not mentions(source, f))]


def split_claims(answer: str) -> list[tuple[str, tuple[int, ...]]]:
    """Split an LLM answer into sentences with the source numbers each cites. Markers at
    the start of a sentence belong to the sentence before it."""
    parts: list[tuple[str, tuple[int, ...]]] = []
    for s, e in sentence_spans(answer):
        sent = answer[s:e]
        nums = tuple(int(n) for group in MARKER.findall(sent) for n in re.split(r"\s*,\s*",
                                                                                 group))
        lead = _LEAD_MARKERS.match(sent)
        if lead and parts:  # "... sentence. [2][3] Next one": [2][3] belong before
            prev_text, prev_nums = parts[-1]
            lead_nums = tuple(int(n) for group in MARKER.findall(lead.group())
                              for n in re.split(r"\s*,\s*", group))
            parts[-1] = (prev_text, prev_nums + lead_nums)
            sent = sent[lead.end():]
            nums = nums[len(lead_nums):]
        text = MARKER.sub("", sent).strip()
        if text:
            parts.append((text, nums))
    return parts


def readable(hit: Hit) -> str:
    """A source's text as support: without its notes addressed to AI systems, which
    support nothing (``addressed``)."""
    return without_notes_to_ai(hit.chunk.text, sentence_spans(hit.chunk.text))


def best_quote(claim: str, hit: Hit, doc_text: str, max_sentences: int = 2) -> Citation:
    """The sentence (or two adjacent sentences) of ``hit`` that best support ``claim``;
    never a note addressed to an AI system."""
    facts = [f.lower() for f in key_facts(claim)]
    words = content_words(claim)
    sents = [(s, e) for s, e in sentence_spans(doc_text, hit.chunk.start, hit.chunk.end)
             if not addresses_ai(doc_text[s:e])]
    if not sents:
        sents = [(hit.chunk.start, hit.chunk.end)]

    def score(span: tuple[int, int]) -> tuple[int, int, int]:
        text = doc_text[span[0]:span[1]]
        found = len(facts) - len(supports(facts, text)) if facts else 0
        return found, len(words & content_words(text)), -(span[1] - span[0])

    best = max(_windows(sents, pairs=max_sentences > 1), key=score)
    # Prefer a single sentence when it alone holds as much support as the pair.
    single = max(sents, key=score)
    if score(single)[:2] >= score(best)[:2]:
        best = single
    start, end = best
    return Citation.of(hit, start, end, doc_text[start:end])


def check_claims(claims: list[tuple[str, tuple[int, ...]]], sources: list[Hit],
                 question: str = "") -> list[Claim]:
    """Drop markers of sources that were not given; mark each claim supported or not. A
    claim whose cited sources lack its facts is re-attributed, as an unmarked claim is, to
    the one given source that holds all of them (see ``attribute``). Facts the question
    itself states ("the $11 million bust") are the user's premise: they need no source."""
    premise = set(key_facts(question)) if question else set()
    out = []
    for text, nums in claims:
        valid = tuple(dict.fromkeys(n for n in nums if 1 <= n <= len(sources)))
        claim = _check(text, valid, sources, premise) if valid else None
        if claim is None or not claim.supported:
            # No valid marker, or a wrong one: cite the given source holding every fact.
            other = attribute(text, sources)
            if other and other != valid:
                claim = _check(text, other, sources, premise)
        out.append(claim or Claim(text, (), False, ("no valid citation",)))
    return out


def _check(text: str, nums: tuple[int, ...], sources: list[Hit],
           premise: set[str]) -> Claim:
    cited = " ".join(readable(sources[n - 1]) for n in nums)
    facts = [f for f in key_facts(text) if f not in premise]
    missing = tuple(supports(facts, cited)) or _apart(facts, [sources[n - 1] for n in nums])
    # Facts found are enough ("$5.00 [1]"); a claim without any needs words in common.
    overlap = content_words(text) & content_words(cited)
    ok = not missing and (bool(facts) or bool(overlap) or not content_words(text))
    return Claim(text, nums, ok, missing if missing else (
        () if ok else ("no words in common with the cited source",)))


def _apart(facts: list[str], cited: list[Hit]) -> tuple[str, ...]:
    """Facts that no passage of two adjacent sentences (one sentence, for a claim with two
    or more figures) of a cited source holds together with the others: "69% ... including
    45%" is not supported by a 45% in one sentence and a 69% in the next."""
    # Two figures in one claim must come from one sentence: "69% ..., including 45%".
    pairs = sum(f[0].isdigit() for f in facts) < 2
    covered: set[str] = set()
    for hit in cited:
        text = readable(hit)
        sents = sentence_spans(text) or [(0, len(text))]
        found = [set(facts) - set(supports(facts, text[a:b])) for a, b in _windows(sents, pairs)]
        covered |= max(found, key=len)
    return tuple(f for f in facts if f not in covered)


def attribute(claim: str, sources: list[Hit]) -> tuple[int, ...]:
    """For a claim the LLM left without a valid marker, or with a wrong one: the source
    that holds all its key facts and shares most of its words, if any does."""
    # Stricter than for a cited claim: every capitalised word counts, the first included.
    facts = key_facts(claim) + name_words(claim, openers=True)
    words = content_words(claim)
    best, best_overlap = 0, 0
    for n, hit in enumerate(sources, start=1):
        text = readable(hit)
        if supports(facts, text):
            continue
        overlap = len(words & content_words(text))
        if overlap > best_overlap:
            best, best_overlap = n, overlap
    enough = best_overlap >= max(1, min(2, len(words)))
    return (best,) if best and enough else ()


def quotes_for(claim: Claim, sources: list[Hit], doc_texts: dict[str, str]) -> list[Citation]:
    """One quote per cited source, each an exact span of its document."""
    cites = []
    for n in claim.sources:
        hit = sources[n - 1]
        cites.append(best_quote(claim.text, hit, doc_texts[hit.chunk.doc_id]))
    return cites
