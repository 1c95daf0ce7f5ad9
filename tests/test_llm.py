"""The OpenAI-compatible path against real HTTP servers on 127.0.0.1: a scripted one for
exact cases, and llama.cpp's server with a real (tiny) model for the protocol."""

from __future__ import annotations

from dataclasses import replace

import time
from pathlib import Path

import pytest

from assistant import Assistant, Answer
from assistant.errors import ConfigError, LLMError
from assistant.llm import LlamaCppLLM, OpenAILLM
from assistant.settings import load_settings
from tests.conftest import (CANONICAL, ScriptedLLM, ScriptedOpenAIServer, check_citations,
                            free_port, smollm2_gguf)

GOOD = ("Alibaba plans to spend 380 billion yuan on AI and cloud infrastructure over the "
        "next three years [1].")


def openai_assistant(home: Path, embedder, url: str, **kw: object) -> Assistant:
    settings = {"llm_model": "test-model", "llm_timeout": 5, "llm_retries": 2, **kw}
    return Assistant(home=home, embedder=embedder, llm="openai", llm_base_url=url,
                     **settings)


def test_openai_path_canonical_answer_and_refusal(samples_home: Path, real_embedder,
                                                  openai_fake: ScriptedOpenAIServer) -> None:
    openai_fake.script({"content": GOOD})
    with openai_assistant(samples_home, real_embedder, openai_fake.url) as a:
        ans = a.ask(CANONICAL)
        assert ans.backend == "openai:test-model" and not ans.refused
        assert "380 billion yuan" in ans.text
        assert any("380 billion yuan" in c.quote for c in ans.citations)
        check_citations(a, ans)
        req = openai_fake.requests[0]
        assert req["path"] == "/v1/chat/completions" and req["json"]["stream"] is True
        assert req["json"]["model"] == "test-model"
        user = req["json"]["messages"][1]["content"]
        assert '<source id="1" title="Alibaba bets its future' in user and "</source>" in user
        n = len(openai_fake.requests)
        refused = a.ask("Who won the 2022 FIFA World Cup?")
        assert refused.refused and len(openai_fake.requests) == n, "no call for a refusal"


def test_exact_cases(samples_home: Path, real_embedder,
                     openai_fake: ScriptedOpenAIServer) -> None:
    with openai_assistant(samples_home, real_embedder, openai_fake.url) as a:
        openai_fake.script({"content": GOOD[:-4] + "[9]. " + GOOD})  # [9] of 4 sources
        ans = a.ask(CANONICAL)
        # the [9] marker goes; the claim is checked against the source that holds it and
        # a repeated sentence is said once
        assert "[9]" not in ans.text and ans.text.count("380 billion") == 1
        assert ans.text.endswith("[1]") and not ans.refused
        openai_fake.script({"content": "Alibaba plans to spend 500 billion yuan on AI [1]."})
        ans = a.ask(CANONICAL)
        # A figure that is not in the cited source is not an answer: a refusal ...
        assert "500" not in ans.text and ans.refusal_code == "unsupported"
        # ... or, when the evidence is at least as strong as the fitted confident_at
        # (here: any), the passage's own sentences, quoted.
        a.answerer.evidence.params = replace(a.answerer.evidence.params, confident_at=0.0)
        openai_fake.script({"content": "Alibaba plans to spend 500 billion yuan on AI [1]."})
        ans = a.ask(CANONICAL)
        assert "500" not in ans.text and "380 billion yuan" in ans.text
        assert ans.backend == "extractive (openai:test-model declined)"
        openai_fake.script({"status": 429, "body": b'{"error": {"message": "slow down"}}'},
                           {"content": GOOD})
        ans = a.ask(CANONICAL)
        assert not ans.refused and len(openai_fake.requests) == 2, "429 then success"


