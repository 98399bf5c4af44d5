"""The live-workbook writer, against a recording fake of xlwings (no Excel here)."""

from __future__ import annotations

from typing import Any

import pytest
from fake_xlwings import Book

from xlapm.core.settings import Settings
from xlapm.errors import OwnershipConflict
from xlapm.layout.plan import Cells, Merge, SheetPlan, Table, WorkbookPlan
from xlapm.layout.workbook import plan_workbook
from xlapm.template import SAMPLE_ROWS, sample_portfolio, template_plan
from xlapm.writers.live import excel_text, is_owned, render_live


def matrix_plan(rows: list[list[Any]] | None = None) -> WorkbookPlan:
    return plan_workbook(sample_portfolio(rows), include_settings=True)


def many_rows(count: int) -> list[list[Any]]:
    return [
        [f"{i:06d}", f"Account {i}", "Ana", 1_000.0 * (i + 1), (i % 100) / 100]
        for i in range(count)
    ]


def test_every_block_is_one_value_call() -> None:
    plan = matrix_plan()
    book = Book(sheets=("Notes",))

    render_live(plan, book, windows=False)

    for sheet in plan.sheets:
        writes = book.of_kind("value", sheet.name)
        blocks = [b for b in sheet.blocks if isinstance(b, Cells | Table | Merge)]
        assert len(writes) == len(blocks), sheet.name


def test_a_table_goes_over_in_one_block_with_its_header() -> None:
    plan = matrix_plan(many_rows(500))
    book = Book()

    render_live(plan, book, windows=False)

    accounts = plan.sheet("Accounts").tables()[0]
    (write,) = book.of_kind("value", "Accounts")
    assert write[2] == f"A1:{chr(64 + len(accounts.columns))}501"
    assert write[3][0] == [column.header for column in accounts.columns]
    assert len(write[3]) == 501


def test_formats_are_per_block_not_per_cell() -> None:
    def calls_for(rows: int) -> int:
        book = Book()
        render_live(matrix_plan(many_rows(rows)), book, windows=False)
        return len(
            book.of_kind("format", "Accounts") + book.of_kind("font", "Accounts")
        )

    assert calls_for(20) == calls_for(2_000)


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
        ("-5", "'-5"),
        ("@here", "'@here"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturn", "'\rReturn"),
        ("00123", "'00123"),
        ("1/2", "'1/2"),
        ("TRUE", "'TRUE"),
        ("#N/A", "'#N/A"),
        ("$5", "'$5"),
        ("Acme Partners", "Acme Partners"),
        ("", ""),
        (12.5, 12.5),
        (float("nan"), None),
        (None, None),
        (True, True),
    ],
)
def test_text_excel_would_change_gets_an_apostrophe(text: Any, written: Any) -> None:
    assert excel_text(text) == written


def test_account_names_are_written_as_text() -> None:
    rows = many_rows(3)
    rows[0][1] = "=cmd|' /C calc'!A0"
    rows[1][1] = "@SUM(1+1)"
    book = Book()

    render_live(matrix_plan(rows), book, windows=False)

    (write,) = book.of_kind("value", "Accounts")
    names = [row[1] for row in write[3][1:]]
    assert names == ["'=cmd|' /C calc'!A0", "'@SUM(1+1)", "Account 2"]


def test_a_persons_sheet_with_an_owned_name_stops_everything() -> None:
    book = Book(sheets=("Summary", "Notes"))

    with pytest.raises(OwnershipConflict) as raised:
        render_live(matrix_plan(), book, windows=False)

    assert raised.value.message == (
        "The sheet 'Summary' was made by a person, and the rebuild would replace it "
        "with xlapm's 'Summary' sheet; nothing was changed."
    )
    assert raised.value.hint == "Rename your 'Summary' sheet, then rebuild."
    assert book.calls == []


def test_case_does_not_hide_a_conflict() -> None:
    book = Book(sheets=("matrix",))

    with pytest.raises(OwnershipConflict):
        render_live(matrix_plan(), book, windows=False)


