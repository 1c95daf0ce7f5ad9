"""The reader: a cross-encoder that reads a question together with a candidate sentence
(its title, the sentence, its neighbours) and gives the chance that the sentence answers
the question. Trained by ``python -m assistant.eval.train_reader`` on SQuAD; shipped as
int8 ONNX with its tokenizer and model card in ``assistant/reader_model/``, run by ONNX
Runtime and the ``tokenizers`` package (no torch at question time).

The one door: ``Reader.score(question, candidates) -> list[float]``, candidates written
by ``reader_text``. ``tests/test_reader.py`` is the contract every reader meets.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

from assistant.embedder import model_loading
from assistant.onnx_forms import ort_session

MODEL_DIR = Path(__file__).with_name("reader_model")
MAX_LENGTH = 160  # word pieces of question and candidate together
BATCH = 32


def reader_text(title: str, sentence: str, context: str) -> str:
    """What the reader reads of a candidate: title, sentence, then its neighbours
    (truncation at ``MAX_LENGTH`` cuts the neighbours, never the sentence)."""
    return f"{title} | {sentence} | {context}" if context else f"{title} | {sentence}"


CONTEXT_CHARS = 240  # of neighbouring text a candidate carries


def neighbours(text: str, start: int, end: int) -> str:
    """The sentence before [start:end] and the two after it, at most ``CONTEXT_CHARS``:
    the context a candidate sentence is read in (the same at training and question
    time)."""
    from assistant.text import sentence_spans

    lo = max(0, start - 600)
    spans = sentence_spans(text, lo, min(len(text), end + 600))
    i = next((k for k, (s, _) in enumerate(spans) if s >= start), len(spans))
    around = [text[a:b] for a, b in spans[max(i - 1, 0):i] if b <= start]
    around += [text[a:b] for a, b in spans[i:] if a >= end][:2]
    return " ".join(around)[:CONTEXT_CHARS]


@runtime_checkable
class Reader(Protocol):
    name: str

    def score(self, question: str, candidates: Sequence[str]) -> list[float]:
        """For each candidate (``reader_text``), the chance in [0, 1] that it answers
        ``question``."""
        ...


class OnnxReader:
    """The shipped reader (or one at ``path``), int8 ONNX on the CPU."""

    _lock = threading.Lock()
    _loaded: dict[Path, tuple[Any, Any]] = {}

    def __init__(self, path: Path = MODEL_DIR, max_length: int = MAX_LENGTH) -> None:
        self.path = Path(path)
        self.max_length = max_length
        card = self.path / "card.json"
        self.card: dict[str, Any] = json.loads(card.read_text()) if card.exists() else {}
        self.name = f"reader-{self.card.get('version', 'local')}"

    def _parts(self) -> tuple[Any, Any]:
        with self._lock:
            if self.path not in self._loaded:
                from tokenizers import Tokenizer

                with model_loading():
                    session = ort_session(self.path / "model.onnx")
                    tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
                tok.enable_truncation(self.max_length, strategy="only_second")
                tok.enable_padding()
                self._loaded[self.path] = (session, tok)
            return self._loaded[self.path]

    def score(self, question: str, candidates: Sequence[str]) -> list[float]:
        import numpy as np

        if not candidates:
            return []
        session, tok = self._parts()
        out: list[float] = []
        for i in range(0, len(candidates), BATCH):
            enc = tok.encode_batch([(question, c) for c in candidates[i:i + BATCH]])
            feeds = {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                     "attention_mask": np.array([e.attention_mask for e in enc],
                                                dtype=np.int64),
                     "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64)}
            logits = session.run(None, feeds)[0].reshape(-1)
            out += [1.0 / (1.0 + math.exp(-float(x))) for x in logits]
        return out


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def export(torch_dir: Path, target: Path) -> dict[str, Any]:
    """A trained cross-encoder (saved by sentence-transformers at ``torch_dir``) as int8
    ONNX with its tokenizer in ``target``; returns the files' sizes and SHA-256."""
    import shutil

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from assistant.onnx_forms import ATTENTION, onnx_int8

    tok = AutoTokenizer.from_pretrained(str(torch_dir), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(torch_dir), local_files_only=True, attn_implementation=ATTENTION)
    example = tok([("a question?", "a sentence"), ("another", "one more sentence")],
                  padding=True, return_tensors="pt")
    target.mkdir(parents=True, exist_ok=True)
    onnx_int8(model, example, "logits", target / "model.onnx", {0: "batch"})
    shutil.copy(Path(torch_dir) / "tokenizer.json", target / "tokenizer.json")
    return {name: {"bytes": (target / name).stat().st_size, "sha256": sha256(target / name)}
            for name in ("model.onnx", "tokenizer.json")}
