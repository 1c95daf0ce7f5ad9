"""The multiple-choice setting: show the choices and score the chosen index.

With an LLM, the retrieved text and the numbered choices go into one prompt
(``prompts/choose.txt``) and the reply's first number is the choice. Without one, the choice best supported by the retrieved text
wins: one that the answer itself states, else the one whose words appear in the
highest-ranked passages."""

from __future__ import annotations

import re
from typing import Any, Sequence

from assistant import prompts
from assistant.eval.metrics import normalize_answer

def by_evidence(answer: str, passages: Sequence[str], choices: Sequence[str]) -> int:
    norm_answer = f" {normalize_answer(answer)} "
    stated = [i for i, c in enumerate(choices) if f" {normalize_answer(c)} " in norm_answer]
    if len(stated) == 1:
        return stated[0]
    scores = []
    for c in choices:
        words = set(normalize_answer(c).split())
        score = 0.0
        for rank, p in enumerate(passages):
            text = f" {normalize_answer(p)} "
            if f" {normalize_answer(c)} " in text:
                score += 2.0 / (rank + 1)
            elif words:
                score += len([w for w in words if f" {w} " in text]) / len(words) / (rank + 2)
        scores.append(score)
    return max(range(len(choices)), key=lambda i: scores[i])


def by_llm(llm: Any, question: str, passages: Sequence[str], choices: Sequence[str]) -> int:
    listed = "\n".join(f"{i}) {c}" for i, c in enumerate(choices))
    reply = llm.complete([{"role": "user", "content": prompts.render(
        "choose", context="\n\n".join(passages[:4]), question=question, choices=listed)}])
    m = re.search(r"\d+", reply)
    return int(m.group()) if m and int(m.group()) < len(choices) else -1
