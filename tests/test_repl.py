"""The chat REPL in a real pseudo-terminal: a question, a follow-up, commands, /quit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect


def spawn(home: Path) -> pexpect.spawn:
    env = {**os.environ, "ASSISTANT_HOME": str(home), "PROMPT_TOOLKIT_NO_CPR": "1",
           "TERM": "xterm"}
    return pexpect.spawn(sys.executable, ["-m", "assistant.cli", "chat"], env=env,
                         encoding="utf-8", timeout=120, dimensions=(50, 200),
                         use_poll=True)  # select() fails past fd 1024 in a long suite


def test_repl_question_follow_up_and_quit(samples_home: Path) -> None:
    child = spawn(samples_home)
    child.expect("4 documents, answers by extractive")
    child.expect("you>")
    child.sendline("How much has Alibaba committed to AI?")
    child.expect("380 billion yuan")
    child.expect("Sources:")
    child.expect(r"\[1\] Alibaba bets its future on artificial intelligence")
    child.expect("you>")
    child.sendline("How fast did its cloud revenue grow?")
    child.expect(r"understood as: How fast did Alibaba's cloud revenue grow\?")
    child.expect("26% year on year")
    child.expect("you>")
    child.sendline("/sources")
    child.expect("How the James Webb Space Telescope reached its post")
    child.expect("you>")
    child.sendline("/bogus")
    child.expect("unknown command '/bogus'")
    child.expect("you>")
    child.sendline("/help")
    child.expect("/reset")
    child.expect("you>")
    child.sendline("/reset")
    child.expect("conversation forgotten")
    child.expect("you>")
    child.sendline("/asof 2025-01-01")  # before the Alibaba article was published
    child.expect(r"answering as of 2025-01-01")
    child.expect("you>")
    child.sendline("How much has Alibaba committed to AI?")
    child.expect("Not in the sources")
    child.expect("you>")
    child.sendline("/asof someday")
    child.expect("is not a date: expected a day as YYYY-MM-DD")
    child.expect("you>")
    child.sendline("/asof 2025-13-01")  # not a calendar day: refused, the session goes on
    child.expect("is not a calendar day")
    child.expect("you>")
    child.sendline("/asof today")
    child.expect(r"answering as of today")
    child.expect("you>")
    child.sendcontrol("c")  # Ctrl-C at the prompt does not end the session
    child.expect("you>")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_repl_multi_line_input(samples_home: Path) -> None:
    child = spawn(samples_home)
    child.expect("you>")
    child.send("When did the James Webb\x1b\r")  # Esc, Enter: a new line, not sent
    child.send("Space Telescope launch?\r")
    child.expect("25 December 2021")
    child.expect("you>")
    child.sendeof()
    child.expect(pexpect.EOF)


def test_ctrl_c_cancels_the_answer_not_the_session(samples_home: Path, openai_fake) -> None:
    openai_fake.script({"content": "Alibaba plans to spend 380 billion yuan [1].", "delay": 8},
                       {"content": "Alibaba plans to spend 380 billion yuan [1]."})
    env = {**os.environ, "ASSISTANT_HOME": str(samples_home), "PROMPT_TOOLKIT_NO_CPR": "1"}
    child = pexpect.spawn(sys.executable, ["-m", "assistant.cli", "chat", "--llm", "openai",
                                           "--base-url", openai_fake.url, "--model", "m"],
                          env=env, encoding="utf-8", timeout=120, dimensions=(50, 200),
                          use_poll=True)
    child.expect("answers by openai:m")
    child.expect("you>")
    child.sendline("How much has Alibaba committed to AI?")
    child.expect("assistant>")
    child.sendcontrol("c")
    child.expect(r"\(answer cancelled\)")
    child.expect("you>")
    child.sendline("How much has Alibaba committed to AI?")
    child.expect("380 billion yuan")
    child.expect("you>")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
