"""assistant: answers questions about your articles, every claim cited to the exact words."""

from assistant.errors import (AssistantError, ConfigError, EmbedderMismatch, LLMError,
                              NotFound, SourceError, StoreError)
from assistant.settings import Settings
from assistant.types import Answer, Chunk, Citation, Document, Hit

from assistant.api import Assistant  # noqa: E402  (last: it imports the ingest package)

__all__ = ["Assistant", "Settings", "Answer", "Chunk", "Citation", "Document", "Hit",
           "AssistantError", "ConfigError", "EmbedderMismatch", "LLMError", "NotFound",
           "SourceError", "StoreError"]
__version__ = "0.1.0"
