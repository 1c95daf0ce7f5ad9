"""The README's commands and examples are real: they run, and print what it shows."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, free_port, serve

README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def test_ci_runs_the_readme_test_command() -> None:
    setup = blocks("bash")
    assert len(setup) == 2, "exactly two set-up commands"
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci == setup[1].strip()
    assert "pytest" in ci and setup[0].startswith("pip install torch==2.13.0")


def normalised(text: str) -> str:
    """Output with what differs from run to run (timings, ids, the clone's folder) fixed."""
    text = text.replace(str(ROOT), "/work/main")
    text = re.sub(r"\((\S+); [\d.]+ s in all: start-up and loading [\d.]+ s, retrieval \d+ ms, "
                  r"answer \d+ ms\)", r"(\1; TIMES)", text)
    text = re.sub(r"in [\d.]+ s, [\d.]+ chunks/s; [\d.]+ s in all", "in TIMES", text)
    text = re.sub(r'"chatcmpl-\w+"', '"chatcmpl-ID"', text)
    return re.sub(r'"created": \d+', '"created": 0', text)


def shown_after(opening: str) -> str:
    """The text block of the README that starts with ``opening``."""
    return next(b for b in blocks("text") if b.startswith(opening))


def test_main_command_runs_and_prints_what_the_readme_shows(tmp_path: Path) -> None:
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home")}
    steps = [s for s in blocks("bash")[0].strip().split(" && ") if s.startswith("assistant")]
    assert [shlex.split(s)[1] for s in steps] == ["ingest", "ask"]
    # The command line section: every command of its block, and exactly what it prints.
    session = shown_after("$ assistant ingest samples/")
    for part in session.split("$ ")[1:]:
        command, _, shown = part.partition("\n")
        assert command.startswith("assistant ") and (command in steps or "--json" in command)
        r = subprocess.run([sys.executable, "-m", "assistant.cli", *shlex.split(command)[1:]],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert normalised(r.stdout).strip() == normalised(shown).strip(), r.stdout


def test_the_chat_example_is_a_real_session(tmp_path: Path) -> None:
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home")}
    subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet", "samples/"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    shown = shown_after("assistant chat:")
    typed = [ln[len("you> "):] for ln in shown.splitlines() if ln.startswith("you> ")]
    r = subprocess.run([sys.executable, "-m", "assistant.cli", "chat"], cwd=ROOT, env=env,
                       input="\n".join(typed) + "\n", capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    expected = "\n".join(ln for ln in shown.splitlines() if not ln.startswith("you> "))
    assert normalised(r.stdout).strip() == normalised(expected).strip(), r.stdout


def test_the_server_examples_print_what_the_readme_shows(tmp_path: Path) -> None:
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home")}
    subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet", "samples/"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    port = free_port()
    server = serve([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
                   f"http://127.0.0.1:{port}", "/healthz", tmp_path / "serve.log", 180, env=env)
    next(server)
    try:
        session = shown_after("$ assistant serve --port 8000")
        command, output = session.split("\n$ ", 1)[1].split("\n{", 1)
        curl = command.replace("\\\n", " ").replace("localhost:8000", f"localhost:{port}")
        r = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=120)
        assert normalised(r.stdout).strip() == normalised("{" + output).strip(), r.stdout
        python = shown_after(">>> import openai").splitlines()
        code = [ln[4:] for ln in python if ln.startswith((">>> ", "... "))]
        code[-1] = f"print(repr(({code[-1]})))"
        r = subprocess.run([sys.executable, "-c", "\n".join(code).replace(
            "127.0.0.1:8000", f"127.0.0.1:{port}")], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == python[-1], r.stdout
    finally:
        next(server, None)  # stops the server


def test_python_api_example_runs(tmp_path: Path) -> None:
    code = next(b for b in blocks("python") if "from assistant import Assistant" in b)
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, "-c", code + "\nprint('REFUSED', ans.refused)\n"
                        "print('LAST', chat.history[-1].answer.text)"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "REFUSED False" in r.stdout and "26%" in r.stdout
    assert "25 December 2021" in r.stdout


def test_the_mcp_example_is_what_a_client_gets(tmp_path: Path) -> None:
    import asyncio
    import json

    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    config = json.loads(next(b for b in blocks("json") if "mcpServers" in b))
    assert config["mcpServers"]["assistant"]["args"] == ["mcp"]
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home")}
    subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet", "samples/"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    shown = shown_after("[ask] ")
    asked = [ln[len("[ask] "):] for ln in shown.splitlines() if ln.startswith("[ask] ")]
    params = StdioServerParameters(command=sys.executable, args=["-m", "assistant.cli", "mcp"],
                                   env=env, cwd=str(ROOT))

    async def session() -> list[str]:
        async with Client(params, read_timeout_seconds=240) as client:
            return [(await client.call_tool("ask", {"question": q})).content[0].text
                    for q in asked]
    got = "".join(f"[ask] {q}\n{text}\n" for q, text in zip(asked, asyncio.run(session())))
    assert got.strip() == shown.strip(), got
