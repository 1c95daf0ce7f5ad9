"""A SIGKILL in the middle of an ingest leaves no half-written document, and a re-run
completes the job."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import Assistant
from tests.conftest import consistent


def make_articles(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        body = " ".join(f"Report {i} sentence {j} says the figure was {i * 7 + j} units."
                        for j in range(30))
        (folder / f"a{i:03d}.txt").write_text(f"Article number {i}\n{body}\n")


def committed(home: Path) -> int:
    dbs = list(home.glob("documents-*.sqlite"))
    if not dbs:
        return 0
    try:
        with sqlite3.connect(dbs[0], timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_sigkill_mid_ingest_then_rerun(tmp_path: Path) -> None:
    home, folder = tmp_path / "home", tmp_path / "articles"
    make_articles(folder, 120)
    env = {**os.environ, "ASSISTANT_HOME": str(home)}
    cmd = [sys.executable, "-m", "assistant.cli", "ingest", "--quiet", str(folder)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while committed(home) < 10 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = committed(home)
    assert 10 <= stored < 120

    with Assistant(home=home) as a:  # a reader sees every committed document whole
        assert a.store.check().rows_without_vectors == []
        assert len(a.sources()) == stored
    check = subprocess.run([sys.executable, "-m", "assistant.cli", "check", "--repair"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0 and "consistent" in check.stdout, check.stdout + check.stderr

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"unchanged {stored}," in done.stdout
    with Assistant(home=home) as a:
        consistent(a)
        assert len(a.sources()) == 120


KILLED_WRITER = """
import sys, time
import assistant.docstore as d
import assistant.pgstore as p
import assistant.vectors as v
from assistant import Assistant
from tests.conftest import FakeEmbedder
upsert, commits = v.VectorIndex.upsert, {d.DocStore: d.DocStore.commit,
                                         p.PgDocStore: p.PgDocStore.commit}
def slow_upsert(self, *a, **k):  # slower indexes, so that kills land all over the
    time.sleep(0.3)              # write protocol: before, during and after each step
    upsert(self, *a, **k)
    time.sleep(0.3)
def slow_commit(self, writes):  # either document store: a batch of documents at once
    time.sleep(0.06 * len(writes))
    return commits[type(self)](self, writes)
v.VectorIndex.upsert = slow_upsert
d.DocStore.commit = p.PgDocStore.commit = slow_commit
with Assistant(home=sys.argv[1], embedder=FakeEmbedder()) as a:
    print("ready", flush=True)  # imports done: the write protocol starts now (~2.4 s)
    a.ingest([sys.argv[2]], progress=False)
print("done")
"""


@pytest.mark.parametrize("database,trials", [("sqlite", 20), ("postgres", 20)])
def test_sigkill_at_random_points(tmp_path: Path, database: str, trials: int,
                                  request: pytest.FixtureRequest,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL an ingest at a random moment of its run, 20 times (with PostgreSQL too, whose
    advisory lock the killed session frees). After each kill a reader sees no chunk row
    without its vector; the next writer repairs and completes, and every document is then
    stored once, consistently."""
    import random

    from tests.conftest import ROOT, FakeEmbedder, consistent

    if database == "postgres":
        monkeypatch.setenv("ASSISTANT_DATABASE_URL", request.getfixturevalue("postgres"))
    rng = random.Random(20261130)
    folder = tmp_path / "articles"
    make_articles(folder, 30)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kills = 0
    for trial in range(trials):
        home = tmp_path / f"home{trial}"
        proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(home), str(folder)],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        # Kills land all over the write protocol, however fast the imports were.
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 2.2))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        _, err = proc.communicate(timeout=300)
        assert proc.returncode in (0, -signal.SIGKILL), err[-2000:]
        if not home.exists():
            continue
        with Assistant(home=home, embedder=FakeEmbedder()) as a:
            found = a.store.check()  # a reader: sees, never repairs
            assert found.rows_without_vectors == [], found.summary()
            assert found.bad_spans == [] and found.documents_without_chunks == []
            stored = len(a.sources())
            report = a.ingest([folder], progress=False)  # the next writer repairs
            assert len(report.unchanged) == stored and len(report.added) == 30 - stored
            consistent(a)
            assert len(a.sources()) == 30
    assert kills == trials
