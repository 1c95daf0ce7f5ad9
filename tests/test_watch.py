"""`assistant watch`: rounds on a schedule against a real feed on 127.0.0.1 that changes
between them, a source that fails every round, and SIGTERM stopping it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.cli_watch import parse_every
from assistant.errors import ConfigError
from tests.test_feeds import item, rss, serve_pages


def watch(home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_ALLOW_PRIVATE_URLS": "true",
           "ASSISTANT_FEED_DELAY": "0"}
    return subprocess.Popen([sys.executable, "-m", "assistant.cli", "watch", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def next_line(proc: subprocess.Popen, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if line:
            return line.strip()
        if proc.poll() is not None:
            break
    raise AssertionError(f"no line from watch; stderr: {proc.stderr.read()[-2000:]}")  # type: ignore[union-attr]


def test_two_rounds_pick_up_what_the_feed_added(http_dir: tuple[str, Path],
                                                tmp_path: Path) -> None:
    base, root = http_dir
    serve_pages(root)
    feed = root / "feed.xml"
    feed.write_bytes(rss([item("Ostend ferry sets a record", "ostend.html")]))
    proc = watch(tmp_path / "home", f"{base}/feed.xml", f"{base}/gone.xml", "--every", "3s",
                 "--rounds", "2")
    try:
        first = next_line(proc)
        assert "round 1: added 1," in first and "failed 1," in first, first
        feed.write_bytes(rss([item("Ostend ferry sets a record", "ostend.html"),
                              item("Calais lorries", "calais.html")]))
        second = next_line(proc)
        assert "round 2: added 1," in second and "unchanged 1," in second, second
        assert "failed 1," in second  # the dead source is tried again, and said so again
        assert next_line(proc).endswith("done after 2 rounds")
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
    stderr = proc.stderr.read()  # type: ignore[union-attr]
    assert stderr.count("gone.xml") == 2 and "404" in stderr
    listed = subprocess.run([sys.executable, "-m", "assistant.cli", "sources", "--json",
                             "--home", str(tmp_path / "home")], capture_output=True,
                            text=True, check=True)
    titles = sorted(r["title"] for r in json.loads(listed.stdout))
    assert titles == ["Calais lorries", "Ostend ferry sets a record"]


def test_sigterm_stops_it_cleanly(http_dir: tuple[str, Path], tmp_path: Path) -> None:
    base, root = http_dir
    serve_pages(root)
    (root / "feed.xml").write_bytes(rss([item("Ostend ferry sets a record", "ostend.html")]))
    proc = watch(tmp_path / "home", f"{base}/feed.xml", "--every", "1h")
    try:
        assert "round 1: added 1," in next_line(proc)
        t = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert "SIGTERM: stopping" in next_line(proc, timeout=30)
        assert next_line(proc, timeout=30).endswith("stopped")
        assert proc.wait(timeout=30) == 0 and time.monotonic() - t < 30  # not the hour
    finally:
        proc.kill()
    check = subprocess.run([sys.executable, "-m", "assistant.cli", "check", "--json",
                            "--home", str(tmp_path / "home")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_stop_between_sources_keeps_what_was_read_and_syncs_nothing(
        tmp_path: Path) -> None:
    from assistant import Assistant
    from tests.conftest import FakeEmbedder

    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(3):
        (folder / f"n{i}.txt").write_text(f"Note {i}\n\nThe ferry carried {i} cars.\n")
    with Assistant(home=tmp_path / "home", embedder=FakeEmbedder()) as a:
        assert len(a.ingest([folder], progress=False).added) == 3
        (folder / "n0.txt").unlink()
        (folder / "n3.txt").write_text("Note 3\n\nThe ferry carried 3 cars.\n")
        asked = []
        report = a.ingest([folder], sync=True, progress=False,
                          stop=lambda: asked.append(1) or True)
        assert report.stopped and len(asked) == 1 and "stopped before the end" in (
            report.summary())
        assert not report.removed  # an unfinished walk deletes nothing
        assert len(a.sources()) == 3 + len(report.added)  # n0.txt is still there
        assert all(a.document(r.id) for r in a.sources())


def test_every_needs_a_unit() -> None:
    assert parse_every("90s") == 90 and parse_every("30m") == 1800 and parse_every("2H") == 7200
    for bad in ("30", "0m", "-5m", "soon"):
        with pytest.raises(ConfigError, match="--every"):
            parse_every(bad)
