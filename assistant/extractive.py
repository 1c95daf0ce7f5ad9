"""The extractive answerer: no LLM. It answers with the retrieved sentences most likely to
answer the question (``evidence.Decision``), verbatim, each with its citation.

The best sentence comes first; other sentences whose chance to answer also reaches the
fitted threshold follow (at most ``max_sentences``), unless they repeat what is already
said. Text that addresses an AI system ("ignore previous instructions") is never a
candidate (``evidence.Evidence.spans``), so it is never quoted.
"""

from __future__ import annotations

from assistant.evidence import Candidate, Decision
from assistant.text import stems
from assistant.types import Citation, Hit


class ExtractiveAnswerer:
    """Chooses and joins the best supporting sentences of the retrieved chunks."""

    name = "extractive"

    def __init__(self, answer_at: float, max_sentences: int = 3) -> None:
        self.answer_at = answer_at
        self.max_sentences = max_sentences

    def choose(self, decision: Decision) -> list[Candidate]:
        """The sentences to answer with, best first."""
        ranked = decision.candidates  # notes addressed to AI systems are never candidates
        if not ranked:
            return []
        chosen = [ranked[0]]
        for c in ranked[1:]:
            if len(chosen) >= self.max_sentences or c.p < self.answer_at:
                break
            said = set().union(*(stems(x.text) for x in chosen))
            if len(stems(c.text) - said) >= 0.5 * len(stems(c.text)):  # not a repeat
                chosen.append(c)
        return chosen

    def answer(self, decision: Decision,
               sources: list[Hit]) -> list[tuple[int, Citation]]:
        """The chosen sentences, each with the number of its source (1-based, as the
        ``[n]`` marker) and its citation: the best first, then the others of its source
        in document order, then the rest."""
        chosen = self.choose(decision)
        if not chosen:
            return []
        first = chosen[0]
        rest = sorted(chosen[1:], key=lambda c: (c.source != first.source, c.source, c.start))
        return [(c.source, Citation.of(sources[c.source - 1], c.start, c.end, c.text))
                for c in [first] + rest]
