"""Embeddings from a server: any OpenAI-compatible ``/v1/embeddings`` endpoint
(text-embeddings-inference, vLLM, Ollama, infinity, llama.cpp, OpenAI).

Set ``ASSISTANT_EMBED_BASE_URL`` (with ``ASSISTANT_EMBED_MODEL`` and, if needed,
``ASSISTANT_EMBED_API_KEY``). Texts go in batches of ``embed_batch_size``, several
requests in flight (``embed_concurrency``), retried with backoff on 429, 5xx and
timeouts by the openai client. The model's name and dimension are recorded with the
index like the local embedder's, so pointing an index at another model raises
``EmbedderMismatch``.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from assistant.errors import ConfigError, EmbedderError


class OpenAIEmbedder:
    """``embed(texts)`` through an OpenAI-compatible embeddings endpoint."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *,
                 batch_size: int = 64, concurrency: int = 4, timeout: float = 60.0,
                 retries: int = 3) -> None:
        import openai

        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"ASSISTANT_EMBED_BASE_URL must be an http(s) URL, got "
                              f"{base_url!r}")
        self.base_url, self.model = base_url, model
        self.batch_size, self.concurrency = batch_size, max(1, concurrency)
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed",
                                     timeout=timeout, max_retries=retries)
        self.name = f"server:{model}"
        self.dim = len(self._request(["dimension probe"])[0])

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        batches = [list(texts[i:i + self.batch_size])
                   for i in range(0, len(texts), self.batch_size)]
        if len(batches) <= 1:
            return [v for b in batches for v in self._request(b)]
        with ThreadPoolExecutor(self.concurrency) as pool:  # results keep their order
            return [v for part in pool.map(self._request, batches) for v in part]

    def _request(self, texts: list[str]) -> list[list[float]]:
        import openai

        try:
            r = self._client.embeddings.create(model=self.model, input=texts)
            data: list[Any] = sorted(r.data, key=lambda d: d.index)
            vectors = [_unit(d.embedding) for d in data]
        except openai.APIStatusError as e:
            raise EmbedderError(f"the embeddings server at {self.base_url} answered HTTP "
                                f"{e.status_code}: {' '.join(str(e).split())[:200]}") from None
        except openai.APIConnectionError:
            raise EmbedderError(f"cannot reach the embeddings server at {self.base_url}; "
                                "is it running and ASSISTANT_EMBED_BASE_URL right?") from None
        except (ValueError, TypeError, AttributeError, KeyError) as e:
            raise EmbedderError(f"the embeddings server at {self.base_url} sent a malformed "
                                f"response ({type(e).__name__})") from None
        if len(vectors) != len(texts) or any(not v for v in vectors):
            raise EmbedderError(f"the embeddings server at {self.base_url} returned "
                                f"{len(vectors)} vectors for {len(texts)} texts")
        return vectors


def _unit(v: Sequence[float]) -> list[float]:
    """The vector scaled to length 1 (servers differ in whether they normalise)."""
    if not isinstance(v, list) or not v or not isinstance(v[0], (int, float)):
        raise ValueError("not a flat vector")
    n = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / n for x in v]
