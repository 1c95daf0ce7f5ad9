"""LLM backends behind one interface: ``complete(messages)`` and ``stream(messages)``.

- ``openai``: any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp server),
  with retries and exponential backoff on 429, 5xx and timeouts (the openai client's own),
  and one-line errors for a bad key, an unknown model or an unreachable server.
- ``llama-cpp``: a local GGUF model in-process (``pip install 'assistant[local]'``).
"""

from __future__ import annotations

from typing import Any, Iterator, Protocol

from assistant.errors import ConfigError, LLMError
from assistant.settings import Settings

Messages = list[dict[str, str]]


class LLM(Protocol):
    name: str

    def complete(self, messages: Messages) -> str: ...

    def stream(self, messages: Messages) -> Iterator[str]: ...


class OpenAILLM:
    """An OpenAI-compatible chat endpoint through the ``openai`` package."""

    def __init__(self, settings: Settings) -> None:
        import openai

        if not settings.llm_base_url and not settings.llm_api_key:
            raise ConfigError("ASSISTANT_LLM=openai needs ASSISTANT_LLM_BASE_URL (a local "
                              "server) or OPENAI_API_KEY (api.openai.com)")
        self.settings = settings
        self.name = f"openai:{settings.llm_model}"
        self._client = openai.OpenAI(base_url=settings.llm_base_url,
                                     api_key=settings.llm_api_key or "not-needed",
                                     timeout=settings.llm_timeout,
                                     max_retries=settings.llm_retries)

    def _args(self, messages: Messages) -> dict[str, Any]:
        return {"model": self.settings.llm_model, "messages": messages,
                "temperature": self.settings.llm_temperature, "max_tokens": 400}

    def complete(self, messages: Messages) -> str:
        with _errors(self.settings):
            r = self._client.chat.completions.create(**self._args(messages))
            if not getattr(r, "choices", None):
                raise LLMError(f"{self._where()}: the response has no choices (not an "
                               "OpenAI-compatible chat endpoint?)")
            return r.choices[0].message.content or ""

    def stream(self, messages: Messages) -> Iterator[str]:
        events = 0
        with _errors(self.settings):
            for event in self._client.chat.completions.create(**self._args(messages),
                                                              stream=True):
                events += 1
                if event.choices and event.choices[0].delta.content:
                    yield event.choices[0].delta.content
        if events == 0:
            raise LLMError(f"{self._where()} sent a malformed response (no stream events); "
                           "is it an OpenAI-compatible server?")

    def _where(self) -> str:
        return self.settings.llm_base_url or "api.openai.com"


class _errors:
    """Translate openai exceptions into one-line LLMErrors that say how to fix them."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: Any, exc: Any, tb: Any) -> bool:
        if exc is None or isinstance(exc, (LLMError, GeneratorExit)):
            return False
        import json

        import openai

        where = self.s.llm_base_url or "api.openai.com"
        tries = f"after {self.s.llm_retries} retries"
        if isinstance(exc, openai.AuthenticationError):
            msg = f"{where} rejected the API key (HTTP 401); set OPENAI_API_KEY correctly"
        elif isinstance(exc, openai.NotFoundError):
            msg = (f"{where} does not know model {self.s.llm_model!r} (HTTP 404); set "
                   "ASSISTANT_LLM_MODEL to a model the server serves")
        elif isinstance(exc, openai.RateLimitError):
            msg = f"{where} kept answering 429 (rate limited) {tries}; wait and try again"
        elif isinstance(exc, openai.APITimeoutError):
            msg = (f"{where} did not answer within {self.s.llm_timeout:g}s {tries}; raise "
                   "ASSISTANT_LLM_TIMEOUT or check the server")
        elif isinstance(exc, openai.APIConnectionError):
            msg = (f"cannot reach {where} {tries}; is the server running and "
                   "ASSISTANT_LLM_BASE_URL right?")
        elif isinstance(exc, openai.InternalServerError):
            msg = f"{where} failed with HTTP {exc.status_code} {tries}; check the server's log"
        elif isinstance(exc, openai.APIStatusError):
            msg = f"{where} answered HTTP {exc.status_code}: {str(exc)[:200]}"
        elif isinstance(exc, (json.JSONDecodeError, openai.APIResponseValidationError,
                              ValueError, KeyError, AttributeError, TypeError)):
            msg = f"{where} sent a malformed response ({type(exc).__name__}); is it an " \
                  "OpenAI-compatible server?"
        else:
            return False
        raise LLMError(msg.replace("\n", " ")) from None


class LlamaCppLLM:
    """A local GGUF model in-process through llama-cpp-python."""

    _models: dict[str, Any] = {}

    def __init__(self, settings: Settings) -> None:
        path = settings.llm_model_path
        if path is None or not path.exists():
            raise ConfigError(f"ASSISTANT_LLM=llama-cpp needs ASSISTANT_LLM_MODEL_PATH, a GGUF "
                              f"file; got {str(path) if path else 'nothing'}")
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ConfigError("llama-cpp-python is not installed: "
                              "pip install 'assistant[local]'") from None
        self.settings = settings
        self.name = f"llama-cpp:{path.name}"
        if str(path) not in self._models:
            self._models[str(path)] = Llama(model_path=str(path), n_ctx=4096, verbose=False)
        self._llm = self._models[str(path)]

    def complete(self, messages: Messages) -> str:
        r = self._llm.create_chat_completion(messages=messages, max_tokens=400,
                                             temperature=self.settings.llm_temperature)
        return r["choices"][0]["message"].get("content") or ""

    def stream(self, messages: Messages) -> Iterator[str]:
        for ev in self._llm.create_chat_completion(messages=messages, max_tokens=400,
                                                   temperature=self.settings.llm_temperature,
                                                   stream=True):
            piece = ev["choices"][0]["delta"].get("content")
            if piece:
                yield piece


def make_llm(settings: Settings) -> LLM | None:
    """The LLM that ``settings.llm`` names explicitly; None for the extractive backend."""
    if settings.llm == "openai":
        return OpenAILLM(settings)
    if settings.llm == "llama-cpp":
        return LlamaCppLLM(settings)
    return None
