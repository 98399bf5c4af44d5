"""Progress draws only on a terminal, and never from the library itself."""

from __future__ import annotations

import io

import pytest

from xlapm.cli import progress as cli_progress
from xlapm.progress import SILENT


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_output_is_piped(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cli_progress.sys, "stderr", io.StringIO())

    assert cli_progress.progress_for(quiet=False) is SILENT


def test_quiet_silences_the_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cli_progress.sys, "stderr", FakeTerminal())

    assert cli_progress.progress_for(quiet=True) is SILENT


def test_bar_draws_on_a_terminal_for_a_large_portfolio(
    monkeypatch: pytest.MonkeyPatch,
):
    terminal = FakeTerminal()
    monkeypatch.setattr(cli_progress.sys, "stderr", terminal)
    progress = cli_progress.progress_for(quiet=False)

    progress.start("Writing book.xlsx", 100_000)
    progress.advance(50_000)
    progress.finish()

    assert "Writing book.xlsx" in terminal.getvalue()


def test_small_portfolio_gets_no_bar(monkeypatch: pytest.MonkeyPatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(cli_progress.sys, "stderr", terminal)
    progress = cli_progress.progress_for(quiet=False)

    progress.start("Writing book.xlsx", 50)
    progress.finish()

    assert terminal.getvalue() == ""
