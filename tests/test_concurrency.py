"""Many readers and one writer, as users cause them: real processes on one home.

Before the fix, opening the store ran the journal repair, so a reader that opened the
store while a writer was between writing vectors and committing deleted the writer's
vectors for good (chunk rows without vectors, a document that search never finds)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import Assistant
from tests.conftest import ROOT, FakeEmbedder, consistent

# The writer's vector index is slow (as a loaded Chroma server is), which widens the window
# between writing a document's vectors and committing it, where the defect struck.
WRITER = """
import sys, time
import assistant.vectors as v
from assistant import Assistant
from tests.conftest import FakeEmbedder
upsert = v.VectorIndex.upsert
def slow(self, *a, **k):  # each batch of vectors waits, then is written
    time.sleep(float(sys.argv[3]))
    upsert(self, *a, **k)
v.VectorIndex.upsert = slow
with Assistant(home=sys.argv[1], embedder=FakeEmbedder()) as a:
    r = a.ingest([sys.argv[2]], progress=False)
    print(len(r.added), len(r.unchanged), len(r.failed))
"""

READER = """
import sys, json
from assistant.settings import load_settings
from assistant.store import Store
from tests.conftest import FakeEmbedder
opened, seen = 0, 0
for i in range(int(sys.argv[2])):
    s = Store(load_settings(home=sys.argv[1]), FakeEmbedder())
    seen = max(seen, len(s.records()))
    s.vector_count()  # opens the vector index too (the store opens it on first use)
    s.close()
    opened += 1
print(json.dumps({"opened": opened, "max_seen": seen}))
"""


def articles(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        body = " ".join(f"Report {i} sentence {j} gives figure {i * 13 + j}." for j in range(12))
        (folder / f"a{i:03d}.txt").write_text(f"Article number {i}\n{body}\n")
    return folder


def run(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("where", ["embedded", "chroma-server"])
def test_readers_never_destroy_a_writers_vectors(tmp_path: Path, where: str,
                                                 request: pytest.FixtureRequest,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    if where == "chroma-server":
        monkeypatch.setenv("ASSISTANT_CHROMA_URL", request.getfixturevalue("chroma_server"))
        monkeypatch.setenv("ASSISTANT_COLLECTION", f"c{os.getpid()}{time.time_ns()}")
    home, folder = tmp_path / "home", articles(tmp_path / "articles", 100)
    with Assistant(home=home, embedder=FakeEmbedder()):
        pass  # the home exists before both start
    writer = run(WRITER, str(home), str(folder), "0.15")
    reader = run(READER, str(home), "300")
    r_out, r_err = reader.communicate(timeout=600)
    w_out, w_err = writer.communicate(timeout=600)
    assert reader.returncode == 0, r_err[-2000:]
    assert writer.returncode == 0, w_err[-2000:]
    stats = json.loads(r_out)
    assert stats["opened"] == 300
    assert 0 < stats["max_seen"], "the reads overlapped the ingest"
    assert w_out.split() == ["100", "0", "0"]
    with Assistant(home=home, embedder=FakeEmbedder()) as a:
        report = a.check()
        assert report.rows_without_vectors == [] and report.orphan_vectors == []
        consistent(a)
        assert len(a.sources()) == 100


def test_two_writers_wait_for_each_other_and_count_once(tmp_path: Path, database: str) -> None:
    home, folder = tmp_path / "home", articles(tmp_path / "articles", 40)
    with Assistant(home=home, embedder=FakeEmbedder()):
        pass
    first = run(WRITER, str(home), str(folder), "0.05")
    time.sleep(1.0)
    second = run(WRITER, str(home), str(folder), "0.05")
    outs = [p.communicate(timeout=600) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    counts = sorted(tuple(map(int, out.split())) for out, _ in outs)
    assert sum(c[0] for c in counts) == 40, f"each document added once: {counts}"
    assert sum(c[0] + c[1] for c in counts) == 80
    assert "waiting: another writer" in outs[1][1] or counts[0][0] == 0
    with Assistant(home=home, embedder=FakeEmbedder()) as a:
        consistent(a)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The document store of the test's processes: the SQLite file (its flock) or a real
    PostgreSQL (its advisory lock), through the environment the subprocesses inherit."""
    if request.param == "postgres":
        monkeypatch.setenv("ASSISTANT_DATABASE_URL", request.getfixturevalue("postgres"))
    return str(request.param)


