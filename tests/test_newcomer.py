"""What a newcomer meets, each defect as a person caused it: bad dates at every entry
point, the document's own link, honest timings, streams that stream, hostile names in
the terminal, unbounded chunks, binary data past the head, skipped files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Assistant, Answer
from assistant.display import answer_html, format_citations
from assistant.errors import InvalidDate
from assistant.ingest.chunking import chunk_spans
from assistant.ingest.clean import looks_binary
from assistant.text import iso_date, parse_day
from tests.conftest import CANONICAL, ROOT, SAMPLES


def cli(*args: str, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=ROOT,
                          env={**os.environ, "ASSISTANT_HOME": str(home)}, input=stdin,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def samples_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("newcomer") / "home"
    r = cli("ingest", "--quiet", str(SAMPLES), home=home)
    assert r.returncode == 0, r.stderr
    return home


# --- dates ----------------------------------------------------------------------------
@pytest.mark.parametrize("value,why", [("2025-13-01", "month must be in 1..12"),
                                       ("2025-02-30", "day is out of range"),
                                       ("2025/01/01", "is not a date"),
                                       ("yesterday", "is not a date"), ("", "is not a date"),
                                       (20250101, "is not a date")])
def test_one_parser_for_every_date(value: object, why: str) -> None:
    with pytest.raises(InvalidDate, match=why) as e:
        parse_day(value, "--as-of")
    assert str(e.value).startswith("--as-of ") and "YYYY-MM-DD" in str(e.value)
    assert parse_day(" 2024-02-29 ") == "2024-02-29"


def test_ingest_never_stores_an_impossible_date() -> None:
    assert iso_date("published 2025-02-30") is None and iso_date("Feb 29, 2023") is None
    assert iso_date("Feb 29, 2024") == "2024-02-29"


@pytest.mark.parametrize("flags", [["--as-of", "2025-13-01"], ["--as-of", "2025/01/01"],
                                   ["--after", "2025-02-30"], ["--before", "soon"]])
def test_a_bad_date_flag_is_one_line(samples_home: Path, flags: list[str]) -> None:
    for command in (["ask", CANONICAL], ["chat"]):
        r = cli(*command, *flags, home=samples_home, stdin="/quit\n")
        assert r.returncode == 2 and r.stdout == ""
        assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"error: {flags[0]} ")
        assert "YYYY-MM-DD" in r.stderr and "Traceback" not in r.stderr


def test_the_repl_survives_a_bad_asof(samples_home: Path) -> None:
    r = cli("chat", home=samples_home, stdin=f"/asof 2025-13-01\n{CANONICAL}\n/asof\n/quit\n")
    assert r.returncode == 0, r.stderr
    assert "error: /asof '2025-13-01' is not a calendar day" in r.stdout
    assert "billion yuan" in r.stdout and "(answering as of today)" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_the_python_api_raises_invalid_date(samples_home: Path, real_embedder) -> None:
    with Assistant(home=samples_home, embedder=real_embedder) as a:
        for bad in ({"as_of": "2025-13-01"}, {"published_after": "2025-02-30"}):
            with pytest.raises(InvalidDate):
                a.ask(CANONICAL, **bad)
            with pytest.raises(InvalidDate):
                a.search(CANONICAL, **bad)


# --- the document's own link -----------------------------------------------------------
def test_citations_sources_and_pages_show_the_documents_link(
        tmp_path: Path, home: Path, real_embedder, http_dir: tuple[str, Path]) -> None:
    base, www = http_dir
    src = tmp_path / "src"
    src.mkdir()
    (src / "front.md").write_text("---\ntitle: Lunar rover\nurl: https://news.example/rover\n"
                                  "---\nThe lunar rover Yutu-7 drove 412 metres in May.\n")
    (src / "rows.jsonl").write_text(json.dumps({
        "text": "The Danube ferry carried 9,300 cars in June.", "title": "Danube ferry",
        "url": "https://news.example/ferry?utm_source=x"}) + "\n")
    (src / "saved.html").write_text(
        "<html><head><title>Glacier lake</title><link rel='canonical' "
        "href='https://news.example/glacier'></head><body><article><p>"
        + "The glacier lake in Patagonia rose 3 metres during the storm. " * 4
        + "</p></article></body></html>")
    (src / "local.txt").write_text("Harbour notes\nThe harbour crane lifted 41 tonnes.\n")
    (www / "page.html").write_text(
        "<html><head><title>Comet</title><link rel='canonical' href='https://elsewhere.example/"
        "c'></head><body><article><p>" + "The comet Lovejoy-9 passed 0.3 AU from the Sun. " * 4
        + "</p></article></body></html>")
    with Assistant(home=home, embedder=real_embedder, allow_private_urls=True) as a:
        a.ingest([src, f"{base}/page.html"])
        links = {r.title: r.url for r in a.sources()}
        assert links == {"Lunar rover": "https://news.example/rover",
                         "Danube ferry": "https://news.example/ferry?utm_source=x",
                         "Glacier lake": "https://news.example/glacier",
                         "Harbour notes": None,
                         # a fetched page's link is where its text came from
                         "Comet": f"{base}/page.html"}
        assert all(r.to_dict()["url"] == r.url for r in a.sources())
        for question, link in [("How far did the lunar rover Yutu-7 drive?", links["Lunar rover"]),
                               ("How many cars did the Danube ferry carry?", links["Danube ferry"]),
                               ("How much did the glacier lake rise?", links["Glacier lake"]),
                               ("How close did the comet Lovejoy-9 pass?", links["Comet"])]:
            ans = a.ask(question)
            assert not ans.refused, question
            c = ans.citations[0]
            assert c.url == link and c.to_dict()["url"] == link
            assert f"({link})" in format_citations(ans)
            assert f'href="{link.replace("&", "&amp;")}"' in answer_html(ans)
        local = a.ask("How many tonnes did the harbour crane lift?")
        assert local.citations[0].url is None and local.citations[0].uri in format_citations(local)


def test_sources_json_has_the_url(samples_home: Path) -> None:
    rows = json.loads(cli("sources", "--json", home=samples_home).stdout)
    assert {r["url"] for r in rows} >= {"https://example.org/samples/alibaba-ai-spending"}
    assert all(r["uri"].startswith(str(SAMPLES)) for r in rows)


# --- honest timings, streaming ---------------------------------------------------------
def test_the_closing_lines_give_the_whole_time(samples_home: Path, tmp_path: Path) -> None:
    r = cli("ask", CANONICAL, home=samples_home)
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("(extractive; ") and " s in all: start-up and loading " in last
    refusal = cli("ask", "Who won the 2022 FIFA World Cup?", home=samples_home)
    assert "\n\n\n" not in refusal.stdout and "s in all" in refusal.stdout
    ingest = cli("ingest", str(SAMPLES / "webb-telescope.md"), home=tmp_path / "h")
    assert "(2 chunks in " in ingest.stdout and " s in all)" in ingest.stdout
    one = cli("ingest", str(SAMPLES / "nvidia-4-trillion.html"), home=tmp_path / "h")
    assert "(1 chunk in " in one.stdout  # not "1 chunks"
    assert "pre-processing" not in ingest.stderr + one.stderr  # onnxruntime's warning


def test_the_extractive_answer_streams_a_sentence_at_a_time(samples_home: Path,
                                                            real_embedder) -> None:
    with Assistant(home=samples_home, embedder=real_embedder) as a:
        pieces = list(a.stream(CANONICAL))
        text = [p for p in pieces if isinstance(p, str)]
        final = pieces[-1]
        assert isinstance(final, Answer) and len(text) == len(final.citations) > 1
        assert "".join(text) == final.text and all(p.rstrip().endswith("]") for p in text)
        chat_pieces = [p for p in a.chat().stream(CANONICAL) if isinstance(p, str)]
        assert len(chat_pieces) > 1


# --- hostile names, input limits, skipped files -----------------------------------------
def test_hostile_file_names_are_escaped_in_ingest_lines(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty\x1b]0;pwned\x07\x1b[2J.txt").write_text("")
    (folder / "split\nline.txt").write_text("")
    (folder / "a.md").write_text("Ferries\nThe ferry carried 9,300 cars in June.\n")
    (folder / "b\x1b[31m.md").write_text("Ferries\nThe ferry carried 9,300 cars in June.\n")
    r = cli("ingest", str(folder), home=tmp_path / "home")
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    lines = r.stderr.strip().splitlines()
    # escape sequences go whole (they would retitle and clear the terminal) ...
    assert any(ln.startswith("failed: ") and "/empty.txt: empty file" in ln for ln in lines)
    # ... and other controls are shown as escapes, so a name cannot split a line
    assert any(ln.startswith("failed: ") and "split\\nline.txt: empty file" in ln
               for ln in lines)
    assert any(ln.startswith("duplicate: ") for ln in lines)


def test_a_text_without_whitespace_is_cut_into_bounded_chunks() -> None:
    spans = chunk_spans("x" * 5_000_000 + " then words. " + "Short sentence. " * 100)
    assert max(e - s for s, e in spans) <= 160 * 8
    assert len(spans) >= 5_000_000 // 1280


def test_binary_data_past_the_head_is_refused(tmp_path: Path, fake_assistant) -> None:
    assert looks_binary(b"plain text. " * 2000 + b"\x00" + b"more text. " * 10)
    assert looks_binary(b"plain text. " * 2000 + bytes(range(1, 9)) * 2000)
    assert not looks_binary(b"plain text. " * 20000 + b"\x1b[31mred\x1b[0m")
    f = tmp_path / "glued.txt"
    f.write_bytes(b"A real headline\n" + b"Some text. " * 1000 + b"\x00PK\x03\x04")
    report = fake_assistant.ingest([f])
    assert report.failed and "binary data" in report.failed[0][1]


def test_a_skipped_file_always_says_so(tmp_path: Path, fake_assistant) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "report.odt").write_bytes(b"PK\x03\x04 not really")
    (folder / "notes.md").write_text("Notes\nThe ferry carried 9,300 cars in June.\n")
    (folder / ".hidden.txt").write_text("hidden on purpose")
    events: list[str] = []
    report = fake_assistant.ingest([folder], on_event=events.append)
    assert len(report.added) == 1 and report.ok
    assert report.skipped == [(str(folder / "report.odt"), report.skipped[0][1])]
    assert "unsupported file type '.odt'" in report.skipped[0][1]
    assert events == [f"skipped: {folder / 'report.odt'}: {report.skipped[0][1]}"]
    assert "skipped 1" in report.summary()
    assert report.to_dict()["skipped"][0]["source"].endswith("report.odt")
