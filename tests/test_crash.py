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

from assistant import Assistant
from tests.test_ingest import consistent


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

    with Assistant(home=home) as a:  # opening repairs what the kill interrupted
        consistent(a)
        assert len(a.sources()) == stored

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"unchanged {stored}," in done.stdout
    with Assistant(home=home) as a:
        consistent(a)
        assert len(a.sources()) == 120
