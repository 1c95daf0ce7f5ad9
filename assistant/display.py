"""Notebook display: an Answer as HTML, with numbered citation marks, and each source's
quoted span highlighted in its surrounding text, linked to its uri."""

from __future__ import annotations

import html
import re

from assistant.types import Answer

CONTEXT_CHARS = 240


def _link(uri: str) -> str:
    if uri.startswith(("http://", "https://")):
        return f'<a href="{html.escape(uri)}" target="_blank">{html.escape(uri)}</a>'
    return f"<code>{html.escape(uri)}</code>"


def answer_html(answer: Answer) -> str:
    body = html.escape(answer.text)
    body = re.sub(r"\[(\d+)\]", r'<sup><a href="#assistant-src-\1">[\1]</a></sup>', body)
    style = "color:#a00" if answer.refused else ""
    parts = [f'<div class="assistant-answer"><p style="{style}">{body}</p>']
    if answer.citations:
        parts.append('<ol style="list-style:none;padding-left:0">')
        for c in answer.citations:
            n = answer.source_number(c)
            hit = answer.sources[n - 1] if n else None
            if hit is not None:
                ch = hit.chunk
                lo = max(ch.start, c.start - CONTEXT_CHARS)
                hi = min(ch.end, c.end + CONTEXT_CHARS)
                text = ch.text
                before = text[lo - ch.start:c.start - ch.start]
                after = text[c.end - ch.start:hi - ch.start]
            else:
                before = after = ""
            parts.append(
                f'<li id="assistant-src-{n}" style="margin:0.6em 0"><b>[{n}] '
                f'{html.escape(c.title)}</b> &middot; {_link(c.uri)} '
                f'<small>(chars {c.start}&ndash;{c.end})</small><br>'
                f'<span style="color:#555">{"&hellip;" if before else ""}'
                f'{html.escape(before)}<mark>{html.escape(c.quote)}</mark>'
                f'{html.escape(after)}{"&hellip;" if after else ""}</span></li>')
        parts.append("</ol>")
    parts.append(f'<small style="color:#888">answered by {html.escape(answer.backend)}'
                 "</small></div>")
    return "".join(parts)
