"""examples/quickstart.ipynb runs top to bottom in a real Jupyter kernel."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from tests.conftest import ROOT


def test_quickstart_notebook_executes() -> None:
    nb = nbformat.read(ROOT / "examples" / "quickstart.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "examples")}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [o.get("name") for o in code[0].outputs] == ["stdout"], "no warnings shown"
    assert "added 4, updated 0" in code[0].outputs[0]["text"]
    first = code[1].outputs[0]["data"]
    assert "380 billion yuan" in first["text/html"] and "<mark>" in first["text/html"]
    assert "25 December 2021" in code[2].outputs[0]["data"]["text/html"]
    assert code[3].outputs[0]["text"].startswith("True Not in the sources")
    assert len(code[4].outputs[0]["text"].strip().splitlines()) >= 2
