"""The reliability campaign as a test: a corpus of bad inputs, generated here, ingested
beside good files. Each bad input is one line naming it and the reason (or is read with a
warning); the good files are all ingested; what was stored before is unchanged; the store
is consistent afterwards."""

from __future__ import annotations

import io
import os
import pathlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from assistant import Assistant
from tests.conftest import ROOT, FakeEmbedder, consistent, free_port

GOOD = "The harbour authority reported {n} ships in port on Monday. Traffic rose again."


def pdf_bytes(text: str | None, encrypt: bool = False) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    if text:
        pdf.set_font("helvetica", size=12)
        pdf.cell(0, 10, text)
    else:
        pdf.rect(20, 20, 100, 60, style="F")  # an "image-only" page: no text layer
    if encrypt:
        pdf.set_encryption(owner_password="owner", user_password="secret")
    return bytes(pdf.output())


def make_corpus(d: Path) -> dict[str, str]:
    """Write the bad inputs; returns name -> what the outcome must say ('' = accepted)."""
    d.mkdir()
    expect: dict[str, str] = {}

    def put(name: str, data: bytes | str, outcome: str) -> None:
        p = d / name
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        expect[name] = outcome

    put("empty.txt", b"", "empty file")
    put("binary.txt", bytes(range(256)) * 40, "binary data")
    put("nul-bytes.md", b"Some text\x00\x00\x00 more text" * 50, "binary data")
    put("oversize.txt", b"word " * 130_000, "over the 0.5 MB limit")
    put("corrupt.pdf", b"%PDF-1.4\n1 0 obj <<>> garbage\n%%EOF", "PDF")
    put("truncated.pdf", pdf_bytes("A real page of text.")[:300], "PDF")
    put("encrypted.pdf", pdf_bytes("Secret page.", encrypt=True), "PDF")
    put("image-only.pdf", pdf_bytes(None), "no extractable text")
    put("script-only.html", "<html><body><script>var a = 1;</script></body></html>",
        "no article text")
    put("nested.html", "<div>" * 20_000 + "deep" + "</div>" * 20_000, "HTML")
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("a.txt", "x" * 1000)
    put("archive.txt", zbuf.getvalue(), "binary data")
    put("blank.md", "   \n\n\t  \n", "no text left")
    put("markup-only.html", "<html><head><title>t</title></head><body></body></html>",
        "no article text")
    put("rows.jsonl", "\n".join([
        '{"text": "' + GOOD.format(n=901) + '", "title": "Row one"}',
        '{not json',
        '["a list"]',
        '{"title": "no text"}',
        '{"text": 42}',
        '{"text": "   "}',
        '{"text": "' + GOOD.format(n=902) + '", "published": "not a date"}']),
        "")  # the file is accepted; its bad rows are reported one by one
    put("latin1.txt", "La señora pidió crème brûlée.\n".encode("latin-1"), "")
    put("bad-utf8.txt", "Café au lait. Naïve façade. ".encode() * 5 + b"\xff end.", "")
    put("utf16.txt", "Texte en UTF-16 avec un accent: été.".encode("utf-16"), "")
    put("escapes.md", "---\ntitle: \x1b]0;pwned\x07Evil \x1b[2Jtitle\n---\n"
        "Body with \x1b[31mred\x1b[0m text and \x1b[2J a clear.\n", "")
    put("crlf-controls.txt", "Line one.\r\nLine\x07 two.\r\n\x0c\r\n", "")
    put("one-long-line.txt", ("word " * 60_000).strip(), "")  # no sentence breaks
    put("broken-front.md", "---\ntitle: never closed\nBody without end marker.\n", "")
    put("\x1b[2Jname\nwith newline.txt", "A file whose name has controls. Still fine.", "")
    put("unsupported.odt", b"PK\x03\x04", "unsupported file type")
    put("broken.docx", b"PK\x03\x04 truncated", "unreadable Word document")
    os.symlink(d / "loop-b.txt", d / "loop-a.txt")
    os.symlink(d / "loop-a.txt", d / "loop-b.txt")
    expect["loop-a.txt"] = expect["loop-b.txt"] = "symbolic link loop"
    os.symlink(d / "missing-target.txt", d / "dangling.txt")
    expect["dangling.txt"] = "No such file"
    put("unreadable.txt", "You may not read me.", "Permission denied")
    return expect


