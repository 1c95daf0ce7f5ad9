"""`assistant serve` with real clients: the openai package (stream and not), LangChain's
ChatOpenAI, plain HTTP for the JSON API (the web page: tests/test_page.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.conftest import CANONICAL, SAMPLES, free_port, serve


def start(tmp: Path, home: Path, **env: str) -> Iterator[str]:
    port = free_port()
    yield from serve([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
                     f"http://127.0.0.1:{port}", "/healthz", tmp / f"serve-{port}.log", 180,
                     env={**os.environ, "ASSISTANT_HOME": str(home), **env})


@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("serve") / "home"
    r = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet",
                        str(SAMPLES)], env={**os.environ, "ASSISTANT_HOME": str(home)},
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return home


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, server_home: Path) -> Iterator[str]:
    yield from start(tmp_path_factory.mktemp("serve-log"), server_home)


def verified(base: str, citations: list[dict]) -> None:
    assert citations
    for c in citations:
        doc = httpx.get(f"{base}/api/documents/{c['doc_id']}").json()
        assert doc["text"][c["start"]:c["end"]] == c["quote"]
        assert set(c) >= {"doc_id", "uri", "title", "published", "start", "end", "quote"}


def test_openai_client(server: str) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused")
    assert [m.id for m in client.models.list().data] == ["assistant"]
    r = client.chat.completions.create(model="assistant", messages=[
        {"role": "user", "content": CANONICAL}])
    assert "380 billion yuan" in r.choices[0].message.content and "[1]" in r.choices[0].message.content
    assert r.refused is False and r.backend == "extractive"  # extension fields as attributes
    verified(server, r.citations)
    chunks = list(client.chat.completions.create(model="assistant", stream=True, messages=[
        {"role": "user", "content": CANONICAL}]))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(pieces) > 1  # the extractive answer streams a sentence at a time
    assert "".join(pieces) == r.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    verified(server, chunks[-1].citations)
    # a follow-up is rewritten with the conversation's subject
    follow = client.chat.completions.create(model="assistant", messages=[
        {"role": "user", "content": "How fast did Alibaba's cloud revenue grow?"},
        {"role": "assistant", "content": "It grew 26% [1]."},
        {"role": "user", "content": "Who leads it?"}])
    assert follow.rewritten_question == "Who leads Alibaba?"
    assert "Eddie Wu" in follow.choices[0].message.content
    refused = client.chat.completions.create(model="assistant", messages=[
        {"role": "user", "content": "Who won the 2022 FIFA World Cup?"}])
    assert refused.refused is True and refused.citations == [] and refused.refusal_reason


def test_langchain_chat_openai(server: str) -> None:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=f"{server}/v1", api_key="unused", model="assistant")
    assert "380 billion yuan" in llm.invoke(CANONICAL).content
    assert "380 billion yuan" in "".join(str(c.content) for c in llm.stream(CANONICAL))


def test_json_api(server: str, tmp_path: Path) -> None:
    ask = httpx.post(f"{server}/api/ask", json={"question": CANONICAL}).json()
    assert not ask["refused"] and "380 billion yuan" in ask["answer"]
    verified(server, ask["citations"])
    hits = httpx.get(f"{server}/api/search", params={"q": "Webb telescope", "k": 2}).json()
    assert len(hits) == 2 and "Webb" in hits[0]["title"]
    sources = httpx.get(f"{server}/api/sources").json()
    assert len(sources) >= 4 and {"id", "uri", "title", "published", "chunks"} <= set(sources[0])
    for path, status in [("/api/documents/0123456789abcdef", 404),
                         ("/api/documents/..%2F..%2Fetc%2Fpasswd", 404),
                         ("/api/documents/not-an-id", 404)]:
        r = httpx.get(server + path)
        assert r.status_code == status and "\n" not in r.json()["error"]["message"]
    bad = httpx.post(f"{server}/api/ask", json={"question": "  "})
    assert bad.status_code == 400 and "empty" in bad.json()["error"]["message"]
    assert httpx.post(f"{server}/api/ask", json={}).status_code == 400
    assert httpx.get(f"{server}/openapi.json").json()["paths"]["/api/ask"]
    # upload, with progress lines, then find and remove it; the upload's name cannot escape
    note = ("Zeebrugge port report\nThe harbour of Zeebrugge handled 41 cruise ships in May, "
            "a record for spring.\n")
    r = httpx.post(f"{server}/api/ingest", files={"files": ("../../evil name.txt", note)},
                   timeout=120)
    lines = [json.loads(ln) for ln in r.text.splitlines()]
    assert r.status_code == 200 and lines[-1]["report"]["added"]
    assert any(ln.get("progress") == {"done": 1, "total": 1, "chunks": 1} for ln in lines)
    stored = lines[-1]["report"]["added"][0]
    assert "/uploads/" in stored and ".." not in Path(stored).name
    found = httpx.post(f"{server}/api/ask", json={"question": "How many cruise ships did "
                                                  "Zeebrugge handle in May?"}).json()
    assert "41 cruise ships" in found["answer"]
    doc_id = found["citations"][0]["doc_id"]
    assert httpx.delete(f"{server}/api/documents/{doc_id}").status_code == 200
    assert httpx.get(f"{server}/api/documents/{doc_id}").status_code == 404


def test_answers_stay_whole_during_an_ingest(server: str, tmp_path: Path) -> None:
    docs = [(f"n{i}.txt", f"Note {i}. The depot at Harwich stored {i * 11} crates of tea in "
             f"week {i}.") for i in range(12)]
    results: list[httpx.Response] = []

    def asks() -> None:
        with httpx.Client(timeout=120) as c:
            for _ in range(6):
                results.append(c.post(f"{server}/api/ask", json={"question": CANONICAL}))

    threads = [threading.Thread(target=asks) for _ in range(3)]
    for t in threads:
        t.start()
    r = httpx.post(f"{server}/api/ingest", files=[("files", d) for d in docs], timeout=300)
    for t in threads:
        t.join()
    assert r.status_code == 200 and len(json.loads(r.text.splitlines()[-1])["report"]["added"]) == 12
    assert len(results) == 18 and all(x.status_code == 200 for x in results)
    for x in results:
        verified(server, x.json()["citations"])


def test_api_key_size_limit_and_bind_rule(tmp_path: Path, server_home: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(server_home, home)
    gen = start(tmp_path, home, ASSISTANT_API_KEY="s3cret", ASSISTANT_MAX_REQUEST_MB="0.01")
    base = next(gen)
    try:
        assert httpx.get(f"{base}/api/sources").status_code == 401
        assert httpx.get(f"{base}/api/sources", headers={
            "Authorization": "Bearer wrong"}).status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        assert httpx.get(f"{base}/api/sources", headers=auth).status_code == 200
        assert httpx.get(f"{base}/healthz").status_code == 200  # open, for probes
        assert httpx.get(base).status_code == 200  # the page asks for the key itself
        big = httpx.post(f"{base}/api/ingest", headers=auth,
                         files={"files": ("big.txt", "word " * 5000)})
        assert big.status_code == 413 and "limit" in big.json()["error"]["message"]
        assert httpx.options(f"{base}/api/sources", headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
        ).headers.get("access-control-allow-origin") is None, "CORS is off"
    finally:
        for _ in gen:
            pass
    r = subprocess.run([sys.executable, "-m", "assistant.cli", "serve", "--host", "0.0.0.0",
                        "--port", str(free_port())], capture_output=True, text=True,
                       env={**os.environ, "ASSISTANT_HOME": str(home)}, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: binding to 0.0.0.0")
    assert len(r.stderr.strip().splitlines()) == 1


def test_llm_down_is_503(tmp_path: Path, server_home: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(server_home, home)
    gen = start(tmp_path, home, ASSISTANT_LLM="openai", ASSISTANT_LLM_RETRIES="0",
                ASSISTANT_LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1")
    base = next(gen)
    try:
        r = httpx.post(f"{base}/api/ask", json={"question": CANONICAL}, timeout=60)
        assert r.status_code == 503 and "cannot reach" in r.json()["error"]["message"]
    finally:
        for _ in gen:
            pass


def test_bad_dates_are_400_and_the_page_has_its_icon(server: str) -> None:
    for bad in ("2025-13-01", "yesterday", "2025/01/01"):
        r = httpx.post(f"{server}/api/ask", json={"question": CANONICAL, "as_of": bad},
                       timeout=60)
        assert r.status_code == 400, r.text
        message = r.json()["error"]["message"]
        assert message.startswith("as_of ") and "YYYY-MM-DD" in message
    ok = httpx.post(f"{server}/api/ask", json={"question": CANONICAL, "as_of": "2025-12-31"},
                    timeout=60).json()
    assert not ok["refused"] and ok["citations"][0]["url"].startswith("https://example.org/")
    icon = httpx.get(f"{server}/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"


def test_a_word_document_uploads_and_answers(server: str) -> None:
    import io

    import docx

    d = docx.Document()
    d.core_properties.title = "Ferry log"
    d.add_paragraph("The ferry from Ostend carried 612 bicycles in April.")
    buf = io.BytesIO()
    d.save(buf)
    r = httpx.post(f"{server}/api/ingest", files={"files": ("log.docx", buf.getvalue())},
                   timeout=120)
    assert r.status_code == 200 and json.loads(r.text.splitlines()[-1])["report"]["added"]
    found = httpx.post(f"{server}/api/ask", json={"question": "How many bicycles did the "
                                                  "ferry from Ostend carry in April?"}).json()
    assert "612 bicycles" in found["answer"] and found["citations"][0]["title"] == "Ferry log"


def test_a_feed_url_ingests_from_the_page_with_progress(tmp_path: Path,
                                                        http_dir: tuple[str, Path]) -> None:
    from tests.test_feeds import item, rss, serve_pages

    base, root = http_dir
    serve_pages(root)
    (root / "feed.xml").write_bytes(rss([item("Ostend ferry sets a record", "ostend.html"),
                                         item("Calais lorries", "calais.html"),
                                         item("Gone", "gone.html")]))
    gen = start(tmp_path, tmp_path / "home", ASSISTANT_ALLOW_PRIVATE_URLS="true",
                ASSISTANT_FEED_DELAY="0")
    server = next(gen)
    try:
        r = httpx.post(f"{server}/api/ingest", data={"url": f"{base}/feed.xml"}, timeout=300)
        lines = [json.loads(ln) for ln in r.text.splitlines()]
        progress = [ln["progress"] for ln in lines if "progress" in ln]
        assert progress[-1]["done"] == progress[-1]["total"] == 3  # the feed's three items
        assert any("gone.html" in ln.get("event", "") for ln in lines)  # one line, named
        report = lines[-1]["report"]
        assert len(report["added"]) == 2 and len(report["failed"]) == 1
        found = httpx.post(f"{server}/api/ask", json={"question": "How many lorries did the "
                                                      "port of Calais handle in June?"}).json()
        assert "9,300 lorries" in found["answer"]
        assert found["citations"][0]["title"] == "Calais lorries"
    finally:
        next(gen, None)
