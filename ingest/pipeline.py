"""The write side: sources -> Documents -> Chunks -> vectors -> Store, incrementally.

A document's identity is its uri (canonical URL or resolved path); its version is the
hash of its text (``Document.id``). Unchanged sources are recognised by the hash of their
raw bytes and cost no parsing and no embedding.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from assistant.embedder import Embedder
from assistant.errors import SourceError
from assistant.settings import Settings
from assistant.store import Store
from assistant.text import plural
from assistant.sentences import encode
from assistant.types import Chunk, Document
from assistant.ingest.chunking import chunk_document
from assistant.ingest.fetch import canonical_url
from assistant.ingest.loaders import Loaded, count_items, iter_sources

EMBED_BATCH_CHUNKS = 256  # chunks gathered across documents before one encode call


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    duplicate: list[tuple[str, str]] = field(default_factory=list)  # (uri, stored uri)
    failed: list[tuple[str, str]] = field(default_factory=list)      # (source, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)     # (file, reason)
    chunks: int = 0
    chars: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    stopped: bool = False  # asked to stop: what it read is stored, the rest is not read

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self, wall_seconds: float | None = None) -> str:
        """One line of counts and speed; with ``wall_seconds`` (the whole command, start-up
        and model load included) that too, so the line never hides where time went."""
        rate = self.chunks / self.seconds if self.seconds else 0.0
        whole = f"; {wall_seconds:.1f} s in all" if wall_seconds is not None else ""
        return (f"added {len(self.added)}, updated {len(self.updated)}, unchanged "
                f"{len(self.unchanged)}, removed {len(self.removed)}, duplicate "
                f"{len(self.duplicate)}, failed {len(self.failed)}, skipped "
                f"{len(self.skipped)} "
                f"({plural(self.chunks, 'chunk')} in {self.seconds:.1f} s, {rate:.1f} "
                f"chunks/s{whole})" + ("; stopped before the end" if self.stopped else ""))

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "removed": self.removed,
                "duplicate": [{"uri": u, "same_as": s} for u, s in self.duplicate],
                "failed": [{"source": s, "reason": r} for s, r in self.failed],
                "skipped": [{"source": s, "reason": r} for s, r in self.skipped],
                "chunks": self.chunks, "seconds": round(self.seconds, 3), "stopped": self.stopped}


@dataclass
class _Pending:
    doc: Document
    chunks: list[Chunk]
    source_hash: str
    is_update: bool


class Ingestor:
    """Runs one ingest: ``Ingestor(store, embedder, settings).run(["articles/"])``."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings, *,
                 progress: bool | None = None,
                 on_event: Callable[[str], None] | None = None,
                 on_progress: Callable[[int, int, int], None] | None = None,
                 stop: Callable[[], bool] | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.on_event = on_event or (lambda _msg: None)
        # (items done, items in all, chunks stored so far)
        self.on_progress = on_progress or (lambda _done, _total, _chunks: None)
        # asked between sources: true stops the run after storing what it has read
        self.stop = stop or (lambda: False)

    def run(self, sources: list[str], sync: bool = False) -> IngestReport:
        """Ingest ``sources`` under the store's write lock (a second writer waits), so
        every document is counted once even when two ingests overlap."""
        with self.store.writing(on_wait=self.on_event):
            return self._run(sources, sync)

    def _run(self, sources: list[str], sync: bool) -> IngestReport:
        self._t0 = time.perf_counter()
        report = IngestReport()
        seen: set[str] = set()
        claimed: dict[str, str] = {}  # doc id -> uri that stores it (this run)
        batch: list[_Pending] = []
        total, done = count_items(sources, self.settings), 0
        bar = self._bar(total)

        def failed(e: SourceError) -> None:
            report.failed.append((e.source, e.reason))
            self.on_event(f"failed: {e}")

        def skipped(path: str, reason: str) -> None:
            report.skipped.append((path, reason))
            self.on_event(f"skipped: {path}: {reason}")

        for item in iter_sources(sources, self.settings, failed, skipped):
            seen.add(item.uri)
            pending = self._prepare(item, report, claimed, failed)
            if pending is not None:
                # A document commits with the others of its embedding batch; a large one
                # goes alone, so it never holds smaller documents hostage.
                if batch and sum(len(p.chunks) for p in batch) + len(
                        pending.chunks) > EMBED_BATCH_CHUNKS:
                    self._flush(batch, report, bar)
                batch.append(pending)
                if sum(len(p.chunks) for p in batch) >= EMBED_BATCH_CHUNKS:
                    self._flush(batch, report, bar)
            done += 1
            if done > total:  # a feed counts one until its items are read
                total = done
                if bar is not None:
                    bar.total = total
            if bar is not None:
                bar.update(1)
            self.on_progress(done, total, report.chunks)
            if self.stop():
                report.stopped = True
                break
        self._flush(batch, report, bar)
        self.on_progress(done, total, report.chunks)
        if sync and not report.stopped:  # an unfinished walk has not seen everything
            self._sync(sources, seen, report)
        if bar is not None:
            bar.close()
        report.seconds = time.perf_counter() - self._t0
        return report

    # --- steps --------------------------------------------------------------------------
    def _prepare(self, item: Loaded, report: IngestReport, claimed: dict[str, str],
                 failed: Callable[[SourceError], None]) -> _Pending | None:
        store = self.store
        stored_hash = store.source_hash(item.uri)
        if item.source_hash and stored_hash == item.source_hash:
            report.unchanged.append(item.uri)
            claimed.setdefault(store.get_by_uri(item.uri).id, item.uri)  # type: ignore[union-attr]
            return None
        try:
            doc = item.parse()
        except SourceError as e:
            failed(e)
            return None
        if doc.meta.get("decoding"):
            self.on_event(f"warning: {item.uri}: {doc.meta['decoding']}")
        stored_uri = claimed.get(doc.id) or store.uri_of(doc.id)
        if stored_uri == item.uri:  # same text, new bytes (e.g. re-saved): nothing to embed
            store.touch(item.uri, item.source_hash)
            report.unchanged.append(item.uri)
            return None
        if stored_uri is not None:
            report.duplicate.append((item.uri, stored_uri))
            self.on_event(f"duplicate: {item.uri} has the same text as {stored_uri}")
            return None
        claimed[doc.id] = item.uri
        chunks = chunk_document(doc, self.settings.chunk_tokens, self.settings.chunk_overlap)
        return _Pending(doc, chunks, item.source_hash, stored_hash is not None)

    def _flush(self, batch: list[_Pending], report: IngestReport, bar: Any) -> None:
        if not batch:
            return
        pairs = [(p.doc.title, c) for p in batch for c in p.chunks]
        if len(batch) == 1 and len(pairs) > EMBED_BATCH_CHUNKS:
            self.on_event(f"embedding {len(pairs)} chunks of {batch[0].doc.uri} (a large "
                          "document, committed on its own)")
        t = time.perf_counter()
        vectors, sentences = encode(self.embedder, pairs)
        report.embed_seconds += time.perf_counter() - t
        at, items, blobs = 0, [], []
        for p in batch:
            items.append((p.doc, p.chunks, vectors[at:at + len(p.chunks)], p.source_hash))
            blobs.append(sentences[at:at + len(p.chunks)])
            at += len(p.chunks)
        self.store.put_many(items, blobs)
        for p in batch:
            n = len(p.chunks)
            (report.updated if p.is_update else report.added).append(p.doc.uri)
            report.chunks += n
            report.chars += len(p.doc.text)
        if bar is not None:
            elapsed = max(time.perf_counter() - self._t0, 1e-9)
            bar.set_postfix(chunks=report.chunks, chunks_s=f"{report.chunks / elapsed:.1f}")
        batch.clear()

    def _sync(self, sources: list[str], seen: set[str], report: IngestReport) -> None:
        """Remove documents that came from a synced directory or file but are gone now.
        Sources that failed to load are kept: a read error never deletes anything."""
        failed = {s for s, _ in report.failed}
        failed |= {canonical_url(s) for s in failed if s.lower().startswith("http")}
        urls = [s for s in sources if s.lower().startswith(("http://", "https://"))]
        feeds = {canonical_url(s) for s in urls}  # a feed's items have it as their origin
        roots = [str(Path(s).expanduser().resolve()) for s in sources
                 if s not in urls and Path(s).expanduser().exists()]
        for doc_id, uri, origin in self.store.origins():
            inside = origin in feeds or any(
                origin == r or origin.startswith(r.rstrip("/") + "/") for r in roots)
            if inside and uri not in seen and origin not in failed and not any(
                    f.startswith(origin + ":") for f in failed):
                self.store.remove(doc_id)
                report.removed.append(uri)

    def _bar(self, total: int) -> Any:
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(desc="ingest", unit="doc", total=total, file=sys.stderr,
                    dynamic_ncols=True)
