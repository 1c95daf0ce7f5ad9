"""Word documents (``.docx``) read with python-docx: paragraphs and tables in reading
order, and the title, author and date of the core properties."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from assistant.errors import SourceError

# An OLE compound file: what Word writes for a password-protected .docx (and for .doc).
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass
class DocxContent:
    text: str
    title: str
    author: str
    created: str  # YYYY-MM-DD, or "" when the file gives none


def read_docx(data: bytes, uri: str) -> DocxContent:
    """The text of a .docx: one paragraph per block, a table row as its cells joined by
    " | ". Raises SourceError for a file that is not a readable Word document."""
    if data.startswith(_OLE):
        raise SourceError(uri, "password-protected or old-format (.doc) Word file: save "
                          "it from Word as .docx without a password")
    import docx  # python-docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                blocks.extend(_rows(block))
            else:
                blocks.append(block.text)
        props = document.core_properties
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as e:
        raise SourceError(uri, f"unreadable Word document ({type(e).__name__}: {e})"
                          ) from None
    except Exception as e:  # a damaged part raises what lxml or zipfile raise
        raise SourceError(uri, f"unreadable Word document ({type(e).__name__})") from None
    created = props.created.date().isoformat() if props.created else ""
    return DocxContent("\n\n".join(b for b in blocks if b.strip()), props.title or "",
                       props.author or "", created)


def _rows(table: object) -> list[str]:
    """A table's rows as text; a cell merged across columns is given once."""
    out = []
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and id(cell._tc) not in seen:
                cells.append(text)
            seen.add(id(cell._tc))
        if cells:
            out.append(" | ".join(cells))
    return out
