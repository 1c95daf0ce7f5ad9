"""The multiple-choice setting: show the choices and score the chosen index.

The retrieved text is what the assistant retrieves for the question asked as of its
date. With an LLM, the dated sources (formatted as for answers), the question's date and
the numbered choices go into one prompt (``prompts/choose.txt``) and the reply's first
number is the choice. Without one, the choice best supported by the retrieved text wins:
one that the answer itself states, else the one whose words appear in the highest-ranked
passages. Choices and text are compared after dropping all punctuation (``plain``)."""

from __future__ import annotations

import re
from typing import Any, Sequence

from assistant import prompts
from assistant.answering import fit_context, format_sources
from assistant.types import Hit
from assistant.eval.metrics import plain


def by_evidence(answer: str, passages: Sequence[str], choices: Sequence[str]) -> int:
    norm_answer = f" {plain(answer)} "
    wholes = [f" {plain(c)} " for c in choices]
    stated = [i for i, whole in enumerate(wholes) if whole in norm_answer]
    if len(stated) == 1:
        return stated[0]
    texts = [f" {plain(p)} " for p in passages]
    scores = []
    for whole in wholes:
        words = set(whole.split())
        score = 0.0
        for rank, text in enumerate(texts):
            if whole in text:
                score += 2.0 / (rank + 1)
            elif words:
                score += len([w for w in words if f" {w} " in text]) / len(words) / (rank + 2)
        scores.append(score)
    return max(range(len(choices)), key=lambda i: scores[i])


def by_llm(llm: Any, question: str, hits: Sequence[Hit], choices: Sequence[str],
           today: str, budget: int) -> int:
    """The LLM's pick, given the best hits that fit in ``budget`` characters, formatted
    and dated as the answer prompt formats them, and the day the question is asked."""
    listed = "\n".join(f"{i}) {c}" for i, c in enumerate(choices))
    reply = llm.complete([{"role": "user", "content": prompts.render(
        "choose", today=today, sources=format_sources(fit_context(list(hits), budget)),
        question=question, choices=listed)}])
    m = re.search(r"\d+", reply)
    return int(m.group()) if m and int(m.group()) < len(choices) else -1
