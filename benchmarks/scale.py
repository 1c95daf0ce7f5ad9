"""Scale: load N chunks into a store, then time an incremental ingest and queries.

    python benchmarks/scale.py --chunks 100000 [--server] [--json] [--home DIR]
    python benchmarks/scale.py --chunks 100000 --server --database postgresql://...

Synthetic documents (10 chunks each, words drawn from a Zipf-distributed vocabulary,
publication days spread over two years, 5% undated) and random unit vectors (so that
embedding time is not measured) go through ``Store.put``, the same door as ingest: the
journal, Chroma (embedded, or a `chroma run` server this script starts with ``--server``),
the SQLite commit with its FTS5 lexical rows. Then:

- ``incremental_1k_s``: 1,000 more documents put, and the first query after them answered
  (all the index maintenance a change costs);
- ``query_p50_ms``/``query_p95_ms``: ``HybridRetriever.search`` (dense + lexical + merge +
  the hits' text) for 200 random queries; ``filtered_p50_ms`` the same with an as-of date;
- ``lexical_p50_ms``/``dense_p50_ms``: the two searches inside a plain query, alone;
- ``incremental_vector_index_s``: the part of ``incremental_1k_s`` spent in Chroma;
- ``rss_mb``: the peak resident memory of this process (and of the Chroma server).

With ``--database`` the same corpus is loaded twice, into the SQLite store and into
PostgreSQL (a collection of its own in that database: use a scratch one), one after the
other in this run, and the PostgreSQL figures are also given as ratios to SQLite's.
``--readers N`` starts N processes that query the store all through the incremental ingest
(replicas reading while one writes) and reports their query p50 during it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DIM = 384
CHUNKS_PER_DOC = 10
WORDS_PER_CHUNK = 40


class RandomEmbedder:
    """Unit vectors drawn from a hash of the text: stable, and free to compute."""

    name = "random-384"
    dim = DIM

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        import numpy as np

        out = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
            out.append((v / np.linalg.norm(v)).tolist())
        return out


class Corpus:
    """Synthetic documents and vectors, made batch by batch (nothing held in memory)."""

    def __init__(self, seed: int = 7) -> None:
        import numpy as np

        self.rng = np.random.default_rng(seed)
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
        self.vocab = ["".join(letters[self.rng.integers(0, 26, self.rng.integers(3, 10))])
                      for _ in range(30000)]
        ranks = np.arange(1, len(self.vocab) + 1)
        self.p = (1 / ranks) / (1 / ranks).sum()
        self.first = date(2024, 6, 1)

    def words(self, n: int) -> list[str]:
        return [self.vocab[i] for i in self.rng.choice(len(self.vocab), n, p=self.p)]

    def document(self, n: int) -> tuple[Any, list[Any], list[list[float]]]:
        import numpy as np

        from assistant.types import Chunk, Document

        words = self.words(CHUNKS_PER_DOC * WORDS_PER_CHUNK)
        pieces = [" ".join(words[i:i + WORDS_PER_CHUNK]) + "."
                  for i in range(0, len(words), WORDS_PER_CHUNK)]
        text = "\n".join(pieces)
        day = None if self.rng.random() < 0.05 else (
            self.first + timedelta(days=int(self.rng.integers(0, 730)))).isoformat()
        doc = Document.make(f"synthetic://{n}", f"Document {n} {words[0]}", text,
                            published=day)
        chunks, at = [], 0
        for piece in pieces:
            chunks.append(Chunk.of(doc, at, at + len(piece)))
            at += len(piece) + 1
        v = self.rng.standard_normal((len(chunks), DIM)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return doc, chunks, v.tolist()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_chroma(path: Path) -> tuple[subprocess.Popen[bytes], str]:
    import urllib.request

    port = free_port()
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    proc = subprocess.Popen([exe, "run", "--path", str(path), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/api/v2/heartbeat", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the Chroma server did not start")


def peak_rss_mb(pid: int | None = None) -> float:
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def put(store: Any, corpus: Corpus, first: int, last: int, batch: int = 100) -> None:
    """Documents first..last-1, in batches as ingest writes them."""
    with store.writing():
        for at in range(first, last, batch):
            items = [corpus.document(n) for n in range(at, min(at + batch, last))]
            store.put_many([(doc, cs, vs, doc.id) for doc, cs, vs in items])


def build(store: Any, corpus: Corpus, docs: int, incremental: int, retriever: Any,
          ask: str, before_incremental: Any = None) -> tuple[float, float, float]:
    """Load the documents, then time ``incremental`` more (and the query after them):
    (load seconds, seconds per 1,000 more documents, of which in Chroma)."""
    t = time.perf_counter()
    put(store, corpus, 0, docs)
    load_s = time.perf_counter() - t
    retriever.search(ask, 6)  # open everything before timing
    n_new = max(1, incremental)
    new = [corpus.document(n) for n in range(docs, docs + n_new)]
    vector_s = []  # the time spent inside the vector index (Chroma) of that
    upsert = store._vectors.upsert

    def timed_upsert(*a: Any) -> None:
        t0 = time.perf_counter()
        upsert(*a)
        vector_s.append(time.perf_counter() - t0)

    store._vectors.upsert = timed_upsert
    if before_incremental is not None:
        before_incremental()
    t = time.perf_counter()
    with store.writing():
        for at in range(0, n_new, 100):
            store.put_many([(d, cs, vs, d.id) for d, cs, vs in new[at:at + 100]])
    retriever.search(ask, 6)
    incremental_s = time.perf_counter() - t
    return load_s, incremental_s * 1000 / n_new, sum(vector_s) * 1000 / n_new


def run(chunks: int, home: Path, server: bool, queries: int = 200,
        incremental: int = 1000, reuse: bool = False, databases: Sequence[str | None] = (None,),
        readers: int = 0) -> list[dict[str, Any]]:
    """Build a store per entry of ``databases`` (None: SQLite) one after the other, then
    time the queries alternating between them (ABAB), each query on every store in turn."""
    from assistant.retrieval import HybridRetriever
    from assistant.settings import load_settings
    from assistant.store import Store
    from assistant.types import Filters

    proc, url = start_chroma(home / "chroma-server") if server else (None, None)
    try:
        runs: list[tuple[Any, Any, dict[str, Any]]] = []
        docs = max(1, chunks // CHUNKS_PER_DOC)
        for database in databases:
            corpus = Corpus()  # the same documents in every store
            where = {"database_url": database, "collection": f"scale{chunks}"} \
                if database else {}
            store = Store(load_settings(home=home, chroma_url=url, **where), RandomEmbedder())
            retriever = HybridRetriever(store)
            load_s = incremental_s = vector_index_s = None
            reading: list[subprocess.Popen[str]] = []
            if not (reuse and store.document_count() >= docs):
                def start_readers() -> None:
                    reading.extend(start_reader(home, url, where) for _ in range(readers))
                load_s, incremental_s, vector_index_s = build(
                    store, corpus, docs, incremental, retriever, "warm up", start_readers)
            reader_ms = stop_readers(home, reading) if reading else []
            retriever.search("warm up", 6)  # open everything before timing
            result = {"store": "postgresql" if database else "sqlite",
                      "backend": "server" if server else "embedded",
                      "load_s": load_s and round(load_s, 1),
                      "incremental_1k_s": incremental_s and round(incremental_s, 2),
                      "incremental_vector_index_s": vector_index_s and round(vector_index_s, 2)}
            if reader_ms:
                result["readers"] = readers
                result["reader_p50_ms_while_writing"] = round(statistics.median(reader_ms), 1)
            runs.append((store, retriever, result))
        corpus = Corpus()
        asks = [" ".join(corpus.words(6)) for _ in range(queries)]
        middle = (corpus.first + timedelta(days=365)).isoformat()
        times: list[dict[str, list[float]]] = [{} for _ in runs]
        for q in asks:
            for (store, retriever, _), spent in zip(runs, times):
                for kind, step in (
                        ("plain", lambda: retriever.search(q, 6)),
                        ("filtered", lambda: retriever.search(q, 6, Filters(as_of=middle))),
                        ("lexical", lambda: store.lexical_search(q, 30)),
                        ("dense", lambda: store.vector_search(q, 30))):
                    t = time.perf_counter()
                    step()
                    spent.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
        out = []
        for (store, _, result), spent in zip(runs, times):
            plain = sorted(spent["plain"])
            result.update({"chunks": store.vector_count(),
                           "query_p50_ms": round(statistics.median(plain), 1),
                           "query_p95_ms": round(plain[int(0.95 * (len(plain) - 1))], 1),
                           **{f"{k}_p50_ms": round(statistics.median(spent[k]), 1)
                              for k in ("filtered", "lexical", "dense")},
                           "rss_mb": round(peak_rss_mb(), 0)})  # the process's peak so far
            if proc is not None:
                result["server_rss_mb"] = round(peak_rss_mb(proc.pid), 0)
            store.close()
            out.append(result)
        return out
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)


READER = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from benchmarks.scale import Corpus, RandomEmbedder
from assistant.retrieval import HybridRetriever
from assistant.settings import load_settings
from assistant.store import Store
store = Store(load_settings(**json.loads(sys.argv[2])), RandomEmbedder())
retriever, corpus, stop, times = HybridRetriever(store), Corpus(), Path(sys.argv[3]), []
retriever.search("warm up", 6)
print("ready", flush=True)
while not stop.exists():
    t = time.perf_counter()
    retriever.search(" ".join(corpus.words(6)), 6)
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps(times), flush=True)
"""


