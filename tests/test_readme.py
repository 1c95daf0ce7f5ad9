"""The README's commands and examples are real: they run, and print what it shows."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def test_ci_runs_the_readme_test_command() -> None:
    setup = blocks("bash")
    assert len(setup) == 2, "exactly two set-up commands"
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci == setup[1].strip()
    assert "pytest" in ci and setup[0].startswith("pip install torch==2.13.0")


def test_main_command_runs_and_prints_what_the_readme_shows(tmp_path: Path) -> None:
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home")}
    steps = [s for s in blocks("bash")[0].strip().split(" && ") if s.startswith("assistant")]
    assert [shlex.split(s)[1] for s in steps] == ["ingest", "ask"]
    outputs = []
    for step in steps:
        r = subprocess.run([sys.executable, "-m", "assistant.cli", *shlex.split(step)[1:]],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        outputs.append(r.stdout)
    shown = README.split('$ assistant ask "How much has Alibaba committed to AI?"\n')[1]
    shown = shown.replace("/work/main/", f"{ROOT}/")  # the README was run in /work/main
    assert outputs[0].startswith("added 4, updated 0, unchanged 0, removed 0, duplicate 0")
    assert outputs[1].splitlines()[0] == shown.splitlines()[0]
    for line in shown.split("\n(extractive")[0].splitlines():
        if line.strip().startswith(("[1]", "\u201c")):
            assert line.strip() in outputs[1], line


def test_python_api_example_runs(tmp_path: Path) -> None:
    code = next(b for b in blocks("python") if "from assistant import Assistant" in b)
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, "-c", code + "\nprint('REFUSED', ans.refused)\n"
                        "print('LAST', chat.history[-1].answer.text)"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "REFUSED False" in r.stdout and "26%" in r.stdout
    assert "25 December 2021" in r.stdout
