"""Command line: a thin layer over ``assistant.Assistant``. Errors print on one line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from assistant.cli_ask import add_ask_command
from assistant.cli_chat import add_chat_command
from assistant.cli_common import open_assistant, settings_args, wall_seconds
from assistant.cli_eval import add_eval_command
from assistant.cli_serve import add_mcp_command, add_serve_command
from assistant.cli_watch import add_watch_command
from assistant.errors import AssistantError
from assistant.display import safe, source_line

EXAMPLES = """examples:
  assistant ingest samples/                 add or update articles (files, dirs, URLs)
  assistant ingest --sync samples/          ... and remove those whose files are gone
  assistant sources --json                  list what is indexed
  assistant ask "How much has Alibaba committed to AI?"
  assistant chat                            interactive session with follow-ups
  assistant serve --port 8000               HTTP API (OpenAI-compatible) and web page
  assistant watch https://example.org/feed.xml --every 30m   keep up with a feed
  assistant mcp                             serve agents and chat apps over MCP (stdio)
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("assistant")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant", description="Answer questions about your articles, with every "
        "claim cited to the exact source words.", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("ingest", help="add or update articles from files, folders, URLs and feeds",
                       description="Add or update articles. Supported: .txt .md .html .htm "
                       ".pdf .docx .jsonl, RSS/Atom feeds (.rss .atom .xml or a feed's URL: "
                       "each item's page), directories (recursive) and http(s) URLs. Re-running is "
                       "safe: unchanged sources are skipped, changed ones replaced.")
    p.add_argument("paths", nargs="+", metavar="PATH_OR_URL", help="files, directories, URLs")
    p.add_argument("--sync", action="store_true",
                   help="also remove documents whose files are gone from these paths")
    p.add_argument("--include", action="append", metavar="GLOB",
                   help="only files matching GLOB in directories (repeatable)")
    p.add_argument("--exclude", action="append", metavar="GLOB",
                   help="skip files matching GLOB in directories (repeatable)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar, summary only")
    settings_args(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("sources", help="list indexed documents",
                       description="List indexed documents: id, chunks, title, uri.")
    p.add_argument("--json", action="store_true", help="print a JSON array of objects")
    settings_args(p)
    p.set_defaults(func=cmd_sources)

    p = sub.add_parser("remove", help="remove a document by id or uri",
                       description="Remove one document (and its chunks) by id or uri.")
    p.add_argument("id_or_uri", metavar="ID_OR_URI", help="document id or uri")
    settings_args(p)
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("check", help="verify (and repair) the index's consistency",
                       description="Verify that chunk rows and vectors are the same set, "
                       "that every document has its chunks, and that the lexical index "
                       "matches. --repair re-embeds missing vectors, deletes orphans and "
                       "finishes interrupted writes. Exit code 1 if problems remain.")
    p.add_argument("--repair", action="store_true", help="fix what is found")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    settings_args(p)
    p.set_defaults(func=cmd_check)

    add_ask_command(sub)
    add_chat_command(sub)
    add_serve_command(sub)
    add_watch_command(sub)
    add_mcp_command(sub)
    add_eval_command(sub)
    return parser


def cmd_ingest(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("include", args.include), ("exclude", args.exclude)) if v}
    with open_assistant(args, **overrides) as a:
        progress = False if (args.quiet or args.json) else None
        events: Callable[[str], None] = (lambda m: None) if args.json else (
            lambda m: print(safe(m), file=sys.stderr))
        report = a.ingest(args.paths, sync=args.sync, progress=progress, on_event=events)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary(wall_seconds()))
    return 0 if report.ok else 1


def cmd_sources(args: argparse.Namespace) -> int:
    with open_assistant(args) as a:
        records = a.sources()
    if args.json:
        print(json.dumps([r.to_dict() for r in records], indent=2, ensure_ascii=False))
        return 0
    if not records:
        print("no documents yet: try `assistant ingest PATH`")
    for r in records:
        print(source_line(r))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    with open_assistant(args) as a:
        report = a.check(repair=args.repair, on_wait=lambda m: print(m, file=sys.stderr))
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.summary())
    return 0 if report.ok else 1


def cmd_remove(args: argparse.Namespace) -> int:
    with open_assistant(args) as a:
        doc = a.remove(args.id_or_uri)
    print(f"removed {doc.id} {safe(doc.title)!r} ({safe(doc.uri)})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AssistantError as e:
        print(f"error: {safe(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `assistant sources | head`: the reader left; not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
