"""SQuAD -> (question, candidate, label) pairs for the reader, and the held-out split.

A candidate is a sentence as the read side sees it (``assistant.text.sentence_spans``, the
splitter used at question time) written as ``reader_text``: the article's title, the
sentence, then its neighbours as context. A sentence is a positive when it holds the start
of a gold answer. Hard negatives, as the issue asks:
- the other sentences of the same paragraph (those sharing most words with the question
  first): close to the answer, but not it;
- for SQuAD 2.0's unanswerable questions, the sentences of their paragraph, the one
  holding a "plausible answer" first: adversarially close;
- sentences of other paragraphs of the same article that share the question's words.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from assistant.reader import neighbours, reader_text
from assistant.text import content_words, sentence_spans

FILES = {"squad11": "squad1.1-train.json.gz",
         "squad2_train10": "squad2-train-first-10-articles.json.gz",
         "squad2_dev25": "squad2-dev-25-articles.json.gz"}


@dataclass(frozen=True)
class Sentence:
    text: str
    context: str  # the neighbouring sentences
    start: int  # offset in the paragraph


@dataclass(frozen=True)
class Asked:
    """One SQuAD question with its article's sentences."""

    article: str
    question: str
    paragraph: int  # index of its paragraph in the article
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]  # offsets in the paragraph (plausible ones if impossible)
    impossible: bool


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)["data"]


def sentences(context: str) -> list[Sentence]:
    return [Sentence(context[s:e], neighbours(context, s, e), s)
            for s, e in sentence_spans(context)]


def questions(article: dict[str, Any]) -> Iterator[Asked]:
    for n, para in enumerate(article["paragraphs"]):
        for qa in para["qas"]:
            impossible = bool(qa.get("is_impossible"))
            answers = qa.get("plausible_answers" if impossible else "answers") or []
            yield Asked(article["title"], qa["question"], n,
                        tuple(a["text"] for a in answers),
                        tuple(int(a["answer_start"]) for a in answers), impossible)


def holds(sent: Sentence, starts: tuple[int, ...]) -> bool:
    return any(sent.start <= s < sent.start + len(sent.text) for s in starts)


def pairs(articles: list[dict[str, Any]], rng: random.Random, *, same_paragraph: int = 2,
          other_paragraphs: int = 1) -> list[tuple[str, str, float]]:
    """(question, reader_text, label) rows: per answerable question its answer sentence
    and hard negatives; per unanswerable one, negatives only."""
    rows: list[tuple[str, str, float]] = []
    for art in articles:
        title = art["title"].replace("_", " ")
        paras = [sentences(p["context"]) for p in art["paragraphs"]]
        for q in questions(art):
            words = content_words(q.question)
            own = paras[q.paragraph]

            def overlap(s: Sentence) -> int:
                return len(words & content_words(s.text))

            pos = [s for s in own if holds(s, q.answer_starts)]
            if not q.impossible:
                if not pos:
                    continue  # an answer across a sentence break: no clean positive
                rows.append((q.question, reader_text(title, pos[0].text, pos[0].context), 1.0))
                negs = sorted((s for s in own if s not in pos), key=overlap, reverse=True)
            else:  # every sentence of its paragraph is a negative, the plausible one first
                negs = pos + sorted((s for s in own if s not in pos), key=overlap, reverse=True)
            for s in negs[:same_paragraph + (1 if q.impossible else 0)]:
                rows.append((q.question, reader_text(title, s.text, s.context), 0.0))
            others = [s for i, p in enumerate(paras) if i != q.paragraph for s in p
                      if overlap(s)]
            rng.shuffle(others)
            for s in sorted(others[:20], key=overlap, reverse=True)[:other_paragraphs]:
                rows.append((q.question, reader_text(title, s.text, s.context), 0.0))
    return rows


def split_dev(articles: list[dict[str, Any]], held_out: int,
              seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, held-out) articles of SQuAD 2.0 dev, split by article with a fixed seed."""
    order = sorted(articles, key=lambda a: a["title"])
    random.Random(seed).shuffle(order)
    return order[held_out:], order[:held_out]
