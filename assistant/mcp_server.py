"""`assistant mcp`: the assistant as a Model Context Protocol server over stdio, built on
the official SDK's ``MCPServer``. A thin layer over ``Assistant``: tools ``ask``,
``search``, ``get_document``, ``list_sources`` (and ``ingest`` only with
``ASSISTANT_MCP_ALLOW_INGEST=true``); every document is a resource ``document://{id}``.
A domain error is the tool's error result, in one line; it never stops the server."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent

from assistant.api import Assistant
from assistant.errors import AssistantError
from assistant.text import parse_day
from assistant.types import Answer

INSTRUCTIONS = """Answers questions from the user's own collection of articles. Every claim
in an answer is followed by [n], the source it comes from; each citation's quote is the
source's exact words at the given character offsets, checked before it is returned, so
quote them as they are. A refusal (refused: true, with refusal_reason) is an answer: the
articles do not hold it; say so rather than guessing. Use search to read passages, and
get_document for a whole article."""

T = TypeVar("T")


def _domain(call: Callable[[], T]) -> T:
    """Run ``call``; a domain error becomes the tool's one-line error result."""
    try:
        return call()
    except AssistantError as e:
        raise ToolError(" ".join(str(e).split())) from None


def _filters(as_of: str | None = None, after: str | None = None, before: str | None = None,
             uri: str | None = None) -> dict[str, str]:
    days = {"as_of": ("as_of", as_of), "published_after": ("after", after),
            "published_before": ("before", before)}
    out = {k: parse_day(v, name) for k, (name, v) in days.items() if v}
    return {**out, **({"uri": uri} if uri else {})}


def answer_result(answer: Answer) -> CallToolResult:
    """The answer's text with its [n] sources listed, and, as structured content, the
    verified citations with their offsets."""
    cites = [{**c.to_dict(), "source": answer.source_number(c)} for c in answer.citations]
    lines = [answer.text]
    if answer.refused and answer.refusal_reason:
        lines.append(f"(refused: {answer.refusal_reason})")
    for c in cites:
        lines.append(f"[{c['source']}] {c['title']}, {c['published'] or 'undated'} "
                     f"({c['url'] or c['uri']}) chars {c['start']}-{c['end']}: "
                     f"\u201c{c['quote']}\u201d")
    data = {"answer": answer.text, "refused": answer.refused,
            "refusal_reason": answer.refusal_reason, "refusal_code": answer.refusal_code,
            "as_of": answer.as_of, "citations": cites}
    return CallToolResult(content=[TextContent(type="text", text="\n".join(lines))],
                          structured_content=data)


def build_server(assistant: Assistant) -> MCPServer:
    server = MCPServer("assistant", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool(structured_output=False)
    def ask(question: str, as_of: str | None = None) -> CallToolResult:
        """Answer a question from the articles, with every claim cited. Citations are
        verified exact quotes ({doc_id, uri, title, published, start, end, quote}); a
        refusal (refused, refusal_reason) means the articles do not hold the answer.
        as_of (YYYY-MM-DD, default today): nothing published after it is used."""
        return _domain(lambda: answer_result(assistant.ask(question, **_filters(as_of))))

    @server.tool()
    def search(query: str, k: int = 6, after: str | None = None, before: str | None = None,
               as_of: str | None = None, uri: str | None = None) -> dict[str, Any]:
        """The passages that best match query (meaning and words), best first: each with
        its document id, title, uri, published date and its span [start, end) in the
        document's text. Optional filters: after/before/as_of (YYYY-MM-DD), uri prefix."""
        if not 1 <= k <= 50:
            raise ToolError(f"k={k}: give 1 to 50 passages")
        hits = _domain(lambda: assistant.search(query, k, **_filters(as_of, after, before,
                                                                        uri)))
        return {"passages": [{"doc_id": h.chunk.doc_id, "title": h.title, "uri": h.uri,
                              "url": h.url, "published": h.published,
                              "start": h.chunk.start, "end": h.chunk.end,
                              "text": h.chunk.text} for h in hits]}

    @server.tool()
    def get_document(id: str) -> dict[str, Any]:
        """A whole stored article by its id (as search and list_sources give): its text
        (which citations' offsets point into), title, uri, url and published date."""
        doc = _domain(lambda: assistant.document(id))
        return {"id": doc.id, "title": doc.title, "uri": doc.uri, "url": doc.meta.get("url"),
                "published": doc.published, "text": doc.text}

    @server.tool()
    def list_sources() -> dict[str, Any]:
        """Every stored article: id, title, uri, url, published date, chunks."""
        return {"sources": [r.to_dict() for r in _domain(assistant.sources)]}

    if assistant.settings.mcp_allow_ingest:
        @server.tool()
        def ingest(sources: list[str]) -> dict[str, Any]:
            """Add or update articles from files on this machine, folders, http(s) URLs
            or RSS/Atom feeds (fetched with the same rules as the CLI: no private hosts
            unless configured). Returns what was added, updated and failed."""
            report = _domain(lambda: assistant.ingest(sources, progress=False))
            return {**report.to_dict(), "summary": report.summary()}

    @server.resource("document://{doc_id}", mime_type="text/plain")
    def document(doc_id: str) -> str:
        """A stored article's text, as its citations' offsets count it."""
        return _domain(lambda: assistant.document(doc_id)).text

    return server


def http_routes(server: MCPServer, host: str) -> list[Any]:
    """The streamable HTTP transport at /mcp, as routes for the app of ``assistant serve``
    (its API key rule applies). Host checks guard a loopback bind against DNS rebinding;
    a bind beyond loopback needs the API key instead."""
    from mcp.server.transport_security import TransportSecuritySettings

    local = host in ("127.0.0.1", "localhost", "::1")
    security = None if local else TransportSecuritySettings(
        enable_dns_rebinding_protection=False)
    return list(server.streamable_http_app(streamable_http_path="/mcp", host=host,
                                           transport_security=security).routes)


def run_stdio(assistant: Assistant) -> None:
    build_server(assistant).run("stdio")