@pytest.mark.parametrize("step,needle", [
    ({"status": 500, "body": b'{"error": {"message": "boom"}}'}, "failed with HTTP 500 after 2"),
    ({"status": 429, "body": b'{"error": {"message": "x"}}'}, "kept answering 429"),
    ({"status": 401, "body": b'{"error": {"message": "bad key"}}'}, "rejected the API key"),
    ({"status": 404, "body": b'{"error": {"message": "no model"}}'},
     "does not know model 'test-model'"),
    ({"status": 200, "body": b"{this is not json"}, "malformed response"),
    ({"content": GOOD, "delay": 3}, "did not answer within 1s"),
])
def test_failures_are_one_line_errors(samples_home: Path, real_embedder,
                                      openai_fake: ScriptedOpenAIServer, step: dict,
                                      needle: str) -> None:
    openai_fake.script(step)
    with openai_assistant(samples_home, real_embedder, openai_fake.url, llm_timeout=1) as a:
        t = time.perf_counter()
        with pytest.raises(LLMError) as ei:
            a.ask(CANONICAL)
        assert needle in str(ei.value) and "\n" not in str(ei.value)
    if step.get("status") in (500, 429):
        assert len(openai_fake.requests) == 3, "first try plus 2 retries"
        assert time.perf_counter() - t > 0.5, "retries back off"


def test_malformed_json_without_streaming(openai_fake: ScriptedOpenAIServer) -> None:
    openai_fake.script({"status": 200, "body": b"{this is not json"})
    llm = OpenAILLM(load_settings(llm="openai", llm_base_url=openai_fake.url, llm_retries=0))
    with pytest.raises(LLMError, match="malformed response"):
        llm.complete([{"role": "user", "content": "hi"}])


def test_unreachable_server(samples_home: Path, real_embedder) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with openai_assistant(samples_home, real_embedder, url, llm_retries=0) as a:
        with pytest.raises(LLMError, match="cannot reach http://127.0.0.1.*refused"):
            a.ask(CANONICAL)


@pytest.mark.parametrize("die", ["before", "mid-stream"])
def test_server_dying_mid_request_is_told_from_refused(
        openai_fake: ScriptedOpenAIServer, die: str) -> None:
    openai_fake.script({"content": GOOD, "die": die})
    llm = OpenAILLM(load_settings(llm="openai", llm_base_url=openai_fake.url, llm_retries=1,
                                  llm_timeout=5))
    msgs = [{"role": "user", "content": "hi"}]
    calls = [lambda m: "".join(llm.stream(m))] + ([llm.complete] if die == "before" else [])
    for call in calls:
        with pytest.raises(LLMError) as ei:
            call(msgs)
        text = str(ei.value)
        assert "closed the connection mid-request" in text and "cannot reach" not in text
        assert "\n" not in text


def test_real_server_killed_mid_request(tmp_path: Path) -> None:
    """A real server process that exits when a request arrives (as a crash does)."""
    import subprocess
    import sys

    port = free_port()
    script = (
        "import http.server, os\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_POST(self):\n"
        "        os._exit(139)\n"
        f"http.server.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\n")
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                import socket

                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.1)
        llm = OpenAILLM(load_settings(llm="openai", llm_base_url=f"http://127.0.0.1:{port}/v1",
                                      llm_retries=0))
        with pytest.raises(LLMError, match="closed the connection mid-request"):
            llm.complete([{"role": "user", "content": "hi"}])
        assert proc.wait(10) == 139
    finally:
        proc.kill()


def test_backend_is_chosen_explicitly(monkeypatch: pytest.MonkeyPatch,
                                      samples_home: Path, real_embedder) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-stray")
    with Assistant(home=samples_home, embedder=real_embedder) as a:
        assert a.answerer.backend == "extractive" and a.answerer.llm is None
    with pytest.raises(ConfigError, match="ASSISTANT_LLM_BASE_URL"):
        monkeypatch.delenv("OPENAI_API_KEY")
        OpenAILLM(load_settings(llm="openai"))
    with pytest.raises(ConfigError, match="ASSISTANT_LLM_MODEL_PATH"):
        LlamaCppLLM(load_settings(llm="llama-cpp"))


