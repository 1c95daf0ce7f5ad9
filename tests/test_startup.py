"""What a command loads before it does anything: `assistant --help` and `--version` must
not import the heavy parts (torch, sentence-transformers, chromadb, onnxruntime), and
`assistant sources` must not load the embedding model."""

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


def test_listing_sources_loads_no_model(tmp_path) -> None:
    """`assistant sources` reads SQLite: it must not load the embedding model (torch,
    transformers, onnxruntime) only to learn its dimension, nor open the embedded vector
    index (chromadb)."""
    import os

    from tests.conftest import SAMPLES

    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home")}
    for backend in ("torch", "onnx-int8"):
        env["ASSISTANT_EMBED_BACKEND"] = backend
        subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet",
                        str(SAMPLES)], env=env, check=True, capture_output=True, timeout=600)
        r = subprocess.run([sys.executable, "-X", "importtime", "-m", "assistant.cli",
                            "sources"], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "Alibaba bets its future" in r.stdout, r.stderr[-2000:]
        imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines()
                    if line.startswith("import time:")}
        model = ("torch", "sentence_transformers", "transformers", "onnxruntime", "chromadb")
        assert not sorted(m for m in imported if m.split(".")[0] in model), backend


def test_a_first_question_counts_model_loading_apart(tmp_path) -> None:
    """A new process's first question loads the embedder: that time is reported as
    loading (``load_ms``), not as retrieval; the second question loads nothing."""
    import json
    import os

    from tests.conftest import SAMPLES

    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home")}
    subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet", str(SAMPLES)],
                   env=env, check=True, capture_output=True, timeout=600)
    script = ("import json\nfrom assistant.api import Assistant\n"
              "with Assistant() as a:\n"
              "    print(json.dumps([a.ask('Who leads Nvidia?').timings for _ in range(2)]))\n")
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    first, second = json.loads(r.stdout.splitlines()[-1])
    assert first["load_ms"] > 0 and first["retrieve_ms"] >= 0
    assert "load_ms" not in second


def test_a_cold_ask_imports_no_torch(tmp_path) -> None:
    """With the default encoder form (`auto`), a question in a new process runs on the
    int8 ONNX form: torch, sentence-transformers and transformers are never imported."""
    import os

    from tests.conftest import SAMPLES

    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home")}
    env.pop("ASSISTANT_EMBED_BACKEND", None)
    subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet", str(SAMPLES)],
                   env=env, check=True, capture_output=True, timeout=600)
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "assistant.cli", "ask",
                        "How much has Alibaba committed to AI?"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "380 billion yuan" in r.stdout, r.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines()
                if line.startswith("import time:")}
    heavy = sorted(m for m in imported if m.split(".")[0] in ("torch", "transformers",
                                                               "sentence_transformers"))
    assert not heavy, heavy[:10]
