"""What a command loads before it does anything: `assistant --help` and `--version` must
not import the heavy parts (torch, sentence-transformers, chromadb, onnxruntime)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("torch", "sentence_transformers", "transformers", "chromadb", "onnxruntime")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["ask", "--help"]])
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "assistant.cli", *args],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines()
                if line.startswith("import time:")}
    loaded = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    assert not loaded, loaded