def start_reader(home: Path, chroma_url: str | None,
                 where: dict[str, Any]) -> subprocess.Popen[str]:
    """Another process on the same store (a replica), querying until ``home/stop-readers``
    exists; it then prints its query times."""
    opts = {"home": str(home), "chroma_url": chroma_url, **where}
    proc = subprocess.Popen([sys.executable, "-c", READER, str(ROOT), json.dumps(opts),
                             str(home / "stop-readers")], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def stop_readers(home: Path, procs: list[subprocess.Popen[str]]) -> list[float]:
    (home / "stop-readers").touch()
    times = [t for p in procs for t in json.loads(p.communicate(timeout=120)[0])]
    (home / "stop-readers").unlink()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--server", action="store_true", help="Chroma as a `chroma run` server")
    ap.add_argument("--home", type=Path, help="where to build the store (default: a "
                    "temporary directory, removed afterwards)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--incremental", type=int, default=1000,
                    help="documents added after the load (incremental_1k_s scales to 1,000)")
    ap.add_argument("--reuse", action="store_true", help="with --home: when it already "
                    "holds the chunks, only time the queries (load and incremental: null)")
    ap.add_argument("--database", metavar="URL", help="also run on PostgreSQL at URL and "
                    "compare with the SQLite store")
    ap.add_argument("--readers", type=int, default=0, help="processes querying the store "
                    "during the incremental ingest")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    tmp = None if args.home else tempfile.mkdtemp(prefix="assistant-scale-")
    home = args.home or Path(tmp or ".")
    try:
        found = run(args.chunks, home, args.server, args.queries, args.incremental,
                    args.reuse, [None, args.database] if args.database else [None],
                    args.readers)
        result: dict[str, Any] = found[0]
        if args.database:
            sqlite, pg = found
            ratios = {f"{k}_ratio": round(pg[k] / sqlite[k], 2) for k in
                      ("query_p50_ms", "filtered_p50_ms", "incremental_1k_s",
                       "reader_p50_ms_while_writing") if pg.get(k) and sqlite.get(k)}
            result = {"sqlite": sqlite, "postgresql": pg, **ratios}
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:18} {v}")  # with --database: the two stores' figures, then ratios


if __name__ == "__main__":
    main()
