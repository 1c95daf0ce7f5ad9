"""assistant: answers questions about your articles, every claim cited to the exact words."""

import os as _os

# "Fully offline": onnxruntime (the embedder's runtime) otherwise looks up Microsoft's
# telemetry host when it starts. Set before anything imports it.
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from assistant.errors import (AssistantError, ConfigError, EmbedderMismatch, LLMError,
                              NotFound, SourceError, StoreError)
from assistant.settings import Settings
from assistant.types import Answer, Chunk, Citation, Document, Hit
from assistant.display import register_notebook

register_notebook()

__all__ = ["Assistant", "Settings", "Answer", "Chunk", "Citation", "Document", "Hit",
           "AssistantError", "ConfigError", "EmbedderMismatch", "LLMError", "NotFound",
           "SourceError", "StoreError"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``assistant.Assistant`` is imported on first use, so that importing a lower layer
    (``assistant.types``, ``ingest.chunking``) never loads the facade above it."""
    if name == "Assistant":
        from assistant.api import Assistant

        return Assistant
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
