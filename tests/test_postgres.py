"""The PostgreSQL store (``ASSISTANT_DATABASE_URL``) against a real server the tests start:
the whole path, its full-text search, replicas sharing one collection, and a server that
is down or restarted. A second writer and SIGKILLed writers are tested on both stores in
``test_concurrency.py`` and ``test_crash.py``."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.errors import StoreError
from assistant.types import Filters
from tests.conftest import FakeEmbedder, consistent, free_port
from tests.test_concurrency import articles


@pytest.fixture
def pg(postgres: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", postgres)
    return postgres


def test_ask_with_documents_in_postgres(pg: str, tmp_path: Path, samples_copy: Path,
                                        real_embedder) -> None:
    with Assistant(home=tmp_path / "h", embedder=real_embedder) as a:
        assert a.settings.database_url == pg
        assert len(a.ingest([samples_copy], progress=False).added) == 4
        answer = a.ask("How much has Alibaba committed to AI?")
        assert "380 billion yuan" in answer.text and answer.citations
        for c in answer.citations:
            assert a.document(c.doc_id).text[c.start:c.end] == c.quote
        assert a.check().summary().endswith("consistent")
        a.remove(a.sources()[0].id)
        consistent(a)
        assert len(a.sources()) == 3
    assert not list((tmp_path / "h").glob("*.sqlite"))


def test_full_text_search_ranks_like_the_sqlite_index(pg: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The tsvector index finds the same best chunk as FTS5's BM25 for questions of
    several words, keeps the date and URI filters, and skips words in most chunks."""
    folder = tmp_path / "articles"
    folder.mkdir()
    topics = ["semiconductor export controls", "cloud revenue growth", "electric vehicle "
              "batteries", "central bank interest rates", "wildfire evacuation orders"]
    for i, topic in enumerate(topics):
        body = " ".join(f"Paragraph {j} of the report on {topic} says the figure was "
                        f"{i * 11 + j}." for j in range(6))
        (folder / f"t{i}.md").write_text(f"---\ntitle: Report on {topic}\npublished: "
                                         f"2025-0{i + 1}-15\n---\n{body}\n")
    questions = ["Which rules cover semiconductor exports?", "How fast did cloud revenue "
                 "grow?", "What happened to interest rates at the central bank?"]
    best: dict[str, list[str]] = {}
    for kind in ("postgres", "sqlite"):
        if kind == "sqlite":
            monkeypatch.delenv("ASSISTANT_DATABASE_URL")
        with Assistant(home=tmp_path / kind, embedder=FakeEmbedder()) as a:
            a.ingest([folder], progress=False)
            titles = {c: a.document(d).title for c, (d, *_) in
                      a.store.chunk_rows([c for c, *_ in a.store.iter_chunks()]).items()}
            best[kind] = [titles[a.store.lexical_search(q, 3)[0][0]] for q in questions]
            march = Filters(published_after="2025-03-01", published_before="2025-03-31")
            found = [titles[c] for c, _ in a.store.lexical_search("report figure", 10, march)]
            assert found and set(found) == {"Report on electric vehicle batteries"}
            common = a.store.lexical_search("report paragraph figure wildfire", 10)
            assert {titles[c] for c, _ in common} == {"Report on wildfire evacuation orders"}, \
                "beside a rare word, words in every chunk are not looked up"
            assert a.store.lexical_search("quantum telescopes", 5) == []
    assert best["postgres"] == best["sqlite"] == [
        "Report on semiconductor export controls", "Report on cloud revenue growth",
        "Report on central bank interest rates"]


def test_replicas_share_one_collection(pg: str, tmp_path: Path, chroma_server: str,
                                       samples_copy: Path, real_embedder) -> None:
    """Two replicas (their own homes) on one Chroma server and one PostgreSQL: what one
    ingests the other answers from at once, and a removal is seen by both."""
    shared = {"chroma_url": chroma_server, "collection": f"r{os.getpid()}{time.time_ns()}"}
    with Assistant(home=tmp_path / "one", embedder=real_embedder, **shared) as one, \
            Assistant(home=tmp_path / "two", embedder=real_embedder, **shared) as two:
        assert two.sources() == []
        one.ingest([samples_copy], progress=False)
        assert [s.id for s in two.sources()] == [s.id for s in one.sources()]
        answer = two.ask("How much has Alibaba committed to AI?")
        assert "380 billion yuan" in answer.text
        two.remove(answer.citations[0].doc_id)
        assert len(one.sources()) == 3
        assert "380 billion" not in one.ask("How much has Alibaba committed to AI?").text
        consistent(one)


