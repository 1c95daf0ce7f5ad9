"""Domain exceptions. Each message says what went wrong and how to fix it; the CLI and
REPL print them on one line."""


class AssistantError(Exception):
    """Base class of every error the assistant raises on purpose."""


class ConfigError(AssistantError):
    """A setting is invalid or the config file cannot be read."""


class SourceError(AssistantError):
    """A source (file, URL, JSONL line) cannot be loaded; the message names it."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class StoreError(AssistantError):
    """The document store or the vector index cannot be used."""


class StoreBusy(StoreError):
    """Another writer held the store's write lock for longer than the timeout."""


class EmbedderMismatch(StoreError):
    """The index was built with another embedding model than the one configured."""


class NotFound(AssistantError):
    """No document with that id or uri."""


class LLMError(AssistantError):
    """The LLM backend failed (bad key, unknown model, unreachable server, ...)."""


class InvalidDate(ConfigError):
    """A day given by a user (a flag, a REPL command, an API field) is not a YYYY-MM-DD
    calendar day."""


class InvalidQuestion(ConfigError):
    """The question is empty, too long, or not valid text."""


class TooLarge(AssistantError):
    """An input (upload, request body) is over its size limit."""


class EmbedderError(AssistantError):
    """The embedding backend failed (an embeddings server unreachable or answering badly)."""
