"""Text for a terminal: what the CLI and the REPL print of stored text (titles, uris,
quotes). Control characters never reach the terminal: a title or file name cannot set
the window title, clear the screen or split a listing line. ``--json`` output is exact
and does not go through here."""

from __future__ import annotations

import re

from assistant.types import Answer, DocRecord

# C0 and C1 controls and DEL; ESC sequences are removed whole.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_]?)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe(text: str, lines: bool = False) -> str:
    """``text`` with ANSI escape sequences removed and every other control character
    shown as an escape (``\\n``, ``\\x07``): on one line, or keeping its line breaks when
    ``lines`` is true."""
    text = _ESCAPE.sub("", text)
    return _CONTROL.sub(lambda m: m.group() if lines and m.group() == "\n" else
                        repr(m.group())[1:-1], text)


def source_line(r: DocRecord) -> str:
    return f"{r.id}  {r.chunks:4d} chunks  {safe(r.title[:60])}  ({safe(r.uri)})"


def format_citations(answer: Answer) -> str:
    """Sources after an answer: number, title, date, uri, offsets, and the quoted words."""
    if answer.refused or not answer.citations:
        return ""
    lines = ["", "Sources:"]
    for c in answer.citations:
        n = answer.source_number(c)
        hit = answer.sources[n - 1] if n else None
        date = f", {hit.published}" if hit is not None and hit.published else ""
        lines.append(f"  [{n}] {safe(c.title)}{date} ({safe(c.uri)}) chars {c.start}-{c.end}")
        lines.append(f"      \u201c{safe(' '.join(c.quote.split()))}\u201d")
    return "\n".join(lines)
