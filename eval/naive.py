"""The naive RAG pipeline a user would copy from a LangChain tutorial, as the baseline:
RecursiveCharacterTextSplitter(1000, 200), HuggingFaceEmbeddings on the same model,
Chroma similarity top-4, a "use the context; if you don't know, say so" prompt with the
same LLM; with no LLM, the single most similar sentence of the top-4 chunks."""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from assistant import prompts
from assistant.embedder import PACKAGED_MODEL, model_path
from assistant.text import sentence_spans

DONT_KNOW = re.compile(r"\b(don'?t|do not|does not|doesn'?t) (know|have|contain|mention)|"
                       r"\bnot (mentioned|provided|stated|specified|in the context)|"
                       r"\bcannot (answer|determine)|\bno information\b", re.I)


@dataclass
class NaiveResult:
    text: str
    refused: bool
    ranked_uris: list[str]
    citations: list[dict] = field(default_factory=list)  # uri, start, end, quote
    retrieve_ms: float = 0.0
    answer_ms: float = 0.0


class NaivePipeline:
    def __init__(self, articles: list[dict], llm: Any = None) -> None:
        from langchain_chroma import Chroma
        from langchain_core.documents import Document as LCDocument
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.llm = llm
        self.texts = {a["url"]: a["text"] for a in articles}
        self.emb = HuggingFaceEmbeddings(model_name=str(model_path(PACKAGED_MODEL)),
                                         model_kwargs={"device": "cpu"},
                                         encode_kwargs={"normalize_embeddings": True})
        docs = [LCDocument(page_content=a["text"], metadata={"source": a["url"]})
                for a in articles]
        splits = RecursiveCharacterTextSplitter(
            chunk_size=1000, chunk_overlap=200, add_start_index=True).split_documents(docs)
        self._dir = tempfile.TemporaryDirectory(prefix="naive-chroma-")
        self.store = Chroma.from_documents(splits, self.emb, persist_directory=self._dir.name,
                                           collection_metadata={"hnsw:space": "cosine"})

    def ask(self, question: str) -> NaiveResult:
        t0 = time.perf_counter()
        found = self.store.similarity_search(question, k=10)
        retrieve_ms = (time.perf_counter() - t0) * 1000
        ranked = [d.metadata["source"] for d in found]
        top = found[:4]
        t1 = time.perf_counter()
        if self.llm is None:
            text, cites = self._best_sentence(question, top)
            refused = False
        else:
            context = "\n\n".join(d.page_content for d in top)
            text = self.llm.complete([{"role": "user", "content": prompts.render(
                "naive", context=context, question=question)}])
            refused = bool(DONT_KNOW.search(text))
            cites = [] if refused else [
                {"uri": d.metadata["source"], "start": d.metadata["start_index"],
                 "end": d.metadata["start_index"] + len(d.page_content),
                 "quote": d.page_content} for d in top]
        return NaiveResult(text, refused, ranked, cites, retrieve_ms,
                           (time.perf_counter() - t1) * 1000)

    def _best_sentence(self, question: str, top: list[Any]) -> tuple[str, list[dict]]:
        cands = []
        for d in top:
            base = d.metadata["start_index"]
            for s, e in sentence_spans(d.page_content):
                cands.append((d.metadata["source"], base + s, base + e, d.page_content[s:e]))
        if not cands:
            return "", []
        vecs = self.emb.embed_documents([c[3] for c in cands])
        q = self.emb.embed_query(question)
        best = max(range(len(cands)), key=lambda i: sum(a * b for a, b in zip(q, vecs[i])))
        uri, start, end, quote = cands[best]
        return quote, [{"uri": uri, "start": start, "end": end, "quote": quote}]

    def valid(self, cite: dict) -> bool:
        return self.texts.get(cite["uri"], "")[cite["start"]:cite["end"]] == cite["quote"]

    def close(self) -> None:
        self._dir.cleanup()
