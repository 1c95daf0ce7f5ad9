"""The ``Assistant`` facade: the one Python API that the CLI, the REPL and notebooks use.

    from assistant import Assistant
    a = Assistant()                       # or Assistant(home="/tmp/x"), or ASSISTANT_HOME
    a.ingest(["articles/"])
    ans = a.ask("How much has Alibaba committed to AI?")
    ans.text, ans.refused, ans.citations
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

from assistant.answering import Answerer
from assistant.chat import ChatSession
from assistant.embedder import Embedder, make_embedder
from assistant.llm import LLM
from assistant.retrieval import Filters, as_langchain_retriever
from assistant.errors import ConfigError
from assistant.settings import Settings, load_settings
from assistant.store import CheckReport, Store
from assistant.types import Answer, DocRecord, Document, Hit
from assistant.ingest.pipeline import IngestReport, Ingestor


class Assistant:
    """Ingest articles and answer questions about them with checked citations."""

    def __init__(self, home: str | Path | None = None, settings: Settings | None = None,
                 embedder: Embedder | None = None, backend: LLM | None = None,
                 **overrides: Any) -> None:
        """``home``/``overrides`` build Settings (or pass ``settings``); ``embedder`` and
        ``backend`` (an LLM object) replace the configured ones, e.g. in tests."""
        if settings is not None and (home is not None or overrides):
            raise ConfigError("pass either settings=... or home/overrides, not both")
        self.settings = settings or load_settings(home=home, **overrides)
        self.embedder = embedder or make_embedder(self.settings)
        self.store = Store(self.settings, self.embedder)
        self._llm = backend
        self._answerer: Answerer | None = None

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Assistant":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- write side ---------------------------------------------------------------------
    def ingest(self, sources: list[str | Path] | str | Path, *, sync: bool = False,
               progress: bool | None = None,
               on_event: Callable[[str], None] | None = None,
               on_progress: Callable[[int, int, int], None] | None = None,
               stop: Callable[[], bool] | None = None) -> IngestReport:
        """Add or update articles from files, directories, URLs or feeds. With
        ``sync=True`` documents whose files have disappeared from the given paths are
        removed. ``on_event`` gets one line per failure, warning or duplicate;
        ``on_progress`` gets (items done, items in all, chunks stored) as the run goes;
        ``stop`` is asked between sources, and when it says true the run stores what it
        has read and returns (``report.stopped``; no sync removal then)."""
        if isinstance(sources, (str, Path)):
            sources = [sources]
        if not sources:
            raise ConfigError("ingest needs at least one file, directory or URL")
        return Ingestor(self.store, self.embedder, self.settings, progress=progress,
                        on_event=on_event, on_progress=on_progress, stop=stop).run(
            [str(s) for s in sources], sync=sync)

    def remove(self, id_or_uri: str) -> Document:
        """Remove one document by id or uri; returns what was removed."""
        return self.store.remove(id_or_uri)

    def check(self, repair: bool = False,
              on_wait: Callable[[str], None] | None = None) -> CheckReport:
        """Verify that chunk rows, vectors, documents and the lexical index agree; with
        ``repair=True`` (under the write lock) re-embed missing vectors, delete orphans and
        finish interrupted writes and rebuild a lexical index that disagrees."""
        return self.store.repair(on_wait) if repair else self.store.check()

    # --- read side ----------------------------------------------------------------------
    def sources(self) -> list[DocRecord]:
        """What is indexed: id, uri, title, published, chunks, ingested_at."""
        return self.store.records()

    def document_count(self) -> int:
        """How many documents are stored (without listing them)."""
        return self.store.document_count()

    def document(self, doc_id: str) -> Document:
        """The stored document, whole (``.text`` is what citations' offsets point into)."""
        return self.store.get(doc_id)

    def ask(self, question: str, **filters: Any) -> Answer:
        """Answer a question from the ingested articles, with checked citations.
        Filters: ``uri`` (prefix), ``published_after``, ``published_before`` (YYYY-MM-DD)."""
        return self.answerer.ask(question, **filters)

    def stream(self, question: str, **filters: Any) -> Iterator[str | Answer]:
        """Yield pieces of checked answer text, then the final ``Answer``."""
        return self.answerer.stream(question, **filters)

    def chat(self) -> ChatSession:
        """A conversation that keeps history and rewrites follow-up questions."""
        return ChatSession(self.answerer)

    def search(self, query: str, k: int | None = None, **filters: Any) -> list[Hit]:
        """The retrieved chunks for ``query`` (hybrid dense + BM25), best first."""
        return self.answerer.retriever.search(query, k or self.settings.top_k,
                                              Filters(**filters) if filters else None)

    def langchain_retriever(self, k: int | None = None, **filters: Any) -> Any:
        """This index as a LangChain ``BaseRetriever``."""
        return as_langchain_retriever(self.answerer.retriever, k or self.settings.top_k,
                                      Filters(**filters) if filters else None)

    @property
    def answerer(self) -> Answerer:
        if self._answerer is None:  # built on first question: listing needs no LLM
            self._answerer = Answerer(self.store, self.settings, self.embedder, llm=self._llm)
        return self._answerer
