"""The ribbon macros, on a fake open workbook that was made from the template."""

from __future__ import annotations

import datetime
import sys
import types
from typing import Any

import pytest
import xlwings as xw
from fake_xlwings import Book, Range

from xlapm import macros
from xlapm.core.history import quarter_of
from xlapm.template import SAMPLE_ROWS, template_plan
from xlapm.writers.live import is_owned, render_live

PERSON_SHEETS = ("Instructions", "Accounts", "Settings")


@pytest.fixture
def book(monkeypatch: pytest.MonkeyPatch) -> Book:
    """The template open in (fake) Excel, as the caller of every macro."""
    opened = Book("AccountMatrix.xlsx")
    render_live(template_plan(), opened, windows=False)
    opened.calls.clear()
    monkeypatch.setattr(xw.Book, "caller", classmethod(lambda cls: opened))
    return opened


def cell_of(book: Book, sheet: str, label: str) -> tuple[int, int]:
    """Where the value next to ``label`` (column A) is on ``sheet``."""
    cells = book.sheets[sheet].cells
    row = next(r for (r, c), value in cells.items() if c == 1 and value == label)
    return row, 2


def only_alert(book: Book) -> tuple[str, str, str]:
    (alert,) = book.app.alerts
    return alert


def test_rebuild_redraws_only_the_owned_sheets(book: Book) -> None:
    before = book.sheets.names()

    macros.rebuild()

    deleted = {call[1] for call in book.of_kind("delete")}
    assert deleted == set(before) - set(PERSON_SHEETS) - {"Sheet1"}
    assert book.sheets.names() == before
    assert all(not is_owned(book.sheets[name]) for name in PERSON_SHEETS)
    assert book.app.alerts == []
    assert book.app.status_bar == f"Rebuilt the matrix: {len(SAMPLE_ROWS)} accounts."


def test_rebuild_keeps_the_thresholds_native(book: Book) -> None:
    macros.rebuild()

    formulas = [call[3] for call in book.of_kind("formula", "Summary")]
    assert formulas == ["=MEDIAN(Accounts[ARR])", "=MEDIAN(Accounts[Adoption])"]


def test_rebuild_reads_the_settings_sheet(book: Book) -> None:
    cells = book.sheets["Settings"].cells
    cells[cell_of(book, "Settings", "Revenue threshold rule")] = "value"
    cells[cell_of(book, "Settings", "Revenue fixed value")] = 200_000
    cells[cell_of(book, "Settings", "tier1")] = "Champions"

    macros.rebuild()

    assert "Champions" in book.sheets.names()
    formulas = [call[3] for call in book.of_kind("formula", "Summary")]
    assert formulas[0] == "=200000.0"


def test_rebuild_reads_a_plain_accounts_sheet(monkeypatch: pytest.MonkeyPatch) -> None:
    opened = Book("Q3.xlsx", sheets=("Accounts",))
    sheet = opened.sheets["Accounts"]
    Range(sheet, (3, 1), (5, 3)).value = [
        ["Account", "ARR", "Adoption"],
        ["Acme", 250_000, 0.8],
        ["Beta", "#N/A", 0.2],
    ]
    monkeypatch.setattr(xw.Book, "caller", classmethod(lambda cls: opened))

    macros.rebuild()

    assert (
        "Data Issues" in opened.sheets.names() and "Settings" in opened.sheets.names()
    )
    title, message, mode = only_alert(opened)
    assert message == (
        "Rebuilt the matrix: 2 accounts. 1 data issues were found: see the Data "
        "Issues sheet."
    )
    issues = opened.sheets["Data Issues"].cells
    assert 5 in {value for value in issues.values() if isinstance(value, int)}


def test_no_accounts_is_one_line_and_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    opened = Book("Empty.xlsx")
    monkeypatch.setattr(xw.Book, "caller", classmethod(lambda cls: opened))

    macros.rebuild()

    assert only_alert(opened) == (
        "Account Matrix: Rebuild matrix",
        "Empty.xlsx has no Excel Table or sheet named 'Accounts'.\n\nPut the "
        "accounts in a table called Accounts (Table Design > Table Name), or in a "
        "sheet called Accounts.",
        "critical",
    )


def test_a_persons_sheet_in_the_way_is_reported(book: Book) -> None:
    book.sheets["Matrix"].names.items.clear()

    macros.rebuild()

    title, message, mode = only_alert(book)
    assert mode == "critical"
    assert message.startswith("The sheet 'Matrix' was made by a person")
    assert message.endswith("Rename your 'Matrix' sheet, then rebuild.")
    assert book.of_kind("delete") == []


