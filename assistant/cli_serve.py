"""``assistant serve``: the HTTP server (see assistant/server.py)."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from typing import Any

from assistant.cli_common import open_assistant, settings_args
from assistant.errors import ConfigError


def add_serve_command(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve the OpenAI-compatible API, the JSON API and a "
                       "web page", description="One warm process for many users: "
                       "/v1/chat/completions (OpenAI-compatible, with verified citations), "
                       "/api/... (ask, search, sources, documents, ingest), and a web page "
                       "at /. Binding to anything but loopback needs ASSISTANT_API_KEY.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    settings_args(p)
    p.set_defaults(func=cmd_serve)


def is_loopback(host: str) -> bool:
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback
                   for info in socket.getaddrinfo(host, None))
    except (socket.gaierror, ValueError):
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from assistant.server import create_app

    with open_assistant(args) as a:
        s = a.settings
        if not is_loopback(args.host) and not s.api_key:
            raise ConfigError(f"binding to {args.host} exposes your documents: set "
                              "ASSISTANT_API_KEY (clients send it as a bearer token), or "
                              "bind to 127.0.0.1")
        app = create_app(a, api_key=s.api_key, cors_origins=s.cors_origins,
                         max_request_mb=s.max_request_mb, host=args.host)
        a.search("warm up", k=1)  # load the model and the lexical index now
        print(f"assistant serving {a.document_count()} documents on http://{args.host}:"
              f"{args.port} (answers by {a.answerer.backend}; Ctrl-C stops)",
              file=sys.stderr, flush=True)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def add_mcp_command(sub: Any) -> None:
    p = sub.add_parser("mcp", help="serve MCP clients (agents, chat apps) over stdio",
                       description="A Model Context Protocol server on stdin/stdout: tools "
                       "ask, search, get_document, list_sources (ingest too with "
                       "ASSISTANT_MCP_ALLOW_INGEST=true) and document:// resources. "
                       "Configure your MCP client to run `assistant mcp`.")
    settings_args(p)
    p.set_defaults(func=cmd_mcp)


def cmd_mcp(args: argparse.Namespace) -> int:
    from assistant.mcp_server import run_stdio

    with open_assistant(args) as a:
        print(f"assistant MCP server: {a.document_count()} documents (answers by "
              f"{a.answerer.backend}); on stdio", file=sys.stderr, flush=True)
        run_stdio(a)
    return 0