def test_real_llama_server_protocol(samples_home: Path, real_embedder,
                                    llama_server: str) -> None:
    """A tiny real model may answer badly; what must hold is the protocol, streaming, and
    that every citation left in the final answer verifies."""
    with openai_assistant(samples_home, real_embedder, llama_server, llm_timeout=120,
                          llm_model="smollm2") as a:
        for q in [CANONICAL, "When did the James Webb Space Telescope launch?"]:
            pieces = list(a.stream(q))
            final = pieces[-1]
            assert isinstance(final, Answer) and final.backend in (
                "openai:smollm2", "extractive (openai:smollm2 declined)")
            assert all(isinstance(p, str) for p in pieces[:-1])
            check_citations(a, final)
            if final.refused:
                assert not final.citations
            else:
                assert final.citations


def llm_backends(request: pytest.FixtureRequest) -> object:
    kind = request.param
    if kind == "scripted":
        return ScriptedLLM("Paris is the capital of France [1].")
    settings = dict(llm_timeout=120, llm_retries=0, llm_temperature=0.0)
    if kind == "openai-fake":
        srv = request.getfixturevalue("openai_fake")
        srv.script({"content": "Paris is the capital of France [1]."})
        return OpenAILLM(load_settings(llm="openai", llm_base_url=srv.url, **settings))
    if kind == "openai-llama-server":
        url = request.getfixturevalue("llama_server")
        return OpenAILLM(load_settings(llm="openai", llm_base_url=url, llm_model="smollm2",
                                       **settings))
    return LlamaCppLLM(load_settings(llm="llama-cpp", llm_model_path=smollm2_gguf(),
                                     **settings))


@pytest.fixture(params=["scripted", "openai-fake", "openai-llama-server", "llama-cpp"])
def any_llm(request: pytest.FixtureRequest) -> object:
    return llm_backends(request)


def test_llm_contract(any_llm) -> None:
    msgs = [{"role": "system", "content": "Answer in one short sentence."},
            {"role": "user", "content": "What is the capital of France?"}]
    text = any_llm.complete(msgs)
    assert isinstance(text, str) and text.strip()
    pieces = list(any_llm.stream(msgs))
    assert pieces and all(isinstance(p, str) for p in pieces) and "".join(pieces).strip()
    assert isinstance(any_llm.name, str) and any_llm.name


def test_llama_cpp_is_safe_on_every_cpu_unless_opted_in() -> None:
    """llama.cpp's extra CPU buffer types crash some AMX CPUs: off unless asked for."""
    import llama_cpp
    import llama_cpp.llama_cpp as C

    from assistant.llm import llama_model_params

    assert load_settings().llm_extra_buffers is False
    llm = LlamaCppLLM(load_settings(llm="llama-cpp", llm_model_path=smollm2_gguf()))
    assert llm.model_params.use_extra_bufts is False
    assert C.llama_model_default_params().use_extra_bufts is True, "library default restored"
    with llama_model_params(True):
        assert C.llama_model_default_params().use_extra_bufts is True
    with llama_model_params(False):
        assert C.llama_model_default_params().use_extra_bufts is False
    if b"AMX" not in llama_cpp.llama_print_system_info():  # opting in is safe to try here
        opted = LlamaCppLLM(load_settings(llm="llama-cpp", llm_model_path=smollm2_gguf(),
                                          llm_extra_buffers=True))
        assert opted.model_params.use_extra_bufts is True


@pytest.mark.parametrize("args,env,state", [([], {}, "off"), (["--extra-buffers"], {}, "on"),
                                            ([], {"ASSISTANT_LLM_EXTRA_BUFFERS": "true"}, "on")])
def test_llama_server_launcher_applies_the_setting(args: list[str], env: dict, state: str) -> None:
    import os
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "assistant.llama_server", *args, "--help"],
                       capture_output=True, text=True, timeout=120, env={**os.environ, **env})
    assert r.returncode == 0 and "--model" in r.stdout
    assert f"extra buffer types {state}" in r.stderr