def test_bad_input_corpus(tmp_path: Path, web, monkeypatch: pytest.MonkeyPatch) -> None:
    base, seen = web
    good = tmp_path / "good"
    good.mkdir()
    for i in range(3):
        (good / f"g{i}.txt").write_text(f"Good article {i}\n{GOOD.format(n=i)}")
    bad = tmp_path / "bad"
    expect = make_corpus(bad)
    real_read = pathlib.Path.read_bytes

    def read_bytes(self: Path) -> bytes:  # as root, chmod cannot make a file unreadable
        if self.name == "unreadable.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)
    monkeypatch.setattr(pathlib.Path, "read_bytes", read_bytes)
    port = free_port()
    urls = {f"http://127.0.0.1:{port}/x": "unreachable",
            f"{base}/missing": "HTTP 404",
            f"{base}/slow": "timed out",
            f"{base}/big": "over the 0.5 MB limit",
            f"{base}/empty": "empty response",
            f"{base}/redirect?to=file:///etc/passwd": "only http(s)",
            f"{base}/redirect?to=ftp://127.0.0.1/x": "only http(s)",
            f"{base}/redirect?to=http://169.254.169.254/": "link-local",
            "ftp://127.0.0.1/file.txt": "only http(s) URLs",
            }
    events: list[str] = []
    with Assistant(home=tmp_path / "home", embedder=FakeEmbedder(), max_source_mb=0.5,
                   url_timeout=1, allow_private_urls=True) as a:
        a.ingest([good], progress=False)
        before = {r.id: a.document(r.id).text for r in a.sources()}
        report = a.ingest([str(bad), str(bad / "unsupported.odt"), *urls, f"{base}/secret"],
                          progress=False,
                          on_event=events.append)
        failed = {s: r for s, r in report.failed}
        for name, needle in expect.items():
            hits = [f"{s}: {r}" for s, r in failed.items() if Path(s.split(":")[0]).name == name
                    or s.endswith(name)]
            if needle:
                assert hits and needle.lower() in hits[0].lower(), (name, hits)
            else:
                assert not [h for h in hits if not h.startswith(str(bad / "rows.jsonl"))], hits
        for url, needle in urls.items():
            assert needle.lower() in failed.get(url, "").lower(), (url, failed.get(url))
        for s, r in report.failed:
            assert "\n" not in f"{s}: {r}" or "newline" in s, (s, r)
        rows = sorted(s for s in failed if "rows.jsonl:" in s)
        assert [s.rsplit(":", 1)[1] for s in rows] == ["2", "3", "4", "5", "6"]
        kinds = len(expect) + len(urls) + len(rows)
        assert kinds >= 30
        # the good ones went in; what was stored before is unchanged
        titles = {r.title for r in a.sources()}
        assert "Row one" in titles and any("UTF-16" in t for t in titles)
        assert {r.id: a.document(r.id).text for r in a.sources() if r.id in before} == before
        docs = {Path(r.uri).name: a.document(r.id) for r in a.sources()}
        assert "señora pidió crème brûlée" in docs["latin1.txt"].text
        assert "Naïve façade" in docs["bad-utf8.txt"].text and "\ufffd" in \
            docs["bad-utf8.txt"].text
        assert any("latin1.txt: not UTF-8; read as Windows-1252" in e for e in events)
        assert any("bad-utf8.txt: not valid UTF-8" in e for e in events)
        esc = docs["escapes.md"]
        assert "\x1b" not in esc.text + esc.title and "[2J" not in esc.text + esc.title
        assert "red text" in esc.text
        assert len(docs["one-long-line.txt"].text) > 250_000
        consistent(a)


def test_cli_prints_one_line_per_bad_input_and_stored_text_is_terminal_safe(
        tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    expect = make_corpus(bad)
    (bad / "unreadable.txt").unlink()
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home"),
           "ASSISTANT_MAX_SOURCE_MB": "0.5", "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "assistant.cli"]
    r = subprocess.run([*cli, "ingest", "--quiet", str(bad)], env=env, capture_output=True,
                       timeout=600)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 1 and "Traceback" not in err, err[-3000:]
    failures = [ln for ln in err.splitlines() if ln.startswith("failed: ")]
    assert len(failures) >= sum(1 for v in expect.values() if v) - 1
    out = subprocess.run([*cli, "sources"], env=env, capture_output=True, timeout=300)
    assert out.returncode == 0
    listing = out.stdout.decode()
    assert "\x1b" not in listing and "\x07" not in listing
    lines = listing.splitlines()
    assert any("name\\nwith newline.txt" in ln for ln in lines), "one line per source"
    assert all(re.search(r" \d+ chunks? ", ln) for ln in lines)
    piped = subprocess.run(f"{sys.executable} -m assistant.cli sources | head -1", shell=True,
                           env=env, capture_output=True, timeout=300)
    assert b"Traceback" not in piped.stderr and b"BrokenPipe" not in piped.stderr
    ask = subprocess.run([*cli, "ask", "What colour was the text?"], env=env,
                         capture_output=True, timeout=300)
    assert b"\x1b" not in ask.stdout and ask.returncode == 0


def test_question_that_is_not_text(tmp_path: Path) -> None:
    from assistant.errors import InvalidQuestion

    with Assistant(home=tmp_path / "home", embedder=FakeEmbedder()) as a:
        with pytest.raises(InvalidQuestion, match="must be text .str., not bytes"):
            a.ask(b"What happened?")  # type: ignore[arg-type]
        with pytest.raises(InvalidQuestion, match="not valid text"):
            a.ask("What \udcff happened?")
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "cli-home"), "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable.encode(), b"-m", b"assistant.cli", b"ask",
                        b"What \xff happened?"], env=env, capture_output=True, timeout=300)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 2 and err.startswith("error: the question is not valid text")
    assert len(err.strip().splitlines()) == 1
