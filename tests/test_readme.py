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


def test_the_two_replica_deployment_runs_as_written(tmp_path: Path) -> None:
    """The Scale section's three commands, run as written (other ports): PostgreSQL, a
    `chroma run`, two `assistant serve` replicas; an upload through one is answered by
    the other. The PostgreSQL line runs as the `postgres` user when the tests run as root
    (initdb refuses root), as a reader following the README would be someone else."""
    import shutil
    import signal
    import tempfile
    import time

    import httpx

    from tests.conftest import postgres_bin

    block = next(b for b in blocks("sh") if b.startswith("initdb"))
    ports = {p: str(free_port()) for p in ("5432", "8000", "8001", "8002")}
    lines = [re.sub(r"\b(5432|8000|8001|8002)\b", lambda m: ports[m.group(1)], line)
             for line in block.strip().splitlines()]
    assert len(lines) == 3
    work = Path(tempfile.mkdtemp(prefix="assistant-deploy-"))  # open to the postgres user
    as_user: dict[str, object] = {}
    if os.geteuid() == 0:
        shutil.chown(work, "postgres")
        as_user = {"user": "postgres", "group": "postgres", "extra_groups": []}
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(postgres_bin("initdb")).parent),
                                                  str(Path(sys.executable).parent),
                                                  os.environ.get("PATH", "")])}
    replicas = None
    try:
        r = subprocess.run(["bash", "-c", lines[0]], cwd=work, env=env, capture_output=True,
                           text=True, timeout=180, **as_user)  # type: ignore[call-overload]
        assert r.returncode == 0, r.stderr[-2000:]
        log = open(work / "replicas.log", "w")
        # The database's owner is the user who ran initdb: `postgres` here, not root.
        replicas = subprocess.Popen(["bash", "-c", f"{lines[1]}\n{lines[2]}\nwait"], cwd=work,
                                    env={**env, "PGUSER": "postgres"} if as_user else env,
                                    start_new_session=True, stdout=log,
                                    stderr=subprocess.STDOUT)
        one, two = (f"http://127.0.0.1:{ports[p]}" for p in ("8001", "8002"))
        deadline = time.time() + 240
        while True:
            try:
                if all(httpx.get(f"{u}/healthz").status_code == 200 for u in (one, two)):
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline and replicas.poll() is None, \
                (work / "replicas.log").read_text()[-3000:]
            time.sleep(0.5)
        note = ("Zeebrugge port report\nThe harbour of Zeebrugge handled 41 cruise ships "
                "in May, a record for spring.\n")
        r = httpx.post(f"{one}/api/ingest", files={"files": ("port.txt", note)}, timeout=120)
        assert r.status_code == 200 and '"added"' in r.text.splitlines()[-1]
        found = httpx.post(f"{two}/api/ask", timeout=60, json={
            "question": "How many cruise ships did Zeebrugge handle in May?"}).json()
        assert "41 cruise ships" in found["answer"], found
    finally:
        if replicas is not None:
            os.killpg(replicas.pid, signal.SIGTERM)
            replicas.wait(30)
            log.close()
        subprocess.run([postgres_bin("pg_ctl"), "-D", str(work / "pgdata"), "-m", "fast",
                        "stop"], capture_output=True, timeout=60, **as_user)  # type: ignore
        shutil.rmtree(work, ignore_errors=True)