def test_check_and_repair_from_the_command_line(pg: str, tmp_path: Path, samples_copy: Path,
                                               real_embedder) -> None:
    """`assistant check` finds a lexical index that lost postings (exit 1, one line saying
    what disagrees); `--repair` rebuilds it, and the next check is clean."""
    import subprocess
    import sys

    import psycopg

    home = tmp_path / "h"
    with Assistant(home=home, embedder=real_embedder) as a:
        a.ingest([samples_copy], progress=False)
        schema = a.store._docs.schema  # type: ignore[attr-defined]
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f"DELETE FROM {schema}.postings WHERE lexeme = 'alibaba'")
    env = {**os.environ, "ASSISTANT_HOME": str(home)}

    def check(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "assistant.cli", "check", *flags],
                              env=env, capture_output=True, text=True, timeout=300)

    found = check()
    assert found.returncode == 1 and "postings" in found.stdout, found.stdout + found.stderr
    repaired = check("--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    clean = check()
    assert clean.returncode == 0 and clean.stdout.strip().endswith("consistent")
    with Assistant(home=home, embedder=real_embedder) as a:
        assert a.store.lexical_search("Alibaba", 3)


def test_a_server_that_is_down_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://reader:secret@127.0.0.1:{free_port()}/db"
    with pytest.raises(StoreError) as ei:
        Assistant(home=tmp_path / "h", embedder=FakeEmbedder(), database_url=url)
    message = str(ei.value)
    assert "\n" not in message and "secret" not in message
    assert message.startswith("postgresql://reader:***@127.0.0.1") and "DATABASE_URL" in message


def test_server_restarted_mid_session_and_mid_ingest(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL stopped while a collection is open: the next call is one line naming the
    server, and once it is back the same Assistant goes on (the pool reconnects). Stopped
    in the middle of an ingest: the writer stops with one line, nothing half-written; the
    re-run completes and `check` is clean."""
    from tests.conftest import PostgresProcess
    from tests.test_concurrency import WRITER, run

    server = PostgresProcess(tmp_path / "pg")
    server.start()
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", server.url)
    try:
        home = tmp_path / "h"
        with Assistant(home=home, embedder=FakeEmbedder()) as a:
            a.ingest([articles(tmp_path / "a", 3)], progress=False)
            server.stop()
            with pytest.raises(StoreError) as ei:
                a.sources()
            assert "\n" not in str(ei.value) and "127.0.0.1" in str(ei.value)
            server.start()
            assert len(a.sources()) == 3
        folder = articles(tmp_path / "more", 30)
        writer = run(WRITER, str(home), str(folder), "6")  # its vectors written at ~8 s
        time.sleep(5)
        assert writer.poll() is None, "the ingest ended before the server stopped"
        server.stop()
        _, err = writer.communicate(timeout=300)
        assert writer.returncode != 0
        last = err.strip().splitlines()[-1]
        assert last.startswith("assistant.errors.StoreError: postgresql://postgres@127.0.0.1")
        server.start()
        with Assistant(home=home, embedder=FakeEmbedder()) as a:
            report = a.ingest([folder], progress=False)
            # the first 3 have the text of the 3 stored before: duplicates, not stored twice
            assert len(report.duplicate) == 3 and not report.failed
            assert len(report.added) + len(report.unchanged) == 27
            assert a.check().summary().endswith("consistent")
            consistent(a)
            assert len(a.sources()) == 30
    finally:
        server.remove()


def test_two_served_replicas_answer_from_one_collection(pg: str, tmp_path: Path,
                                                        chroma_server: str) -> None:
    """Two `assistant serve` processes (own homes and ports) on one PostgreSQL and one
    Chroma server: an upload through one is answered by the other as soon as it
    commits, a removal through the other is gone from the first's answers, and with the
    first SIGKILLed the second keeps answering."""
    import signal
    import subprocess
    import sys

    import httpx

    from tests.conftest import wait_until_up
    from tests.test_server import start

    env = {**os.environ, "ASSISTANT_CHROMA_URL": chroma_server,
           "ASSISTANT_COLLECTION": f"s{os.getpid()}{time.time_ns()}"}
    port = free_port()
    cmd = [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)]
    log = tmp_path / "one.log"
    with open(log, "w") as out:
        one = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                               env={**env, "ASSISTANT_HOME": str(tmp_path / "one")})
    two_server = start(tmp_path, tmp_path / "two", **{k: v for k, v in env.items()
                                                      if k.startswith("ASSISTANT_")})
    try:
        first = f"http://127.0.0.1:{port}"
        wait_until_up(one, cmd, f"{first}/healthz", log, 180)
        second = next(two_server)
        note = ("Zeebrugge port report\nThe harbour of Zeebrugge handled 41 cruise ships "
                "in May, a record for spring.\n")
        r = httpx.post(f"{first}/api/ingest", files={"files": ("port.txt", note)},
                       timeout=120)
        assert r.status_code == 200 and '"added"' in r.text.splitlines()[-1]
        question = {"question": "How many cruise ships did Zeebrugge handle in May?"}
        found = httpx.post(f"{second}/api/ask", json=question, timeout=60).json()
        assert "41 cruise ships" in found["answer"], found
        doc_id = found["citations"][0]["doc_id"]
        assert httpx.delete(f"{second}/api/documents/{doc_id}").status_code == 200
        gone = httpx.post(f"{first}/api/ask", json=question, timeout=60).json()
        assert "41 cruise ships" not in gone["answer"]
        assert httpx.get(f"{first}/api/documents/{doc_id}").status_code == 404
        one.send_signal(signal.SIGKILL)
        one.wait()
        assert httpx.get(f"{second}/api/sources").json() == []
        assert httpx.post(f"{second}/api/ask", json=question, timeout=60).status_code == 200
    finally:
        one.kill()
        one.wait()
        two_server.close()


def test_an_older_lexical_layout_is_rebuilt_on_open(pg: str, tmp_path: Path,
                                                   samples_copy: Path) -> None:
    """A collection written by the layout before covering postings (key without tf, len and
    doc_id, text compared by the database's collation) is rebuilt when next opened: same search
    results, and a word's postings are then read from the index alone."""
    import psycopg

    from assistant.pglexical import LAYOUT

    home = tmp_path / "h"
    with Assistant(home=home, embedder=FakeEmbedder()) as a:
        a.ingest([samples_copy], progress=False)
        schema = a.store._docs.schema  # type: ignore[attr-defined]
        before = a.store.lexical_search("Alibaba cloud investment", 5)
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {schema}.postings DROP CONSTRAINT postings_pkey")
        conn.execute(f"ALTER TABLE {schema}.postings ADD PRIMARY KEY (lexeme, chunk_id)")
        conn.execute(f"UPDATE {schema}.info SET value = 'postings-english-2' "
                     "WHERE key = 'lexical'")
    with Assistant(home=home, embedder=FakeEmbedder()) as a:
        assert a.store._docs.get_info("lexical") == LAYOUT  # type: ignore[attr-defined]
        assert a.store.lexical_search("Alibaba cloud investment", 5) == before
        assert a.check().summary().endswith("consistent")
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f"SET search_path = {schema}")
        conn.execute("SET enable_seqscan = off")  # a few rows: the planner's own choice
        conn.execute("SET enable_bitmapscan = off")  # would be the table, not the index
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN (ANALYZE) SELECT chunk_id, tf, len, doc_id FROM postings WHERE lexeme = "
            "'alibaba'"))
    assert "Index Only Scan" in plan and "Heap Fetches: 0" in plan, plan


