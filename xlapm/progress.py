"""The one way the library reports progress.

Library code calls the ``Progress`` it was given; it never draws anything itself.
The command line hands in a drawing implementation only when output is a terminal.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress from long steps; ``advance`` counts rows done."""

    def start(self, label: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def finish(self) -> None: ...


class SilentProgress:
    """The default: reports nowhere."""

    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def finish(self) -> None:
        pass


SILENT = SilentProgress()