def test_owned_sheets_are_replaced_in_place_and_others_kept() -> None:
    book = Book(sheets=("Notes", "Summary", "Matrix", "Mine"))
    for sheet in book.sheets:
        if sheet.name in ("Summary", "Matrix"):
            sheet.mark_owned()
    mine = book.sheets["Mine"]
    mine.cells[(1, 1)] = "keep me"

    written = render_live(matrix_plan(), book, windows=False)

    assert sorted(c[1] for c in book.of_kind("delete")) == ["Matrix", "Summary"]
    order = book.sheets.names()
    assert order[:3] == ["Notes", "Summary", "TIER 1"]
    assert order.index("Summary") < order.index("Matrix") < order.index("Mine")
    assert "Mine" in book.sheets.names() and mine.cells == {(1, 1): "keep me"}
    assert written == [sheet.name for sheet in matrix_plan().sheets]
    assert all(is_owned(book.sheets[name]) for name in written if name != "Settings")
    assert not is_owned(book.sheets["Settings"])


def test_an_existing_settings_sheet_is_the_persons() -> None:
    book = Book(sheets=("Settings",))
    book.sheets["Settings"].cells[(5, 2)] = "p75"

    render_live(matrix_plan(), book, windows=False)

    assert book.of_kind("delete") == []
    assert book.sheets["Settings"].cells == {(5, 2): "p75"}


def test_workbook_names_are_defined_again() -> None:
    plan = matrix_plan()
    book = Book()

    render_live(plan, book, windows=False)

    defined = {c[2]: c[3] for c in book.of_kind("name") if c[1] is None}
    assert defined["APM_RevenueThreshold"] == plan.sheet("Summary").names[0].refers_to
    assert {name.name for name in plan.names()} <= set(defined)


def test_tables_conditional_formats_and_dropdowns() -> None:
    book = Book()

    render_live(matrix_plan(), book, windows=False)

    tables = [c[3] for c in book.of_kind("table") if isinstance(c[3], str)]
    assert "Accounts" in tables and "Playbooks" in tables
    rules = book.of_kind("conditional", "Accounts")
    assert rules[0][3][:3] == ("cell_value", "equal_to", '="TIER 1"')
    assert rules[0][3][3]["font_bold"] is True
    assert book.of_kind("validation", "Settings")[0][3][0] == "auto"


def test_template_formulas_become_calculated_columns() -> None:
    plan = template_plan()
    book = Book()

    render_live(plan, book, windows=False)

    formulas = {c[2]: c[3] for c in book.of_kind("formula")}
    assert formulas["F2:F13"].startswith('=IF(AND([@[Account ID]]="",[@[ARR]]=""')
    assert formulas["C18"] == "=MEDIAN(Accounts[ARR])"


def test_percentile_formulas_lose_the_file_format_prefix() -> None:
    settings = Settings(revenue_threshold="p75")
    book = Book()

    render_live(template_plan(None, settings), book, windows=False)

    formulas = [c[3] for c in book.of_kind("formula", "Summary")]
    assert "=PERCENTILE.INC(Accounts[ARR],0.75)" in formulas


def test_off_windows_nothing_goes_through_the_object_model() -> None:
    book = Book()

    render_live(matrix_plan(), book, windows=False)

    assert book.of_kind("api") == [] and book.of_kind("chart") == []


def test_on_windows_the_object_model_draws_the_rest() -> None:
    book = Book()

    render_live(matrix_plan(), book, windows=True)

    paths = {call[2] for call in book.of_kind("api")}
    assert "Sheet(TIER 1).Tab.Color" in paths
    assert "Name(Matrix!_xlapm_owned).Visible" in paths
    assert "Application.ActiveWindow.Zoom" in paths
    assert "Sheet(Summary).PageSetup.Orientation" in paths
    assert any(path.endswith("SeriesCollection().NewSeries()") for path in paths)
    tab = next(c for c in book.of_kind("api") if c[2] == "Sheet(TIER 1).Tab.Color")
    assert tab[3] == 0x2E + 0x7D * 256 + 0x32 * 65536  # #2E7D32 as BGR


def test_screen_and_calculation_come_back_after_a_failure() -> None:
    book = Book()
    plan = WorkbookPlan(
        sheets=[SheetPlan("Broken", blocks=[Cells(0, 0, [[object()]])])]
    )
    book.app.screen_updating = True

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("COM error")

    book.sheets.add = refuse  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        render_live(plan, book, windows=False)

    assert book.app.screen_updating is True
    assert book.app.calculation == "automatic"


def test_the_sample_has_a_dozen_accounts() -> None:
    assert len(SAMPLE_ROWS) == 12
