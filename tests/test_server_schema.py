"""`assistant serve` against its own /openapi.json: schemathesis (examples, coverage and
fuzzing phases, every check) finds no server error, no undocumented status or content type,
no request the schema allows that is refused, and none it forbids that is accepted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ROOT, SAMPLES
from tests.test_server import start


def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"  # the fuzzer ingests and deletes: a home of its own
    env = {**os.environ, "ASSISTANT_HOME": str(home)}
    r = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet",
                        str(SAMPLES)], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    for base in start(tmp_path, home):
        st = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or \
            shutil.which("schemathesis")
        assert st, "schemathesis is installed by the README's test command"
        run = subprocess.run(
            [st, "--config-file", str(ROOT / "tests" / "schemathesis.toml"), "run",
             f"{base}/openapi.json", "--max-examples", "15", "--seed", "1",
             "--request-timeout", "60", "--no-color"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path)
        assert run.returncode == 0, run.stdout[-6000:]
        assert " passed" in run.stdout and "failed" not in run.stdout.split("SUMMARY")[-1]


def test_the_schema_says_what_the_server_does(tmp_path: Path) -> None:
    """The exact cases behind the fuzzer's first findings: a 405 lists every method of the
    path, documented errors replace FastAPI's never-sent 422, and an ingest through the API
    fetches web addresses only, never a file on the server's disk."""
    for base in start(tmp_path, tmp_path / "home"):
        r = httpx.request("TRACE", f"{base}/api/documents/0123456789abcdef")
        assert r.status_code == 405 and {"GET", "DELETE"} <= set(r.headers["allow"].split(", "))
        schema = httpx.get(f"{base}/openapi.json").json()
        ask = schema["paths"]["/api/ask"]["post"]
        assert "422" not in ask["responses"] and {"400", "503"} <= set(ask["responses"])
        secret = tmp_path / "server-side.txt"
        secret.write_text("A file on the server that no client may ingest.")
        r = httpx.post(f"{base}/api/ingest", files={"url": (None, str(secret))})
        assert r.status_code == 400 and "url" in r.json()["error"]["message"]
        assert httpx.get(f"{base}/api/sources").json() == []
        r = httpx.post(f"{base}/api/ask", json={"question": "Who?", "as_of": ""})
        assert r.status_code == 400 and "date" in r.json()["error"]["message"]
        r = httpx.post(f"{base}/v1/chat/completions",
                       json={"messages": [{"role": "user", "content": "Hi"}], "stream": 0})
        assert r.status_code == 400 and "stream" in r.json()["error"]["message"]
