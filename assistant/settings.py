"""One Settings object. Precedence: explicit arguments > ``ASSISTANT_*`` env vars >
the config file (``$ASSISTANT_CONFIG``, else ``$ASSISTANT_HOME/config.toml``) > defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import (BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict,
                               TomlConfigSettingsSource)

from assistant.errors import ConfigError

DEFAULT_HOME = Path("~/.assistant")


def default_home() -> Path:
    return Path(os.environ.get("ASSISTANT_HOME") or DEFAULT_HOME).expanduser()


def config_file() -> Path:
    return Path(os.environ.get("ASSISTANT_CONFIG") or default_home() / "config.toml").expanduser()


class Settings(BaseSettings):
    """Every knob of the assistant. Each field can be set as ``ASSISTANT_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="forbid",
                                      validate_default=True, populate_by_name=True)

    # --- state --------------------------------------------------------------------------
    home: Path = Field(default_factory=default_home,
                       description="State directory: documents, index, config.")
    chroma_url: str | None = Field(None, description="http://host:port of a Chroma server "
                                   "(`chroma run`); empty means embedded Chroma under home.")
    collection: str = Field("articles", description="Chroma collection name.")
    database_url: str | None = Field(None, description="postgresql://user@host:port/db of a "
                                     "PostgreSQL server for the documents and the lexical "
                                     "index (several replicas on one collection, with "
                                     "chroma_url); empty means an SQLite file under home.")
    write_lock_timeout: float = Field(600.0, ge=0, description="Seconds a writer (ingest, "
                                      "remove, check --repair) waits for another writer on "
                                      "the same home before giving up with one line.")

    # --- embedding ----------------------------------------------------------------------
    embed_model: str = Field("all-MiniLM-L6-v2", description="'all-MiniLM-L6-v2' (the "
                             "packaged model) or a local sentence-transformers directory.")
    embed_backend: Literal["auto", "onnx-int8", "torch", "torch-bf16"] = Field(
        "auto", description="'auto': the fastest form on this CPU, timed once and "
        "remembered; 'onnx-int8': the model exported to ONNX and int8-quantised; 'torch': "
        "sentence-transformers in float32; 'torch-bf16': in bfloat16 (AMX CPUs).")
    cache_dir: Path = Field(Path("~/.cache/assistant"), description="Where derived model "
                            "files (the ONNX export) are cached; shared by all homes.")
    embed_batch_size: int = Field(16, ge=1, le=4096, description="Chunks per encode call "
                                  "(texts are length-sorted first), or per request to an "
                                  "embeddings server.")
    embed_base_url: str | None = Field(None, description="An OpenAI-compatible embeddings "
                                       "endpoint (e.g. http://gpu-box:8080/v1) to compute "
                                       "embeddings instead of the in-process model; "
                                       "embed_model names the model it serves.")
    embed_api_key: str | None = Field(None, description="API key of the embeddings server.")
    embed_concurrency: int = Field(4, ge=1, le=64, description="Requests in flight to the "
                                   "embeddings server.")

    # --- ingestion ----------------------------------------------------------------------
    chunk_tokens: int = Field(160, ge=16, le=2048, description="Token budget of a chunk.")
    chunk_overlap: int = Field(32, ge=0, description="Tokens of trailing sentences repeated "
                               "at the start of the next chunk.")
    max_source_mb: float = Field(25.0, gt=0, description="Largest file or download accepted.")
    url_timeout: float = Field(20.0, gt=0, description="Seconds allowed to fetch a URL.")
    allow_private_urls: bool = Field(False, description="Fetch URLs whose host resolves to "
                                     "a loopback, private or link-local address (intranet "
                                     "use). Off: such URLs, and redirects to them, are refused.")
    mcp_allow_ingest: bool = Field(False, description="Give MCP clients an `ingest` tool "
                                   "(files on this machine and URLs through the same safe "
                                   "fetcher). Off: the MCP server is read-only.")
    feed_max_items: int = Field(50, ge=1, description="Items of a feed ingested per run "
                                "(the newest first, as the feed lists them).")
    feed_delay: float = Field(1.0, ge=0, description="Seconds between fetching a feed's "
                              "item pages (politeness to the site).")
    include: list[str] = Field(default_factory=lambda: ["*.txt", "*.md", "*.html", "*.htm",
                               "*.pdf", "*.docx", "*.jsonl", "*.rss", "*.atom"],
                               description="Globs a directory walk takes.")
    exclude: list[str] = Field(default_factory=lambda: [".*", "*/.*", "__pycache__"],
                               description="Globs a directory walk skips.")

    # --- retrieval and answering --------------------------------------------------------
    top_k: int = Field(6, ge=1, le=100, description="Chunks given to the answerer.")
    llm_context_chars: int = Field(4000, ge=200, le=200_000, description="Most characters "
                                   "of source text an LLM is given: the best-ranked "
                                   "sources that fit (always at least one). Small local "
                                   "models answer better and faster with less.")
    reader: bool = Field(True, description="Let the trained reader (assistant/reader_model, "
                         "when installed and fitted into evidence_params.json) read the "
                         "best candidate sentences before the answer decision.")
    llm_fallback: bool = Field(True, description="When the LLM declines although a "
                               "retrieved sentence answers the question with high "
                               "confidence (the fitted ``confident_at`` of "
                               "evidence_params.json), quote that sentence instead.")
    llm: Literal["extractive", "openai", "llama-cpp"] = Field(
        "extractive", description="Answer backend; chosen explicitly, never guessed.")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, "
                                     "e.g. http://127.0.0.1:8080/v1.")
    llm_model: str = Field("gpt-4o-mini", description="Model name sent to the endpoint.")
    llm_api_key: str | None = Field(None, validation_alias=AliasChoices(
        "llm_api_key", "ASSISTANT_LLM_API_KEY", "OPENAI_API_KEY"), description="API key.")
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds per LLM request.")
    llm_retries: int = Field(3, ge=0, le=10, description="Retries on 429, 5xx, timeouts.")
    llm_model_path: Path | None = Field(None, description="GGUF file for llama-cpp.")
    llm_n_ctx: int = Field(4096, ge=256, le=1_048_576, description="Context window (tokens) "
                           "of the in-process llama-cpp model.")
    llm_max_tokens: int = Field(400, ge=1, le=100_000, description="Most tokens an LLM may "
                                "write per answer.")
    llm_extra_buffers: bool = Field(False, description="llama-cpp: let llama.cpp use its extra "
                                    "CPU buffer types (AMX tiles, repacked weights). Off by "
                                    "default: on some CPUs that report AMX they crash the "
                                    "process (a segfault in libggml-cpu). Turn on only on a "
                                    "CPU where it is known to work.")
    # --- server (assistant serve) -------------------------------------------------------
    api_key: str | None = Field(None, description="Bearer token the server requires on "
                                "/v1 and /api; required to bind to anything but loopback.")
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed to "
                                    "call the server from a browser (CORS); none by default.")
    max_request_mb: float = Field(30.0, gt=0, description="Largest request body (uploads "
                                  "included) the server accepts.")

    unsupported: Literal["drop", "flag"] = Field("drop", description="What to do with an "
                                                 "answer sentence its citation does not support.")

    @field_validator("home", "llm_model_path", "cache_dir", mode="after")
    @classmethod
    def _expand(cls, v: Path | None) -> Path | None:
        return v.expanduser() if v is not None else None

    @field_validator("chroma_url", "database_url", "llm_base_url", "embed_base_url",
                     mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if v in ("", None) else v

    @field_validator("chroma_url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(f"chroma_url must start with http:// or https://, got {v!r}")
        return v

    @field_validator("database_url")
    @classmethod
    def _check_database(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("postgresql://", "postgres://")):
            raise ValueError("database_url must start with postgresql:// or postgres://, "
                             f"got {v.split('@')[-1]!r}")
        return v

    @model_validator(mode="after")
    def _check_overlap(self) -> "Settings":
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                             f"chunk_tokens ({self.chunk_tokens})")
        return self

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings,
                TomlConfigSettingsSource(settings_cls, toml_file=config_file()))


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning validation errors into one readable ConfigError."""
    from pydantic import ValidationError

    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        given = first.get("input")
        if "key" in where or isinstance(given, str) and "@" in given:  # a secret, or
            given = "(hidden)"                                        # a URL's password
        raise ConfigError(f"bad setting {where}={given!r}: {first['msg']} "
                          f"(check arguments, ASSISTANT_* env vars and {config_file()})") from None
    except Exception as e:  # a malformed config file
        raise ConfigError(f"cannot read settings: {e} (check {config_file()})") from None
