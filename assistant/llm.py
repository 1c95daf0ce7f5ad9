"""LLM backends behind one interface: ``complete(messages)`` and ``stream(messages)``.

- ``openai``: any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp server),
  with retries and exponential backoff on 429, 5xx and timeouts (the openai client's own),
  and one-line errors for a bad key, an unknown model or an unreachable server.
- ``llama-cpp``: a local GGUF model in-process (``pip install 'assistant[local]'``).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
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
                "temperature": self.settings.llm_temperature,
                "max_tokens": self.settings.llm_max_tokens}

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
        elif _dropped(exc):
            msg = (f"the LLM server at {where} closed the connection mid-request {tries} "
                   "(it crashed or exited?); check its log and restart it")
        elif isinstance(exc, openai.APIConnectionError) or type(exc).__name__ == "ConnectError":
            msg = (f"cannot reach {where} {tries} (connection refused); is the server "
                   "running and ASSISTANT_LLM_BASE_URL right?")
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


# What the HTTP stack (httpx, or the copy the openai package vendors) raises when a server
# that accepted the request goes away before answering in full.
_DROPPED = {"RemoteProtocolError", "ReadError", "WriteError", "IncompleteRead"}


def _dropped(exc: BaseException) -> bool:
    """True when the server accepted the request and then went away (a crash), as opposed
    to a refused connection (no server)."""
    cause: BaseException | None = exc
    while cause is not None:
        if type(cause).__name__ in _DROPPED:
            return True
        cause = cause.__cause__ or cause.__context__
    return False


_PARAMS_LOCK = threading.Lock()


@contextmanager
def llama_model_params(extra_buffers: bool) -> Iterator[None]:
    """While open, llama.cpp models load with ``use_extra_bufts=extra_buffers``.

    llama.cpp's "extra buffer types" (AMX tiles and repacked weights) crash with a general
    protection fault in libggml-cpu on some CPUs that report AMX; off is the safe choice
    on every CPU. llama-cpp-python's ``Llama`` has no argument for it, so the library's
    default model parameters are wrapped for the duration of the load."""
    import llama_cpp.llama_cpp as C

    with _PARAMS_LOCK:
        original = C.llama_model_default_params

        def params() -> Any:
            p = original()
            p.use_extra_bufts = extra_buffers
            return p

        C.llama_model_default_params = params
        try:
            yield
        finally:
            C.llama_model_default_params = original


class LlamaCppLLM:
    """A local GGUF model in-process through llama-cpp-python."""

    _models: dict[tuple[str, int, bool], Any] = {}
    _lock = threading.Lock()  # one llama.cpp context: one request at a time

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
        key = (str(path), settings.llm_n_ctx, settings.llm_extra_buffers)
        if key not in self._models:
            with llama_model_params(settings.llm_extra_buffers):
                self._models[key] = Llama(model_path=str(path), n_ctx=settings.llm_n_ctx,
                                          verbose=False)
        self._llm = self._models[key]

    @property
    def model_params(self) -> Any:
        """The llama.cpp model parameters the model was loaded with."""
        return self._llm.model_params

    def complete(self, messages: Messages) -> str:
        with self._lock:
            r = self._llm.create_chat_completion(messages=messages,
                                                 max_tokens=self.settings.llm_max_tokens,
                                                 temperature=self.settings.llm_temperature)
        return r["choices"][0]["message"].get("content") or ""

    def stream(self, messages: Messages) -> Iterator[str]:
        with self._lock:
            for ev in self._llm.create_chat_completion(
                    messages=messages, max_tokens=self.settings.llm_max_tokens,
                    temperature=self.settings.llm_temperature, stream=True):
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
