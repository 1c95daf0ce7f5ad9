"""Incremental, idempotent ingestion: nothing lost, duplicated or half-written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.errors import EmbedderMismatch, NotFound
from tests.conftest import FakeEmbedder, consistent


def test_reingest_unchanged_embeds_nothing(fake_assistant: Assistant,
                                           fake_embedder: FakeEmbedder,
                                           samples_copy: Path) -> None:
    r1 = fake_assistant.ingest([samples_copy])
    assert len(r1.added) == 4 and r1.ok and r1.chunks > 0
    assert fake_embedder.texts_embedded == r1.chunks
    r2 = fake_assistant.ingest([samples_copy])
    assert len(r2.unchanged) == 4 and not r2.added and not r2.updated
    assert fake_embedder.texts_embedded == r1.chunks, "unchanged sources cost no embedding"
    consistent(fake_assistant)


def test_changed_source_replaces_its_chunks(fake_assistant: Assistant,
                                            fake_embedder: FakeEmbedder,
                                            samples_copy: Path) -> None:
    fake_assistant.ingest([samples_copy])
    f = samples_copy / "webb-telescope.md"
    old = fake_assistant.store.get_by_uri(str(f.resolve()))
    f.write_text(f.read_text().replace("6.5 metres", "six and a half metres"))
    before = fake_embedder.texts_embedded
    r = fake_assistant.ingest([samples_copy])
    assert r.updated == [str(f.resolve())] and len(r.unchanged) == 3
    new = fake_assistant.store.get_by_uri(str(f.resolve()))
    assert new.id != old.id and "six and a half" in new.text
    assert fake_assistant.store.find(old.id) is None
    assert fake_embedder.texts_embedded - before == len(fake_assistant.store.chunks_of(new.id))
    assert len(fake_assistant.sources()) == 4
    consistent(fake_assistant)


def test_resaved_file_with_same_text_is_unchanged(fake_assistant: Assistant,
                                                  fake_embedder: FakeEmbedder,
                                                  tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("Title\nBody text here.\n")
    fake_assistant.ingest([f])
    f.write_text("Title\r\nBody text here.   \r\n")  # same cleaned text
    n = fake_embedder.texts_embedded
    r = fake_assistant.ingest([f])
    assert r.unchanged == [str(f.resolve())] and fake_embedder.texts_embedded == n


def test_sync_removes_documents_whose_files_are_gone(fake_assistant: Assistant,
                                                     samples_copy: Path,
                                                     tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    other.write_text("Elsewhere\nNot under the synced folder.")
    fake_assistant.ingest([samples_copy, other])
    (samples_copy / "eu-ai-act.md").unlink()
    r = fake_assistant.ingest([samples_copy])  # without --sync nothing is removed
    assert not r.removed and len(fake_assistant.sources()) == 5
    r = fake_assistant.ingest([samples_copy], sync=True)
    assert r.removed == [str((samples_copy / "eu-ai-act.md").resolve())]
    uris = {s.uri for s in fake_assistant.sources()}
    assert str(other.resolve()) in uris and len(uris) == 4
    consistent(fake_assistant)


def test_sync_keeps_documents_whose_files_fail_to_load(fake_assistant: Assistant,
                                                       samples_copy: Path) -> None:
    fake_assistant.ingest([samples_copy])
    (samples_copy / "eu-ai-act.md").write_bytes(b"")  # now broken: must not delete it
    r = fake_assistant.ingest([samples_copy], sync=True)
    assert not r.removed and len(r.failed) == 1 and len(fake_assistant.sources()) == 4


def test_same_text_under_two_paths_is_stored_once(fake_assistant: Assistant,
                                                  samples_copy: Path) -> None:
    src = samples_copy / "webb-telescope.md"
    shutil.copy(src, samples_copy / "copy-of-webb.md")
    r = fake_assistant.ingest([samples_copy])
    assert len(r.added) == 4 and len(r.duplicate) == 1
    dup, same_as = r.duplicate[0]
    assert {Path(dup).name, Path(same_as).name} == {"copy-of-webb.md", "webb-telescope.md"}
    r2 = fake_assistant.ingest([samples_copy])
    assert len(r2.duplicate) == 1 and not r2.added
    assert len(fake_assistant.sources()) == 4


def test_remove_by_id_and_by_uri(fake_assistant: Assistant, samples_copy: Path) -> None:
    fake_assistant.ingest([samples_copy])
    recs = fake_assistant.sources()
    fake_assistant.remove(recs[0].id)
    fake_assistant.remove(recs[1].uri)
    assert {r.id for r in fake_assistant.sources()} == {r.id for r in recs[2:]}
    with pytest.raises(NotFound, match="no document with id or uri 'nope'"):
        fake_assistant.remove("nope")
    consistent(fake_assistant)


def test_bad_input_reports_and_changes_nothing_stored(fake_assistant: Assistant,
                                                      samples_copy: Path,
                                                      tmp_path: Path) -> None:
    fake_assistant.ingest([samples_copy])
    before = {r.id: fake_assistant.document(r.id).text for r in fake_assistant.sources()}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (bad / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<")
    (bad / "rows.jsonl").write_text('{"text": "Good row one."}\nnot json\n')
    (bad / "ok.txt").write_text("Fine\nA fine article.")
    r = fake_assistant.ingest([bad, tmp_path / "missing.txt"])
    reasons = {Path(s.split(":")[0]).name: why for s, why in r.failed}
    assert set(reasons) == {"empty.txt", "binary.txt", "broken.pdf", "rows.jsonl",
                            "missing.txt"}
    assert any(s.endswith("rows.jsonl:2") for s, _ in r.failed)
    assert len(r.added) == 2 and not r.ok  # ok.txt and the good JSONL row still went in
    after = {r.id: fake_assistant.document(r.id).text for r in fake_assistant.sources()}
    assert {k: after[k] for k in before} == before
    consistent(fake_assistant)


def test_other_embedder_is_a_clear_error(home: Path, samples_copy: Path) -> None:
    with Assistant(home=home, embedder=FakeEmbedder()) as a:
        a.ingest([samples_copy])

    class Other(FakeEmbedder):
        name = "other-model"

    with pytest.raises(EmbedderMismatch, match="fake-bow-64"):
        Assistant(home=home, embedder=Other())


def test_cli_ingest_sources_remove(home: Path, samples_copy: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli import main

    assert main(["ingest", str(samples_copy)]) == 0
    out = capsys.readouterr().out
    assert "added 4, updated 0, unchanged 0, removed 0, duplicate 0, failed 0" in out
    assert main(["sources", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4
    for row in rows:
        assert {"id", "uri", "title", "chunks", "ingested_at"} <= set(row)
        assert row["chunks"] >= 1
    assert any(r["title"] == "Alibaba bets its future on artificial intelligence" for r in rows)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert main(["ingest", str(empty)]) == 1
    captured = capsys.readouterr()
    assert f"{empty.resolve()}: empty file" in captured.err
    assert main(["remove", rows[0]["id"]]) == 0
    assert main(["remove", "no-such-doc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: no document with id or uri 'no-such-doc'; "
                   "`assistant sources` lists what is stored"]


class _KilledOnBigBatch(FakeEmbedder):
    """Dies (as a SIGINT would) when asked to embed a large document's chunks."""

    def embed(self, texts):  # type: ignore[no-untyped-def]
        if len(texts) > 256:
            raise KeyboardInterrupt
        return super().embed(texts)


