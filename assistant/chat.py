"""A conversation: keeps history and rewrites follow-up questions into stand-alone ones.

With an LLM the rewrite uses the ``condense`` prompt; without one, a follow-up that leans
on the previous question (pronouns such as "it" or "they", or "what about ...") borrows
that question's subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from assistant import prompts
from assistant.answering import final_answer
from assistant.text import name_words
from assistant.types import Answer

_FOLLOW = re.compile(r"\b(it|its|it's|they|them|their|theirs|he|him|his|she|her|hers|this|"
                     r"that|these|those|there|the company|the same)\b", re.I)
_WHAT_ABOUT = re.compile(r"^\s*(and|what about|how about|and what about)\b", re.I)


def subject_of(question: str) -> str | None:
    """The main named subject of a question ("Alibaba", "EU AI Act", ...): its first run
    of name words (see ``text.name_words``), joined by spaces or "of"."""
    names = name_words(question, openers=True)
    if not names:
        return None
    pos = question.find(names[0])
    run, end = [names[0]], pos + len(names[0])
    for w in names[1:]:
        at = question.find(w, end)
        if at < 0 or question[end:at] not in (" ", "'s ", "’s ", " of "):
            break
        run.append(question[end:at].replace("'s", "").replace("’s", "").strip() + " " + w
                   if "of" in question[end:at] else w)
        end = at + len(w)
    return " ".join(run)


def is_follow_up(question: str) -> bool:
    return bool(_FOLLOW.search(question) or _WHAT_ABOUT.search(question))


def rewrite_heuristic(question: str, previous: str) -> str:
    """Make a follow-up stand alone by naming the previous question's subject."""
    subject = subject_of(previous)
    if not subject or subject.lower() in question.lower() or not is_follow_up(question):
        return question
    q = question.strip()
    if _WHAT_ABOUT.search(q):
        rest = _WHAT_ABOUT.sub("", q).strip(" ?")
        return f"What about {rest} of {subject}?"
    replaced = re.sub(r"\b(its|their|his|her)\b", f"{subject}'s", q, count=1, flags=re.I)
    if replaced == q:
        replaced = re.sub(r"\b(it|they|them|he|him|she|the company)\b", subject, q, count=1,
                          flags=re.I)
    return replaced


@dataclass
class Turn:
    question: str
    asked: str  # the stand-alone question that was answered
    answer: Answer


@dataclass
class ChatSession:
    """``session.ask(q)`` / ``session.stream(q)`` with history; ``reset()`` forgets it."""

    answerer: Any
    history: list[Turn] = field(default_factory=list)
    max_turns: int = 6

    def standalone(self, question: str) -> str:
        if not self.history:
            return question
        llm = self.answerer.llm
        if llm is None or not is_follow_up(question):
            return rewrite_heuristic(question, self.history[-1].asked)
        lines = []
        for t in self.history[-self.max_turns:]:
            lines += [f"User: {t.question}", f"Assistant: {t.answer.text}"]
        text = llm.complete([{"role": "user", "content": prompts.render(
            "condense", history="\n".join(lines), question=question)}])
        text = text.strip().splitlines()[0].strip() if text.strip() else ""
        return text if 3 <= len(text) <= 500 else question

    def stream(self, question: str, **filters: Any) -> Iterator[str | Answer]:
        asked = self.standalone(question)
        for piece in self.answerer.stream(asked, **filters):
            if isinstance(piece, Answer):
                self.history.append(Turn(question, asked, piece))
            yield piece

    def ask(self, question: str, **filters: Any) -> Answer:
        return final_answer(self.stream(question, **filters))

    def reset(self) -> None:
        self.history.clear()
