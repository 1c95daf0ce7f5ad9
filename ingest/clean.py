"""Bytes -> clean text: encoding detection, binary detection, whitespace normalisation."""

from __future__ import annotations

import re
import unicodedata

from assistant.errors import SourceError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")
_BLANKS = re.compile(r"\n{3,}")


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control bytes in the first 8 KiB mean "not text"."""
    head = data[:8192]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if not head:
        return False
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls / len(head) > 0.05


def decode(data: bytes, source: str) -> str:
    """Decode bytes to str: UTF-8 (with or without BOM) first, else the detected charset."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if looks_binary(data):
        raise SourceError(source, "binary data, not text (wrong file extension?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise SourceError(source, "cannot detect the text encoding")
    best = matches[0]
    # Western European text often scores the same under several code pages; on a tie,
    # prefer the most common legacy one (Windows-1252) over e.g. cp1250.
    ties = [m for m in matches if m.chaos == best.chaos and m.coherence == best.coherence]
    for m in ties:
        if m.encoding in ("cp1252", "latin_1", "iso8859_15"):
            return str(m)
    return str(best)


def clean_text(text: str) -> str:
    """Normalise Unicode (NFC), line ends and runs of spaces; drop control characters and
    trailing spaces; at most one blank line in a row. Offsets refer to this result."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()
