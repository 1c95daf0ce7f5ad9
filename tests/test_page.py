"""The web page of `assistant serve`, as a person uses it, in a real headless Chromium
(Playwright driving Debian's /usr/bin/chromium; if it cannot start, the test fails): a
conversation with a follow-up, a citation opened in its source, the source drawer, a
refusal, a new chat, at a phone's and a laptop's width, and axe-core's accessibility
check. ``UPDATE_SCREENSHOTS=examples`` also writes the README's screenshots there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import CANONICAL, ROOT, SAMPLES, free_port, serve

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDTHS = [(360, 740), (1280, 800)]
SHOWN = {"page-chat-1280.png", "page-source-360.png"}  # the README's screenshots


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("page")
    env = {**os.environ, "ASSISTANT_HOME": str(tmp / "home")}
    r = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "--quiet",
                        str(SAMPLES)], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    port = free_port()
    yield from serve([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
                     f"http://127.0.0.1:{port}", "/healthz", tmp / "serve.log", 180, env=env)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


def ask(page: Any, question: str) -> Any:
    """Type a question, press Enter, wait for the answer to finish; the turn."""
    turns = page.locator(".turn").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    page.wait_for_selector(f".turn:nth-of-type({turns + 1})[data-state=done]", timeout=60_000)
    return page.locator(".turn").nth(turns)


def keep(page: Any, tmp: Path, name: str) -> None:
    page.screenshot(path=str(tmp / name))
    if (folder := os.environ.get("UPDATE_SCREENSHOTS")) and name in SHOWN:
        shutil.copy(tmp / name, ROOT / folder / name)


@pytest.mark.parametrize("width,height", WIDTHS)
def test_a_conversation_in_the_page(site: str, browser: Any, tmp_path: Path, width: int,
                                    height: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site)
    page.wait_for_function("document.querySelector('#source-count').textContent === '(4)'")

    first = ask(page, CANONICAL)
    text = first.locator(".answer").inner_text()
    assert "billion yuan" in text and "[1]" in text
    card = first.locator(".card").first
    assert "Alibaba bets its future on artificial intelligence" in card.inner_text()
    assert "example.org" in card.inner_text() and "2025-09-22" in card.inner_text()
    date = card.locator(".date")
    assert date.bounding_box()["height"] < 24  # a date never breaks over two lines

    follow = ask(page, "Who leads it?")  # a follow-up, understood from the first turn
    assert "Eddie Wu" in follow.locator(".answer").inner_text()
    assert "understood as: Who leads Alibaba?" in follow.locator(".meta").inner_text()
    keep(page, tmp_path, f"page-chat-{width}.png")

    # A citation mark opens its source, the quote highlighted in the whole text.
    first.locator(".answer .mark").first.click()
    page.wait_for_selector("#viewer mark")
    quote = page.locator("#viewer mark").first.inner_text()
    assert quote.strip() and quote.split()[0] in text
    link = page.locator("#viewer-meta a")
    assert link.get_attribute("href") == "https://example.org/samples/alibaba-ai-spending"
    assert link.get_attribute("rel") == "noopener noreferrer"
    keep(page, tmp_path, f"page-source-{width}.png")
    page.keyboard.press("Escape")
    assert page.locator("#viewer").is_hidden()

    refusal = ask(page, "Who won the 2022 FIFA World Cup?")
    assert "refused" in (refusal.get_attribute("class") or "")
    assert "None of the articles mentions \u201cFIFA\u201d" in refusal.locator(".meta").inner_text()
    assert refusal.locator(".card").count() == 0

    page.click("#open-sources")
    page.wait_for_selector("#source-list li")
    titles = page.locator("#source-list .title").all_inner_texts()
    assert len(titles) == 4 and "The EU AI Act, step by step" in titles
    for box in page.locator("#source-list .date").all():
        assert box.bounding_box()["height"] < 24
    keep(page, tmp_path, f"page-sources-{width}.png")
    page.keyboard.press("Escape")
    assert page.locator("#drawer").is_hidden()

    # Nothing is wider than the screen, at a phone's width too.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate("document.querySelector('main').scrollWidth") <= width

    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    serious = [(v["id"], v["help"]) for v in found if v["impact"] in ("serious", "critical")]
    assert not serious, serious

    page.click("#new-chat")
    assert page.locator(".turn").count() == 0 and page.locator("#empty").is_visible()
    assert not errors, errors  # no console errors (a missing favicon was one)
    page.close()


def test_stored_text_is_never_html(site: str, browser: Any, tmp_path: Path) -> None:
    """A title with markup is shown as text in the cards, the viewer and the drawer."""
    import httpx

    hostile = tmp_path / "hostile.md"
    hostile.write_text("---\ntitle: <img src=x onerror=\"window.pwned=1\"> Alibaba notes\n---\n"
                       "Alibaba's <b>board</b> met on Monday in Hangzhou to approve the "
                       "budget.\n")
    with httpx.Client(timeout=120) as client:
        r = client.post(f"{site}/api/ingest", files={"files": (hostile.name,
                                                               hostile.read_bytes())})
        assert r.status_code == 200 and '"report"' in r.text
    page = browser.new_page()
    page.goto(site)
    turn = ask(page, "When did Alibaba's board meet?")
    page.click("#open-sources")
    page.wait_for_selector("#source-list li")
    assert "<img" in page.locator("#source-list").inner_text()
    if turn.locator(".card").count():
        turn.locator(".card").first.click()
        page.wait_for_selector("#viewer mark")
    assert page.evaluate("window.pwned") is None
    assert page.locator("img").count() == 0
    page.close()