def test_an_unexpected_failure_is_not_a_traceback(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the COM server went away\nat line 3")

    monkeypatch.setattr(macros, "render_live", broken)

    macros.rebuild()

    title, message, mode = only_alert(book)
    assert message.splitlines()[0] == (
        "Rebuild matrix did not work: RuntimeError: the COM server went away"
    )
    assert "Traceback" not in message and mode == "critical"


def test_playbook_of_the_selected_account(book: Book) -> None:
    book.selection = book.sheets["Accounts"].range((7, 3))

    macros.show_playbook()

    title, message, mode = only_alert(book)
    assert title == "Account Matrix: Playbook"
    assert message.splitlines()[0] == "Umbrella Logistics: TIER 1 (Strategic)"
    assert "Cadence: Every two weeks" in message


def test_playbook_from_a_quadrant_sheet(book: Book) -> None:
    sheet = book.sheets["RAMP"]
    row = next(r for (r, c), v in sheet.cells.items() if v == "Stark Components")
    book.selection = sheet.range((row, 2))

    macros.show_playbook()

    assert only_alert(book)[1].splitlines()[0] == "Stark Components: RAMP (Commercial)"


def test_playbook_needs_an_account_row(book: Book) -> None:
    book.selection = book.sheets["Accounts"].range((1, 1))

    macros.show_playbook()

    assert only_alert(book)[1] == (
        "Select a cell in an account's row (on Accounts or a quadrant sheet), then "
        "click Playbook."
    )


def test_snapshot_says_how_without_the_quarterly_module(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "xlapm.quarterly", None)

    macros.snapshot_quarter()

    quarter = quarter_of(datetime.date.today())
    title, message, mode = only_alert(book)
    assert message.startswith("Run `xlapm snapshot` on this workbook")
    assert message.endswith(f"xlapm snapshot AccountMatrix.xlsx --quarter {quarter}")
    assert book.of_kind("delete") == []


def test_snapshot_stores_this_quarter(book: Book) -> None:
    macros.snapshot_quarter()

    quarter = quarter_of(datetime.date.today())
    history = book.sheets["Quarter History"]
    assert is_owned(history)
    assert sum(value == quarter for value in history.cells.values()) == len(SAMPLE_ROWS)
    assert only_alert(book)[1].startswith(
        f"Saved {quarter} for {len(SAMPLE_ROWS)} accounts in the Quarter History"
    )


def test_a_second_snapshot_reads_the_history_back(book: Book) -> None:
    macros.snapshot_quarter()
    macros.snapshot_quarter()

    history = book.sheets["Quarter History"]
    quarter = quarter_of(datetime.date.today())
    assert sum(value == quarter for value in history.cells.values()) == len(SAMPLE_ROWS)


def test_a_persons_history_sheet_is_refused(book: Book) -> None:
    book.sheets.add("Quarter History")

    macros.rebuild()

    assert only_alert(book)[1] == (
        "The sheet 'Quarter History' in AccountMatrix.xlsx was made by a person."
        "\n\nRename it; xlapm keeps its snapshots in a sheet of that name."
    )


def test_settings_and_help_go_to_their_sheets(book: Book) -> None:
    macros.open_settings()
    macros.show_help()

    assert [call[1] for call in book.of_kind("activate")] == [
        "Settings",
        "Instructions",
    ]
    assert book.app.alerts == []


def test_settings_and_help_without_their_sheets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened = Book("Plain.xlsx")
    monkeypatch.setattr(xw.Book, "caller", classmethod(lambda cls: opened))

    macros.open_settings()
    macros.show_help()

    (settings, help_box) = opened.app.alerts
    assert settings[1] == (
        "Plain.xlsx has no Settings sheet yet.\n\nClick Rebuild matrix once: it adds "
        "a Settings sheet to change."
    )
    assert help_box[1].startswith("Rebuild matrix: sorts the accounts")


def test_from_the_add_in_the_active_workbook_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened = Book("Mine.xlsx")
    addin = types.SimpleNamespace(
        name="xlapm.xlam",
        app=types.SimpleNamespace(books=types.SimpleNamespace(active=opened)),
    )
    monkeypatch.setattr(xw.Book, "caller", classmethod(lambda cls: addin))

    assert macros.calling_book() is opened


@pytest.mark.parametrize(
    "entry",
    [
        macros.rebuild,
        macros.show_playbook,
        macros.snapshot_quarter,
        macros.open_settings,
        macros.show_help,
    ],
)
def test_every_ribbon_entry_point_is_documented(entry: Any) -> None:
    assert "Example" in (entry.__doc__ or "")
    assert f"xlapm.macros.{entry.__name__}()" in entry.__doc__
