"""`assistant mcp` through the official SDK's own client: it starts the command as a
subprocess over stdio and calls every tool (the canonical answer with verified citations,
a refusal with its reason, bad arguments as tool errors, not crashes) and reads a
document resource."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import CANONICAL, ROOT, SAMPLES


def session(home: Path, script: Any, **env: str) -> Any:
    params = StdioServerParameters(command=sys.executable, args=["-m", "assistant.cli", "mcp"],
                                   env={**os.environ, "ASSISTANT_HOME": str(home), **env},
                                   cwd=str(ROOT))

    async def main() -> Any:
        async with Client(params, read_timeout_seconds=240) as client:
            return await script(client)
    return asyncio.run(main())


def test_an_mcp_client_gets_checked_citations(tmp_path: Path) -> None:
    home = tmp_path / "home"
    subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet", str(SAMPLES)],
                   env={**os.environ, "ASSISTANT_HOME": str(home)}, check=True,
                   capture_output=True, timeout=300)

    async def script(client: Client) -> dict[str, Any]:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        out: dict[str, Any] = {"tools": tools}
        out["ask"] = await client.call_tool("ask", {"question": CANONICAL})
        out["refused"] = await client.call_tool("ask", {"question": "Who leads Tencent?"})
        out["bad_date"] = await client.call_tool("ask", {"question": CANONICAL,
                                                         "as_of": "31/02/2025"})
        out["missing"] = await client.call_tool("ask", {})
        out["search"] = await client.call_tool("search", {"query": "Qwen models", "k": 2})
        out["bad_k"] = await client.call_tool("search", {"query": "Qwen", "k": 0})
        out["sources"] = await client.call_tool("list_sources", {})
        first = out["sources"].structured_content["sources"][0]["id"]
        out["doc"] = await client.call_tool("get_document", {"id": first})
        out["no_doc"] = await client.call_tool("get_document", {"id": "0123456789abcdef"})
        out["resource"] = await client.read_resource(f"document://{first}")
        return out

    got = session(home, script)
    assert set(got["tools"]) == {"ask", "search", "get_document", "list_sources"}  # read-only
    assert "verified" in got["tools"]["ask"].description
    ask = got["ask"]
    assert not ask.is_error and "380 billion yuan" in ask.content[0].text and "[1]" in (
        ask.content[0].text)
    data = ask.structured_content
    assert data["refused"] is False and data["citations"]
    docs = {}
    for c in data["citations"]:
        if c["doc_id"] not in docs:
            docs[c["doc_id"]] = session_text(home, c["doc_id"])
        assert docs[c["doc_id"]][c["start"]:c["end"]] == c["quote"]  # an exact quote
        assert c["source"] == 1 and c["title"] and c["uri"]
    refused = got["refused"].structured_content
    assert refused["refused"] is True and "Tencent" in refused["refusal_reason"]
    assert got["bad_date"].is_error and "31/02/2025" in got["bad_date"].content[0].text
    assert got["missing"].is_error and "question" in got["missing"].content[0].text
    passages = got["search"].structured_content["passages"]
    assert len(passages) == 2 and all(p["end"] > p["start"] for p in passages)
    assert got["bad_k"].is_error and "k=0" in got["bad_k"].content[0].text
    assert len(got["sources"].structured_content["sources"]) == 4
    doc = got["doc"].structured_content
    assert doc["text"] and got["resource"].contents[0].text == doc["text"]
    assert got["no_doc"].is_error and "0123456789abcdef" in got["no_doc"].content[0].text


def session_text(home: Path, doc_id: str) -> str:
    from assistant import Assistant

    with Assistant(home=home) as a:
        return a.document(doc_id).text


def test_ingest_is_a_tool_only_when_allowed(tmp_path: Path) -> None:
    note = tmp_path / "note.md"
    note.write_text("# Ferry\n\nThe Ostend ferry carried 612 bicycles in April.\n")

    async def script(client: Client) -> Any:
        names = {t.name for t in (await client.list_tools()).tools}
        return names, await client.call_tool("ingest", {"sources": [str(note)]}), \
            await client.call_tool("ask", {"question": "How many bicycles did the Ostend "
                                                       "ferry carry?"})

    names, report, ask = session(tmp_path / "home", script, ASSISTANT_MCP_ALLOW_INGEST="true")
    assert "ingest" in names and report.structured_content["added"] == [str(note)]
    assert "612 bicycles" in ask.content[0].text


def test_the_same_tools_over_http_at_slash_mcp_behind_the_api_key(tmp_path: Path) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from tests.conftest import free_port, serve

    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home"), "ASSISTANT_API_KEY": "k1"}
    subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet", str(SAMPLES)],
                   env=env, check=True, capture_output=True, timeout=300)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)], base,
                   "/healthz", tmp_path / "serve.log", 180, env=env)
    next(server)

    async def script(key: str) -> Any:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120)
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            return names, await client.call_tool("ask", {"question": CANONICAL}), \
                await client.call_tool("get_document", {"id": "nope"})

    try:
        names, ask, bad = asyncio.run(script("k1"))
        assert names == {"ask", "search", "get_document", "list_sources"}
        assert "380 billion yuan" in ask.content[0].text
        assert ask.structured_content["citations"][0]["quote"] in ask.content[0].text
        assert bad.is_error and "nope" in bad.content[0].text
        r = httpx2.post(f"{base}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                        headers={"Accept": "application/json, text/event-stream"})
        assert r.status_code == 401 and "API key" in r.text  # the key rule covers /mcp
    finally:
        next(server, None)
