"""The import graph: no cycles, and no module imports a layer above its own (see
ARCHITECTURE.md). Imports inside functions count too."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

DOMAIN = {"assistant.types", "assistant.settings", "assistant.errors", "assistant.text",
          "assistant.addressed",
          "assistant.question"}
STORAGE = {"assistant.docstore", "assistant.check", "assistant.sentences", "assistant.vectors", "assistant.store", "assistant.lock",
           "assistant.lexical", "assistant.documents",
           "assistant.embedder", "assistant.onnx_forms", "assistant.reader",
           "assistant.pgstore", "assistant.pglexical", "assistant.pglock",
           "assistant.embed_server"}
READ = {"assistant.retrieval", "assistant.extractive", "assistant.citations", "assistant.llm",
        "assistant.evidence",
        "assistant.answering", "assistant.chat", "assistant.prompts"}
FACADE = {"assistant.api"}


def layer(module: str) -> tuple[int, str]:
    if module in DOMAIN:
        return 0, "domain"
    if module in STORAGE:
        return 1, "storage"
    if module.startswith("assistant.ingest"):
        return 2, "write"
    if module in READ:
        return 2, "read"
    if module in FACADE:
        return 3, "facade"
    return 4, "front end"


def graph() -> dict[str, set[str]]:
    package = {"assistant": "assistant", "ingest": "assistant.ingest",
               "eval": "assistant.eval", "prompts": "assistant.prompts"}  # as installed
    names = {f"{package[d]}.{p.stem}".removesuffix(".__init__"): p
             for d in package for p in (ROOT / d).glob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in names.items():
        if path.name == "__init__.py" and name == "assistant":
            continue  # the package's public re-exports (lazy for the facade)
        out = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                       [f"{node.module}.{a.name}" for a in node.names]
                       if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for t in targets:
                while t and t not in names:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    out.add(t)
        edges[name] = out
    return edges


def test_no_upward_imports() -> None:
    bad = []
    for mod, deps in graph().items():
        for dep in deps:
            (lm, nm), (ld, nd) = layer(mod), layer(dep)
            if ld > lm or (ld == lm == 2 and nm != nd):
                bad.append(f"{mod} ({nm}) imports {dep} ({nd})")
    assert not bad, bad


def test_no_import_cycles() -> None:
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n, [n])
    assert not cycles, cycles


def test_modules_stay_small() -> None:
    big = {str(p.relative_to(ROOT)): n for d in ("assistant", "ingest", "eval", "prompts")
           for p in (ROOT / d).glob("*.py")
           if (n := len(p.read_text().splitlines())) > 400}
    assert not big, big
