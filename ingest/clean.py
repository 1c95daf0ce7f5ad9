"""Bytes -> clean text: encoding detection, binary detection, whitespace normalisation."""

from __future__ import annotations

import re
import unicodedata

from assistant.errors import SourceError
from assistant.text import ANSI_ESCAPE

# ANSI escape sequences go whole (ANSI_ESCAPE); then C0 and C1 controls other than tab and
# newline, zero-width space and BOM.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")
_BLANKS = re.compile(r"\n{3,}")


SAMPLE = 8192  # bytes of each sample looked at for control bytes
SAMPLES = 16  # samples spread over a file, the head and the tail among them


def looks_binary(data: bytes) -> bool:
    """A NUL byte anywhere, or many control bytes in any of the samples spread over the
    whole file, mean "not text" (an archive glued after a text head is caught too)."""
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    step = max((len(data) - SAMPLE) // (SAMPLES - 1), 1)
    starts = range(0, max(len(data) - SAMPLE, 0) + 1, step) if data else range(0)
    for at in list(starts)[:SAMPLES]:
        sample = data[at:at + SAMPLE]
        # control bytes other than whitespace and ESC (ANSI colours are still text)
        controls = sum(1 for b in sample if b < 9 or 13 < b < 32 and b != 27)
        if controls / len(sample) > 0.05:
            return True
    return False


# Single-byte code pages of Latin-script text. charset-normalizer cannot tell them apart
# on short text (Latin-1 "señora" scores as well under cp1250 as under cp1252); Windows-1252
# is by far the commonest, so any of these guesses is read as Windows-1252 when it can be.
_LATIN = {"cp1250", "cp1252", "cp1254", "cp1257", "latin_1", "iso8859_2", "iso8859_3",
          "iso8859_4", "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15",
          "iso8859_16", "mac_latin2", "mac_roman", "mac_iceland", "cp850", "cp437", "cp858"}


def decode(data: bytes, source: str) -> tuple[str, str | None]:
    """Bytes -> (text, note). The order, first that fits:

    1. a byte-order mark (UTF-8, UTF-16, UTF-32);
    2. UTF-8;
    3. UTF-8 with its few invalid bytes replaced by U+FFFD, when the valid multi-byte
       sequences outnumber the invalid bytes (a UTF-8 file with some damage);
    4. Windows-1252, when charset-normalizer guesses any Latin-script code page;
    5. charset-normalizer's guess (Cyrillic, Greek, CJK, ...).
    ``note`` is None for 1 and 2, else a warning naming what was guessed."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"),
                       (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
                       (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec), None
            except UnicodeDecodeError:
                raise SourceError(source, f"invalid {codec.upper()} after its byte-order "
                                  "mark") from None
    if looks_binary(data):
        raise SourceError(source, "binary data, not text (wrong file extension?)")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    lenient = data.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd")
    good = sum(1 for ch in lenient if ord(ch) > 127 and ch != "\ufffd")
    if good > bad:
        return lenient, f"not valid UTF-8: {bad} invalid byte sequence(s) replaced by U+FFFD"
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise SourceError(source, "cannot detect the text encoding (not UTF-8)")
    if best.encoding in _LATIN:
        try:
            return data.decode("cp1252"), "not UTF-8; read as Windows-1252 (guessed)"
        except UnicodeDecodeError:
            pass
    return str(best), f"not UTF-8; read as {best.encoding} (guessed)"


def clean_text(text: str) -> str:
    """Normalise Unicode (NFC), line ends and runs of spaces; drop control characters and
    trailing spaces; at most one blank line in a row. Offsets refer to this result."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", ANSI_ESCAPE.sub("", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()
