"""Explicit arguments > ASSISTANT_* env vars > config file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.settings import Settings, load_settings


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('top_k = 3\nchunk_tokens = 100\nllm_model = "from-file"\n')
    monkeypatch.setenv("ASSISTANT_CONFIG", str(cfg))
    s = load_settings()
    assert (s.top_k, s.chunk_tokens, s.llm_model) == (3, 100, "from-file")
    monkeypatch.setenv("ASSISTANT_TOP_K", "5")
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", "from-env")
    s = load_settings()
    assert (s.top_k, s.chunk_tokens, s.llm_model) == (5, 100, "from-env")
    s = load_settings(top_k=9)
    assert (s.top_k, s.llm_model) == (9, "from-env")


def test_home_from_env_and_config_in_home(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path))
    (tmp_path / "config.toml").write_text("top_k = 2\n")
    s = load_settings()
    assert s.home == tmp_path and s.top_k == 2


def test_openai_key_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert load_settings().llm_api_key == "sk-test"
    assert load_settings().llm == "extractive", "a stray key never picks the backend"


@pytest.mark.parametrize("kw,needle", [
    ({"top_k": 0}, "top_k=0"),
    ({"chunk_overlap": 500}, "chunk_overlap (500) must be smaller"),
    ({"llm": "gpt"}, "llm='gpt'"),
    ({"chroma_url": "localhost:8000"}, "chroma_url must start with http"),
    ({"no_such_field": 1}, "no_such_field"),
])
def test_bad_values_are_named(kw: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as ei:
        load_settings(**kw)
    assert needle in str(ei.value) and "\n" not in str(ei.value)


def test_database_url_is_checked_without_showing_its_password(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", "mysql://reader:s3cret@db.example/articles")
    with pytest.raises(ConfigError) as ei:
        load_settings()
    message = str(ei.value)
    assert "database_url must start with postgresql://" in message and "\n" not in message
    assert "s3cret" not in message and "db.example/articles" in message
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", "")
    assert load_settings().database_url is None, "empty means the SQLite file"


def test_bad_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("top_k = [unclosed\n")
    monkeypatch.setenv("ASSISTANT_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match="c.toml"):
        load_settings()


def test_every_field_is_documented() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} has no description"