def test_eval_runs_on_documents_in_postgres(pg: str, tmp_path: Path) -> None:
    """`assistant eval` with ASSISTANT_DATABASE_URL: its index in PostgreSQL (no SQLite
    file in its home), every question answered from it with checked citations, and the
    sample questions' figures what they are with the SQLite store."""
    import json

    import psycopg

    from assistant.cli import main
    from tests.conftest import ROOT, SAMPLES

    out = tmp_path / "out"
    assert main(["eval", "--dataset", "jsonl", "--data", str(ROOT / "eval" / "samples_qa.jsonl"),
                 "--corpus", str(SAMPLES), "--out", str(out), "--no-baseline"]) == 0
    assert not list((out / "home").glob("*.sqlite"))
    with Assistant(home=out / "home") as a:
        schema = a.store._docs.schema  # type: ignore[attr-defined]
    with psycopg.connect(pg, autocommit=True) as conn:
        assert conn.execute(f"SELECT COUNT(*) FROM {schema}.documents").fetchone() == (4,)
    ours = json.loads((out / "report.json").read_text())["ours"]
    assert ours["citation_validity"] == 1.0 and ours["contains_gold"] >= 0.9
    assert ours["refusal_rate_unanswerable"] >= 0.8 and ours["false_refusal_rate"] <= 0.1
