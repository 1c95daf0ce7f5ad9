"""One ingest-and-search contract over every store backend (embedded Chroma and a real
`chroma run` server; the SQLite file and a real PostgreSQL) and every embedder (the
packaged model and the fake)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.embedder import OnnxEmbedder, SentenceTransformerEmbedder
from tests.conftest import FakeEmbedder
from tests.conftest import consistent


@pytest.fixture(params=["embedded", "server", "postgres", "server+postgres"])
def backend(request: pytest.FixtureRequest, home: Path,
            monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    if "postgres" in request.param:
        monkeypatch.setenv("ASSISTANT_DATABASE_URL", request.getfixturevalue("postgres"))
    if "server" in request.param:
        url = request.getfixturevalue("chroma_server")
        monkeypatch.setenv("ASSISTANT_CHROMA_URL", url)
        return {"collection": f"t{abs(hash(str(home))) % 10**8}"}
    return {}


def test_ingest_and_search_contract(backend: dict[str, str], home: Path,
                                    samples_copy: Path, real_embedder) -> None:
    with Assistant(home=home, embedder=real_embedder, **backend) as a:
        if os.environ.get("ASSISTANT_CHROMA_URL"):
            assert a.settings.chroma_url and "127.0.0.1" in a.settings.chroma_url
            assert not (home / "chroma").exists(), "server mode keeps no local Chroma"
        if os.environ.get("ASSISTANT_DATABASE_URL"):
            assert not list(home.glob("*.sqlite")), "PostgreSQL mode keeps no SQLite file"
        r = a.ingest([samples_copy])
        assert len(r.added) == 4
        hits = a.store.vector_search("How much has Alibaba committed to AI?", 3)
        rows = a.store.chunk_rows([h.chunk_id for h in hits])
        top_doc = a.document(rows[hits[0].chunk_id][0])
        assert "380 billion yuan" in top_doc.text
        assert hits[0].similarity > 0.4 and hits[0].similarity >= hits[-1].similarity
        assert not a.ingest([samples_copy]).added
        a.remove(top_doc.id)
        consistent(a)
        assert a.store.vector_count() == sum(s.chunks for s in a.sources())


@pytest.mark.parametrize("make", [FakeEmbedder, SentenceTransformerEmbedder, OnnxEmbedder,
                                  lambda: SentenceTransformerEmbedder(bf16=True), "auto",
                                  "server"],
                         ids=["fake", "minilm-torch", "minilm-onnx-int8", "minilm-torch-bf16",
                              "minilm-auto", "embeddings-server"])
def test_embedder_contract(make: object, request: pytest.FixtureRequest) -> None:
    if make == "server":
        from assistant.embed_server import OpenAIEmbedder

        url = request.getfixturevalue("embeddings_server")
        e = OpenAIEmbedder(url, "multilingual-e5-small", batch_size=2, concurrency=2)
        assert e.name == "server:multilingual-e5-small" and e.dim == 384
    elif make == "auto":
        from assistant.embedder import AutoEmbedder

        e = AutoEmbedder("all-MiniLM-L6-v2", Path("~/.cache/assistant"), 16)
    else:
        e = make()  # type: ignore[operator]
    vecs = e.embed(["Alibaba invests in cloud computing.", "Alibaba spends on cloud.",
                    "The telescope orbits the sun."])
    assert len(vecs) == 3 and all(len(v) == e.dim for v in vecs)
    for v in vecs:
        assert math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-3)
    dot = lambda a, b: sum(x * y for x, y in zip(a, b))  # noqa: E731
    assert dot(vecs[0], vecs[1]) > dot(vecs[0], vecs[2])
    assert e.embed([]) == []
    assert isinstance(e.name, str) and e.name


def test_packaged_model_loads_offline(tmp_path: Path) -> None:
    e = SentenceTransformerEmbedder()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert e.name == "all-MiniLM-L6-v2" and e.dim == 384
    q = OnnxEmbedder(cache_dir=tmp_path)  # a fresh export, from the local files only
    assert q.name == "all-MiniLM-L6-v2+int8" and q.dim == 384
    assert not list(tmp_path.glob("onnx/*/model-int8.onnx"))  # the size needs no model
    texts = ["Cloud revenue grew 26%.", "The telescope launched on 25 December 2021.",
             "Fines reach 7% of turnover."] * 3
    for a, b in zip(e.embed(texts), q.embed(texts)):
        assert sum(x * y for x, y in zip(a, b)) > 0.97, "int8 stays close to the float model"
    assert list(tmp_path.glob("onnx/*/model-int8.onnx"))  # exported on first use


def test_the_forms_of_the_model_agree_and_share_an_index(tmp_path: Path,
                                                         samples_copy: Path) -> None:
    """int8 ONNX, float32 and bfloat16 give vectors within cosine 0.99 of each other, so
    an index written by one form (chosen for the CPU that wrote it) is searched by
    another; a different model is still refused."""
    from assistant.embedder import same_model
    from assistant.errors import EmbedderMismatch

    texts = [p.read_text(encoding="utf-8")[:1200] for p in sorted(samples_copy.iterdir())]
    forms = [SentenceTransformerEmbedder(), OnnxEmbedder(),
             SentenceTransformerEmbedder(bf16=True)]
    vecs = [f.embed(texts) for f in forms]
    for other in vecs[1:]:
        for a, b in zip(vecs[0], other):
            assert sum(x * y for x, y in zip(a, b)) > 0.99
    assert same_model("all-MiniLM-L6-v2+int8", "all-MiniLM-L6-v2+bf16")
    assert not same_model("all-MiniLM-L6-v2", "server:multilingual-e5-small")
    with Assistant(home=tmp_path / "h", embedder=forms[1]) as a:
        assert a.ingest([samples_copy], progress=False).ok
    with Assistant(home=tmp_path / "h", embedder=forms[2]) as a:
        assert "Alibaba" in a.search("How much has Alibaba committed to AI?", k=1)[0].title
    with pytest.raises(EmbedderMismatch):
        Assistant(home=tmp_path / "h", embedder=FakeEmbedder())


def test_auto_backend_times_the_forms_once_per_cpu(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`auto` times the candidate forms on this CPU, keeps the fastest and remembers it;
    bfloat16 is a candidate only where the CPU has it natively (AMX, AVX512-BF16)."""
    from assistant import embedder as E

    assert E.candidates({"avx2"}) == ["onnx-int8", "torch"]
    assert E.candidates({"avx2", "amx_bf16"}) == ["onnx-int8", "torch", "torch-bf16"]
    timed: list[str] = []
    real_build = E.build

    def build(backend: str, *args: object) -> object:
        timed.append(backend)
        return real_build(backend, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(E, "build", build)
    monkeypatch.setattr(E, "PROBE_TEXTS", 4)  # bfloat16 is emulated (slow) on this CPU
    OnnxEmbedder().dim  # the shared ONNX export exists; the test's cache links to it
    (tmp_path / "onnx").symlink_to(Path("~/.cache/assistant/onnx").expanduser())
    amx = ("Test CPU with AMX", {"avx512f", "amx_bf16", "amx_tile"})
    choice = E.choose_backend("all-MiniLM-L6-v2", tmp_path, 16, amx)
    assert sorted(timed) == ["onnx-int8", "torch", "torch-bf16"] and choice in timed
    timed.clear()
    assert E.choose_backend("all-MiniLM-L6-v2", tmp_path, 16, amx) == choice
    assert timed == [], "the choice is remembered, not timed again"
    here = E.choose_backend("all-MiniLM-L6-v2", tmp_path, 16)  # this machine's CPU
    assert here in E.candidates(E.cpu()[1])
    assert len(__import__("json").loads((tmp_path / "encoder-choice.json").read_text())) == 2


def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    from assistant.errors import ConfigError

    with pytest.raises(ConfigError, match="no model files"):
        SentenceTransformerEmbedder(str(tmp_path / "nope"))


def test_ingest_through_an_embeddings_server(tmp_path: Path, samples_copy: Path,
                                             embeddings_server: str) -> None:
    """The whole path with a real embeddings server; the index records the model, so the
    in-process model cannot be used on it by mistake."""
    from assistant.errors import EmbedderMismatch

    settings = {"embed_base_url": embeddings_server, "embed_model": "multilingual-e5-small"}
    with Assistant(home=tmp_path / "h", **settings) as a:
        assert a.ingest([samples_copy], progress=False).ok
        hits = a.search("How much has Alibaba committed to AI?", k=2)
        assert "Alibaba" in hits[0].title
        consistent(a)
    with pytest.raises(EmbedderMismatch, match="server:multilingual-e5-small"):
        Assistant(home=tmp_path / "h")


def test_embeddings_server_faults(openai_fake) -> None:
    from assistant.embed_server import OpenAIEmbedder
    from assistant.errors import EmbedderError

    openai_fake.script({"embeddings": True})
    e = OpenAIEmbedder(openai_fake.url, "m", batch_size=3, concurrency=3, retries=2)
    texts = [f"text number {i}" for i in range(10)]
    assert e.embed(texts) == FakeEmbedder().embed(texts), "batches come back in order"
    assert len(openai_fake.requests) == 1 + 4  # the dimension probe, then 4 batches
    openai_fake.script({"status": 429, "body": b'{"error": {"message": "slow"}}'},
                       {"embeddings": True})
    assert len(e.embed(["a"])) == 1 and len(openai_fake.requests) == 2, "429, retried"
    openai_fake.script({"status": 200, "body": b'{"data": "nonsense"}'})
    with pytest.raises(EmbedderError, match="malformed"):
        e.embed(["a"])
    openai_fake.script({"status": 500, "body": b'{"error": {"message": "boom"}}'})
    with pytest.raises(EmbedderError, match="HTTP 500") as ei:
        OpenAIEmbedder(openai_fake.url, "m", retries=0)
    assert "\n" not in str(ei.value)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_document_stores_implement_the_interface(kind: str, tmp_path: Path,
                                                     request: pytest.FixtureRequest) -> None:
    """Every method of ``DocumentStore`` exists on each store with the same parameters,
    so another implementation has one list to follow."""
    import inspect

    from assistant.docstore import DocStore
    from assistant.documents import DocumentStore
    from assistant.pgstore import PgDocStore

    store = (DocStore(tmp_path / "d.sqlite") if kind == "sqlite" else
             PgDocStore(request.getfixturevalue("postgres"), str(tmp_path), tmp_path / "pg"))
    try:
        assert isinstance(store, DocumentStore)
        for name, member in vars(DocumentStore).items():
            if callable(member) and not name.startswith("_"):
                want = list(inspect.signature(member).parameters)[1:]
                assert list(inspect.signature(getattr(store, name)).parameters) == want, name
    finally:
        store.close()


def test_auto_sends_small_batches_to_onnx_and_bulk_ones_to_the_chosen_form(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A question's few texts never load the bulk form (no torch in a cold `ask`); an
    ingest-sized batch goes to the form timed fastest, and both agree on the vectors."""
    from assistant import embedder as E

    monkeypatch.setattr(E, "choose_backend", lambda *a: "torch")
    e = E.AutoEmbedder("all-MiniLM-L6-v2", Path("~/.cache/assistant"), 16)
    small = e.embed(["Alibaba invests in cloud computing."])
    assert e._bulk is None and e.name.endswith("+int8")
    texts = ["Alibaba invests in cloud computing."] * E.AutoEmbedder.BULK
    bulk = e.embed(texts)
    assert isinstance(e._bulk, SentenceTransformerEmbedder)
    assert sum(x * y for x, y in zip(small[0], bulk[0])) > 0.99


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_commit_of_several_documents_is_all_or_none(kind: str, tmp_path: Path,
                                                      request: pytest.FixtureRequest) -> None:
    """``DocumentStore.commit`` of a batch: every document lands, a uri written twice keeps
    its last write (the first one's chunk ids come back, to drop from the vector index),
    and a batch that fails on one document stores none of them."""
    import sqlite3

    import psycopg

    from assistant.docstore import DocStore
    from assistant.documents import Write
    from assistant.pgstore import PgDocStore
    from assistant.types import Chunk, Document

    def write(uri: str, text: str) -> Write:
        doc = Document.make(uri, uri, text, published="2026-01-02")
        chunks = [Chunk.of(doc, 0, len(text))]
        return Write(doc, chunks, [None], "h")

    store = (DocStore(tmp_path / "d.sqlite") if kind == "sqlite" else
             PgDocStore(request.getfixturevalue("postgres"), str(tmp_path), tmp_path / "pg"))
    try:
        a, b, b2 = write("u:a", "Alpha won."), write("u:b", "Beta lost."), \
            write("u:b", "Beta won after all.")
        assert store.commit([a, b]) == []
        version = store.version()
        replaced = store.commit([write("u:c", "Gamma drew."), b2, write("u:b", "Beta tied.")])
        assert set(replaced) == {b.chunks[0].id, b2.chunks[0].id}
        assert store.version() > version
        assert store.get_by_uri("u:b").text == "Beta tied."
        assert store.count() == (3, 3)
        assert [c for c, _ in store.lexical_search(["tied"], 5)] == \
            store.chunk_ids_of(store.get_by_uri("u:b").id)
        assert store.lexical_search(["lost"], 5) == []
        version, bad = store.version(), write("u:d", "Delta ran.")
        bad = Write(bad.doc, bad.chunks * 2, [None, None], "h")  # one chunk id twice
        with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
            store.commit([write("u:e", "Epsilon ran."), bad])
        assert store.get_by_uri("u:e") is None and store.get_by_uri("u:d") is None
        assert store.count() == (3, 3) and store.version() == version
        assert store.lexical_problem() is None
    finally:
        store.close()
