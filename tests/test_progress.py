"""A progress bar on a terminal, silence in a pipe; a summary at the end either way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect


def test_progress_bar_on_a_terminal_only(samples_copy: Path, tmp_path: Path) -> None:
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "h1"), "COLUMNS": "120"}
    child = pexpect.spawn(sys.executable, ["-m", "assistant.cli", "ingest", str(samples_copy)],
                          env=env, encoding="utf-8", timeout=180, dimensions=(24, 120),
                          use_poll=True)
    child.expect(pexpect.EOF)
    child.close()
    out = child.before
    assert child.exitstatus == 0, out
    assert "ingest:" in out and "doc" in out and "chunks_s=" in out, out
    assert "4/4" in out, "the bar has a total"
    rate = float(out.rsplit("chunks_s=", 1)[1].split("]")[0].split(",")[0])
    assert 0 < rate < 10_000, f"a real rate, not a clock mix-up: {rate}"
    assert "added 4, updated 0" in out

    env["ASSISTANT_HOME"] = str(tmp_path / "h2")
    piped = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", str(samples_copy)],
                           env=env, capture_output=True, text=True, timeout=180)
    assert piped.returncode == 0
    assert "chunks_s" not in piped.stderr and "ingest:" not in piped.stderr, piped.stderr
    assert piped.stdout.startswith("added 4, updated 0")
