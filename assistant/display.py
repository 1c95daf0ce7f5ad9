"""How answers and sources look, in one place for the CLI, the REPL and notebooks.

Terminal: stored text (titles, uris, quotes) is printed with control characters escaped,
so a title or file name cannot set the window title, clear the screen or split a listing
line; ``--json`` output is exact and does not go through here.
Notebook: an Answer as HTML, with numbered citation marks, and each source's quoted span
highlighted in its surrounding text, linked to its uri (registered with IPython when the
package is imported in a kernel).
"""

from __future__ import annotations

import html
import re
import sys

from assistant.text import plural, safe
from assistant.types import Answer, Citation, DocRecord

def source_line(r: DocRecord) -> str:
    return (f"{r.id}  {plural(r.chunks, 'chunk'):>11s}  {r.published or 'undated':10s}  "
            f"{safe(r.title[:60])}  ({safe(r.url or r.uri)})")


def by_source(answer: Answer) -> list[tuple[int | None, list[Citation]]]:
    """The answer's citations grouped under the ``[n]`` of their source, in order."""
    groups: dict[int | None, list[Citation]] = {}
    for c in answer.citations:
        groups.setdefault(answer.source_number(c), []).append(c)
    return sorted(groups.items(), key=lambda g: g[0] or 10**9)


def format_citations(answer: Answer) -> str:
    """Sources after an answer: each cited source once (number, title, date, uri), then
    the quoted words with their offsets."""
    if answer.refused or not answer.citations:
        return ""
    lines = ["", "Sources:"]
    for n, cites in by_source(answer):
        c = cites[0]
        date = f", {c.published}" if c.published else ""
        lines.append(f"  [{n}] {safe(c.title)}{date} ({safe(c.link)})")
        for c in cites:
            lines.append(f"      \u201c{safe(' '.join(c.quote.split()))}\u201d "
                         f"(chars {c.start}-{c.end})")
    return "\n".join(lines)


# --- notebook ----------------------------------------------------------------------
CONTEXT_CHARS = 240


def _link(uri: str) -> str:
    if uri.startswith(("http://", "https://")):
        return f'<a href="{html.escape(uri)}" target="_blank">{html.escape(uri)}</a>'
    return f"<code>{html.escape(uri)}</code>"


def answer_html(answer: Answer) -> str:
    """The answer with citation marks, then each cited source once: title, date, a link
    to its uri, and its quoted spans highlighted in their surrounding text."""
    body = html.escape(answer.text)
    body = re.sub(r"\[(\d+)\]", r'<sup><a href="#assistant-src-\1">[\1]</a></sup>', body)
    style = "color:#a00" if answer.refused else ""
    parts = [f'<div class="assistant-answer"><p style="{style}">{body}</p>']
    if answer.citations:
        parts.append('<ol style="list-style:none;padding-left:0">')
        for n, cites in by_source(answer):
            c = cites[0]
            date = f" &middot; {html.escape(c.published)}" if c.published else ""
            parts.append(f'<li id="assistant-src-{n}" style="margin:0.6em 0"><b>[{n}] '
                         f'{html.escape(c.title)}</b>{date} &middot; {_link(c.link)}<br>'
                         f'<span style="color:#555">{_highlighted(answer, n, cites)}</span>'
                         "</li>")
        parts.append("</ol>")
    parts.append(f'<small style="color:#888">answered by {html.escape(answer.backend)}'
                 "</small></div>")
    return "".join(parts)


def _highlighted(answer: Answer, n: int | None, cites: list[Citation]) -> str:
    """The source's text around its quotes, each quote in <mark>, everything escaped."""
    cites = sorted(cites, key=lambda c: c.start)
    hit = answer.sources[n - 1] if n else None
    if hit is None:
        return " &hellip; ".join(f"<mark>{html.escape(c.quote)}</mark>" for c in cites)
    ch = hit.chunk
    lo = max(ch.start, cites[0].start - CONTEXT_CHARS)
    hi = min(ch.end, cites[-1].end + CONTEXT_CHARS)
    out, at = ["&hellip;" if lo > ch.start else ""], lo
    for c in cites:
        if c.start < at:
            continue  # overlaps the previous quote
        out += [html.escape(ch.text[at - ch.start:c.start - ch.start]),
                f"<mark>{html.escape(c.quote)}</mark>"]
        at = c.end
    out += [html.escape(ch.text[at - ch.start:hi - ch.start]), "&hellip;" if hi < ch.end else ""]
    return "".join(out)


def register_notebook() -> None:
    """Show ``Answer`` objects as HTML in a running IPython/Jupyter kernel."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        shell.display_formatter.formatters["text/html"].for_type(Answer, answer_html)