def test_write_lock_timeout_is_one_line(tmp_path: Path, database: str) -> None:
    """A second writer waits, then gives up in one line naming the holder; reads never
    wait; a holder SIGKILLed frees the lock (its flock or its database session)."""
    from assistant.errors import StoreBusy

    home = tmp_path / "home"
    with Assistant(home=home, embedder=FakeEmbedder()) as holder:
        holder.ingest([articles(tmp_path / "a", 2)], progress=False)
        hold = run("import sys, time\nfrom assistant import Assistant\n"
                   "from tests.conftest import FakeEmbedder\n"
                   "a = Assistant(home=sys.argv[1], embedder=FakeEmbedder())\n"
                   "with a.store.writing():\n    print('held', flush=True)\n"
                   "    time.sleep(60)\n", str(home))
        try:
            assert hold.stdout is not None and hold.stdout.readline().strip() == "held"
            with Assistant(home=home, embedder=FakeEmbedder(), write_lock_timeout=1) as a:
                t = time.monotonic()
                with pytest.raises(StoreBusy) as ei:
                    a.remove(a.sources()[0].id)
                message = str(ei.value)
                assert "\n" not in message and "ASSISTANT_WRITE_LOCK_TIMEOUT" in message
                assert f"pid {hold.pid}" in message
                if database == "postgres":
                    assert "127.0.0.1" in message, "names the server, not a local path"
                assert time.monotonic() - t >= 1
                assert len(a.sources()) == 2, "reads do not wait for the writer"
                hold.send_signal(signal.SIGKILL)
                hold.wait()
                a.remove(a.sources()[0].id)
                assert len(a.sources()) == 1
        finally:
            hold.kill()
            hold.wait()


def test_fresh_home_opened_by_many_processes_at_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    procs = [run("import sys\nfrom assistant import Assistant\n"
                 "from tests.conftest import FakeEmbedder\n"
                 "with Assistant(home=sys.argv[1], embedder=FakeEmbedder()) as a:\n"
                 "    print(len(a.sources()))\n", str(home)) for _ in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and out.strip() == "0", err[-1500:]


def test_chroma_server_killed_mid_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Chroma server killed mid-ingest: one line, nothing half-written; after the
    server is back, the next run repairs and completes."""
    from assistant.errors import StoreError
    from tests.conftest import ChromaProcess

    chroma = ChromaProcess(tmp_path / "chroma")
    monkeypatch.setenv("ASSISTANT_CHROMA_URL", chroma.url)
    home, folder = tmp_path / "home", articles(tmp_path / "articles", 30)
    chroma.start()
    try:
        writer = run(WRITER, str(home), str(folder), "8")  # one batch, written at ~10 s
        time.sleep(5)
        assert writer.poll() is None, "the ingest ended before the server was killed"
        chroma.kill()
        _, err = writer.communicate(timeout=300)
        last = err.strip().splitlines()[-1]
        assert last.startswith("assistant.errors.StoreError: Chroma at http://127.0.0.1"), err
        assert "failed during" in last
        with pytest.raises(StoreError, match="^Chroma at http://127.0.0.1.*is the server "
                           "running") as ei:
            Assistant(home=home, embedder=FakeEmbedder())
        assert "\n" not in str(ei.value)
        chroma.start()
        with Assistant(home=home, embedder=FakeEmbedder()) as a:
            assert a.store.check().rows_without_vectors == []
            a.ingest([folder], progress=False)
            consistent(a)
            assert len(a.sources()) == 30
    finally:
        chroma.stop()
