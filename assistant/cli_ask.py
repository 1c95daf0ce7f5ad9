"""CLI commands of the read side: ask, chat (filled in by the answering work)."""

from __future__ import annotations

import argparse
from typing import Any, Callable


def add_ask_commands(sub: Any, settings_args: Callable[[argparse.ArgumentParser], None]) -> None:
    return None
