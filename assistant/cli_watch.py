"""`assistant watch SOURCE... --every 30m`: ingest the same sources again and again on a
schedule, one line per round. Ctrl-C or SIGTERM stops it between two sources: what the
round had read is stored whole, nothing is half-written. A source that fails is one line
and is tried again next round; so is a round that cannot run at all (a locked home)."""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
import time
from typing import Any

from assistant.cli_common import open_assistant, settings_args
from assistant.display import safe
from assistant.errors import AssistantError, ConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(value: str) -> float:
    """'90s', '30m', '2h', '1d' -> seconds (a unit is required: '30' is ambiguous)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", value, re.I)
    if not m or float(m.group(1)) <= 0:
        raise ConfigError(f"--every {value!r}: give a positive number and a unit, "
                          "as in 90s, 30m, 2h or 1d")
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def add_watch_command(sub: Any) -> None:
    p = sub.add_parser("watch", help="re-ingest sources on a schedule (feeds, folders, URLs)",
                       description="Ingest SOURCEs now and again every --every, one line "
                       "per round (added/updated/failed). Ctrl-C or SIGTERM stops between "
                       "two sources, keeping what was read; a failing source is retried next "
                       "round.")
    p.add_argument("paths", nargs="+", metavar="SOURCE", help="files, folders, URLs, feeds")
    p.add_argument("--every", default="30m", help="time between rounds: 90s, 30m, 2h, 1d "
                   "(default 30m)")
    p.add_argument("--rounds", type=int, metavar="N", help="stop after N rounds "
                   "(default: until stopped)")
    p.add_argument("--sync", action="store_true", help="each round also removes documents "
                   "whose files are gone or whose items left the feed")
    settings_args(p)
    p.set_defaults(func=cmd_watch)


def _line(text: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {safe(text)}", flush=True)


def cmd_watch(args: argparse.Namespace) -> int:
    every = parse_every(args.every)
    if args.rounds is not None and args.rounds < 1:
        raise ConfigError(f"--rounds {args.rounds}: give 1 or more")
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if not stop.is_set():
            _line(f"{signal.Signals(signum).name}: stopping after the source being read")
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with open_assistant(args) as a:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    report = a.ingest(args.paths, sync=args.sync, progress=False,
                                      on_event=lambda m: print(safe(m), file=sys.stderr,
                                                               flush=True),
                                      stop=stop.is_set)
                    _line(f"round {n}: {report.summary()}")
                except AssistantError as e:  # e.g. another writer held the home too long
                    _line(f"round {n} failed: {e}; trying again next round")
                if args.rounds is not None and n >= args.rounds:
                    break
                stop.wait(every)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    _line("stopped" if stop.is_set() else f"done after {n} round{'s' * (n != 1)}")
    return 0
