"""The one progress helper of the command line: a bar on a terminal, else nothing."""

from __future__ import annotations

import sys
from typing import Any

import click

from xlapm.progress import SILENT, Progress

# Below this many rows a bar would only flicker.
_WORTH_A_BAR = 20_000


class TerminalProgress:
    """Draws a click progress bar on standard error."""

    def __init__(self) -> None:
        self._bar: Any = None

    def start(self, label: str, total: int) -> None:
        if total >= _WORTH_A_BAR:
            self._bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self._bar.__enter__()

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def progress_for(quiet: bool) -> Progress:
    """A drawing progress only when standard error is a terminal and not ``quiet``."""
    if quiet or not sys.stderr.isatty():
        return SILENT
    return TerminalProgress()