def test_a_huge_file_holds_no_other_document_hostage(tmp_path: Path) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    for i in range(5):
        (folder / f"a{i}.txt").write_text(f"Small note {i}. The count was {i * 3} boxes.")
    (folder / "b-huge.txt").write_text(" ".join(f"word{j}" for j in range(120_000)))
    (folder / "c-after.txt").write_text("After the huge one. It had 7 boxes.")
    events: list[str] = []
    with Assistant(home=tmp_path / "home", embedder=_KilledOnBigBatch()) as a:
        with pytest.raises(KeyboardInterrupt):
            a.ingest([folder], progress=False, on_event=events.append)
        assert sorted(Path(r.uri).name for r in a.sources()) == [f"a{i}.txt" for i in range(5)]
        assert any("b-huge.txt (a large document, committed on its own)" in e for e in events)
    with Assistant(home=tmp_path / "home", embedder=FakeEmbedder()) as a:
        r = a.ingest([folder], progress=False)
        assert len(r.unchanged) == 5 and len(r.added) == 2
        consistent(a)


def test_check_finds_and_repair_fixes_lost_vectors(fake_assistant: Assistant,
                                                   samples_copy: Path) -> None:
    """The damage the 0.1.0 reader defect left (chunk rows whose vectors were deleted) and
    stray vectors are reported by `check` and fixed by `check --repair`."""
    a = fake_assistant
    a.ingest([samples_copy], progress=False)
    doc = next(r for r in a.sources() if "Webb" in r.title)
    lost = [c.id for c in a.store.chunks_of(doc.id)]
    a.store._vectors.delete(lost)  # the damage, made directly
    a.store._vectors.upsert(["stray"], [[1.0] + [0.0] * 63], [{"doc_id": "x"}])
    found = a.check()
    assert not found.ok and sorted(found.rows_without_vectors) == sorted(lost)
    assert found.orphan_vectors == ["stray"]
    assert not any(h.chunk_id in lost for h in a.store.vector_search(doc.title, 10))
    fixed = a.check(repair=True)
    assert fixed.ok and fixed.repaired == {"re-embedded": len(lost), "orphans deleted": 1,
                                           "sentence vectors": 0}
    hits = a.store.vector_search(doc.title, 3)
    assert any(h.chunk_id in lost for h in hits)
    consistent(a)
