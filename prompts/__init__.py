"""Prompt templates, shipped as files inside the wheel. Placeholders are ``{name}``;
``render`` checks that exactly the declared placeholders are given."""

from __future__ import annotations

import re
import string
from importlib import resources

# Each template and the placeholders it must contain, no more, no fewer.
TEMPLATES: dict[str, set[str]] = {
    "answer_system": set(),
    "answer_user": {"sources", "question"},
    "condense": {"history", "question"},
    "naive": {"context", "question"},
    "choose": {"today", "sources", "question", "choices"},
}


def load(name: str) -> str:
    if name not in TEMPLATES:
        raise KeyError(f"unknown prompt {name!r}; known: {sorted(TEMPLATES)}")
    return resources.files(__package__).joinpath(f"{name}.txt").read_text(encoding="utf-8")


def placeholders(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def render(name: str, **values: str) -> str:
    template = load(name)
    want = TEMPLATES[name]
    found = placeholders(template)
    if found != want:
        raise ValueError(f"prompt {name!r} has placeholders {sorted(found)}, "
                         f"expected {sorted(want)}")
    if set(values) != want:
        raise ValueError(f"prompt {name!r} needs {sorted(want)}, got {sorted(values)}")
    return template.format(**values)


def strip_braces(text: str) -> str:
    """Source text goes into templates as data; braces cannot break formatting."""
    return re.sub(r"[{}]", lambda m: m.group() * 2, text)
