"""The wheel ships the prompts and the console script; every CLI command has help."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from assistant import prompts
from tests.conftest import ROOT


def test_wheel_installs_and_loads_a_prompt(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(dist), str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("assistant-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps",
                    "--no-index", "--quiet", str(wheel)], check=True, timeout=300)
    code = ("from assistant import prompts; import assistant, assistant.ingest; "
            "print(prompts.__file__); print(assistant.__file__); "
            "from assistant.reader import MODEL_DIR, OnnxReader; print(MODEL_DIR); "
            "print(OnnxReader().score('Who founded it?', ['T | Ma founded it in 1999.'])); "
            "print(prompts.render('answer_user', sources='S', question='Q'))")
    out = subprocess.run([str(py), "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert str(env_dir) in out[0] and str(env_dir) in out[1], "loaded from the wheel"
    assert str(env_dir) in out[2] and out[3].startswith("["), "the reader ships in the wheel"
    assert "Question: Q" in out
    help_out = subprocess.run([str(env_dir / "bin" / "assistant"), "--help"],
                              capture_output=True, text=True, check=True).stdout
    assert "ingest" in help_out and "sources" in help_out


def test_prompt_placeholders_are_checked() -> None:
    for name, want in prompts.TEMPLATES.items():
        assert prompts.placeholders(prompts.load(name)) == want
    with pytest.raises(ValueError, match="needs"):
        prompts.render("answer_user", sources="x")
    assert "{{x}}" == prompts.strip_braces("{x}")


def test_every_cli_command_has_help() -> None:
    from assistant.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    helps = {a.dest: a.help for a in sub._choices_actions}
    assert set(helps) == {"ingest", "sources", "remove", "check", "ask", "chat", "serve",
                          "watch", "mcp", "eval"}
    for name, p in sub.choices.items():
        assert helps.get(name), f"`assistant {name}` has no help text"
        text = p.format_help()
        for action in p._actions:
            if action.dest != "help":
                assert action.help, f"`assistant {name}` option {action.dest} has no help"
                flag = action.option_strings[0] if action.option_strings else (
                    action.metavar or action.dest)
                assert flag and str(flag) in text, f"`assistant {name} --help` omits {flag}"


def test_cli_rough_edges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    """--version; remove by the relative path that ingest accepted; an empty index says
    nothing is ingested yet."""
    import shutil

    from assistant.cli import main

    with pytest.raises(SystemExit) as ei:
        main(["--version"])
    assert ei.value.code == 0 and capsys.readouterr().out.startswith("assistant 0.")
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "home"))
    assert main(["ask", "What happened?"]) == 0
    assert capsys.readouterr().out.startswith("Nothing is ingested yet")
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    monkeypatch.chdir(tmp_path)
    assert main(["ingest", "--quiet", "samples/"]) == 0
    capsys.readouterr()
    assert main(["remove", "samples/eu-ai-act.md"]) == 0
    assert "removed" in capsys.readouterr().out


def test_fully_offline_no_network_lookups(samples_home: Path, tmp_path: Path) -> None:
    """`assistant ask` opens no connection but local ones (strace sees the C libraries'
    lookups too, such as onnxruntime's telemetry, which a Python hook would not)."""
    import os
    import re
    import shutil

    strace = shutil.which("strace")
    assert strace, "strace is missing: apt-get install strace (see the README test command)"
    log = tmp_path / "strace.log"
    r = subprocess.run([strace, "-f", "-e", "trace=connect", "-o", str(log), sys.executable,
                        "-m", "assistant.cli", "ask", "How much has Alibaba committed to AI?"],
                       env={**os.environ, "ASSISTANT_HOME": str(samples_home)},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "380 billion yuan" in r.stdout, r.stderr[-2000:]
    remote = [ln for ln in log.read_text(errors="replace").splitlines()
              if re.search(r"sa_family=AF_INET6?", ln) and "127.0.0.1" not in ln
              and "::1" not in ln]
    assert not remote, remote[:5]
