"""The quarterly sheet plans, rendered to a workbook and opened by others.

Data: the three quarters in ``tests/data/quarters/``, a 25-company slice of
``../shared/data/maven_crm_accounts.csv`` (Maven Analytics "CRM Sales Opportunities",
kisaraF/CRM-Sales_Analysis) with made-up CSMs and adoption; see
``tests/data/quarters/README.md``. The sheet-name tests rename the CSMs of
``maven_2024Q4.csv`` to names Excel cannot take as they are.
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from libreoffice import convert, needs_libreoffice

from xlapm.build import load_portfolio
from xlapm.core.alerts import find_alerts
from xlapm.core.allocation import Allocation, allocate_time
from xlapm.core.history import (
    HISTORY_COLUMNS,
    merge_history,
    read_history,
    take_snapshot,
)
from xlapm.core.movements import compare_quarters
from xlapm.core.portfolio import Portfolio
from xlapm.core.quarterly_settings import QuarterlySettings
from xlapm.core.settings import Settings
from xlapm.layout.plan import FormulaRule, SheetPlan, TextRule, WorkbookPlan
from xlapm.layout.quarterly_sheets import (
    ALERTS_SHEET,
    HISTORY_SHEET,
    MOVEMENTS_SHEET,
    TEAM_SHEET,
    allocation_columns,
    plan_alerts_sheet,
    plan_csm_sheets,
    plan_history_sheet,
    plan_movements_sheet,
    plan_team_sheet,
)
from xlapm.layout.workbook import plan_workbook
from xlapm.package.limits import validate_sheet_name
from xlapm.writers.xlsx import write_workbook

QUARTERS = Path(__file__).parent / "data" / "quarters"
SETTINGS = Settings(
    revenue_threshold=250_000,
    health_threshold=0.5,
    quarterly=QuarterlySettings(max_one_to_one=3),
)
RENAMED_CSMS = {
    "Ana Lee": "Ana/Lee",
    "Bo Chen": "Ana:Lee",
    "Carla Diaz": "Summary",
}


@pytest.fixture(scope="module")
def portfolios() -> dict[str, Portfolio]:
    return {
        quarter: load_portfolio(QUARTERS / f"maven_{quarter}.csv", SETTINGS)
        for quarter in ("2024Q2", "2024Q3", "2024Q4")
    }


@pytest.fixture(scope="module")
def history(portfolios: dict[str, Portfolio]) -> pd.DataFrame:
    built = None
    for quarter, portfolio in portfolios.items():
        built = merge_history(built, take_snapshot(portfolio, quarter))
    return built


@pytest.fixture(scope="module")
def latest(portfolios: dict[str, Portfolio]) -> Portfolio:
    return portfolios["2024Q4"]


def quarterly_plan(
    portfolio: Portfolio, history: pd.DataFrame, allocation: Allocation
) -> WorkbookPlan:
    """The workbook with every quarterly sheet, as the rebuild would plan it."""
    more = [
        plan_history_sheet(history, SETTINGS),
        plan_movements_sheet(compare_quarters(history, settings=SETTINGS), SETTINGS),
        plan_alerts_sheet(find_alerts(history, SETTINGS), SETTINGS),
        plan_team_sheet(portfolio, allocation),
        *plan_csm_sheets(portfolio, allocation),
    ]
    extras = allocation_columns(portfolio, allocation)
    return plan_workbook(portfolio, account_extras=extras, more_sheets=more)


def renamed_csms(tmp_path: Path) -> Portfolio:
    """The 2024Q4 export with CSM names that clash once made valid sheet names."""
    with (QUARTERS / "maven_2024Q4.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["CSM"] = RENAMED_CSMS.get(row["CSM"], row["CSM"])
    rows[0]["CSM"] = "tier 1"
    rows[1]["CSM"] = "Zoë Van Der Berg-Hollingsworth III"
    target = tmp_path / "renamed.csv"
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return load_portfolio(target, SETTINGS)


def sheet_rows(book: openpyxl.Workbook, name: str) -> list[list[object]]:
    return [list(row) for row in book[name].iter_rows(values_only=True)]


def table_of(sheet: SheetPlan, suffix: str = ""):
    return next(table for table in sheet.tables() if table.name.endswith(suffix))


def test_csm_sheet_names_are_cleaned_and_unique(tmp_path: Path):
    portfolio = renamed_csms(tmp_path)
    allocation = allocate_time(portfolio)

    sheets = plan_csm_sheets(portfolio, allocation)

    assert allocation.csm_names() == [
        "Ana/Lee",
        "Ana:Lee",
        "Summary",
        "tier 1",
        "Zoë Van Der Berg-Hollingsworth III",
        "Unassigned",
    ]
    assert [sheet.name for sheet in sheets] == [
        "Ana-Lee",
        "Ana-Lee (2)",
        "Summary (2)",
        "tier 1 (2)",
        "Zoë Van Der Berg-Hollingsworth",
        "Unassigned",
    ]
    for sheet in sheets:
        validate_sheet_name(sheet.name)


def test_csm_sheet_names_avoid_the_persons_own_sheets(latest: Portfolio):
    allocation = allocate_time(latest)

    sheets = plan_csm_sheets(latest, allocation, taken=["ana lee", "Notes"])

    assert [sheet.name for sheet in sheets] == [
        "Ana Lee (2)",
        "Bo Chen",
        "Carla Diaz",
        "Unassigned",
    ]


def test_clashing_csms_render_with_unique_table_names(tmp_path: Path):
    portfolio = renamed_csms(tmp_path)
    allocation = allocate_time(portfolio)
    plan = plan_workbook(portfolio, more_sheets=plan_csm_sheets(portfolio, allocation))

    names = [table.name.casefold() for sheet in plan.sheets for table in sheet.tables()]
    write_workbook(plan, tmp_path / "renamed.xlsx")

    assert len(names) == len(set(names))
    book = openpyxl.load_workbook(tmp_path / "renamed.xlsx")
    assert "Ana-Lee (2)" in book.sheetnames
    assert book["Ana-Lee (2)"]["A1"].value.startswith("Ana:Lee — ")
    book.close()


def test_the_history_sheet_is_a_table_from_a1(history: pd.DataFrame):
    sheet = plan_history_sheet(history, SETTINGS)

    table = sheet.tables()[0]
    assert sheet.name == HISTORY_SHEET == "Quarter History"
    assert (table.top, table.left) == (0, 0)
    assert [column.header for column in table.columns] == list(HISTORY_COLUMNS)
    assert table.rows == 66
    assert sheet.freeze == (1, 3)
    assert {rule.text for rule in sheet.rules if isinstance(rule, TextRule)} == {
        "TIER 1",
        "INVEST",
        "RAMP",
        "MAINTAIN",
        "UNSCORED",
    }


def test_the_movements_sheet_shows_the_matrix_and_colours_moves(history: pd.DataFrame):
    movements = compare_quarters(history, settings=SETTINGS)

    sheet = plan_movements_sheet(movements, SETTINGS)

    counts = table_of(sheet, "MoveCounts")
    assert counts.columns[0].values == [
        "TIER 1",
        "INVEST",
        "RAMP",
        "MAINTAIN",
        "UNSCORED",
        "NEW",
    ]
    assert [column.values for column in counts.columns[1:-1]] == [
        movements.counts[label].tolist() for label in movements.counts.columns
    ]
    assert counts.columns[-1].values == [4, 7, 5, 6, 0, 2]
    moves = table_of(sheet, "Moves")
    assert moves.rows == 15  # every account but the nine that stayed
    formulas = [rule.formula for rule in sheet.rules if isinstance(rule, FormulaRule)]
    assert any('="▲"' in formula for formula in formulas)
    assert any('="▼"' in formula for formula in formulas)


def test_the_movements_sheet_shows_the_name_matching_warning(history: pd.DataFrame):
    movements = compare_quarters(history.assign(**{"Account ID": None}))

    sheet = plan_movements_sheet(movements, SETTINGS)

    texts = [getattr(block, "value", None) for block in sheet.blocks]
    assert movements.warning in texts


def test_the_alerts_sheet_lists_each_alert_with_its_rule(history: pd.DataFrame):
    sheet = plan_alerts_sheet(find_alerts(history, SETTINGS), SETTINGS)

    table = sheet.tables()[0]
    assert sheet.name == ALERTS_SHEET
    assert table.columns[0].values == [
        "TIER 1 slipped",
        "TIER 1 slipped",
        "MAINTAIN health drop",
        "MAINTAIN health drop",
        "INVEST stalled",
        "INVEST stalled",
    ]
    assert sheet.blocks[0].values == [["Alerts 2024Q4"]]


def test_an_empty_alerts_sheet_still_plans():
    sheet = plan_alerts_sheet([], SETTINGS)

    assert sheet.tables()[0].rows == 0
    assert sheet.blocks[1].values == [["0 alerts"]]


def test_the_team_sheet_counts_accounts_and_revenue(latest: Portfolio):
    allocation = allocate_time(latest)

    sheet = plan_team_sheet(latest, allocation)

    table = sheet.tables()[0]
    columns = {column.header: column.values for column in table.columns}
    assert sheet.name == TEAM_SHEET
    assert columns["CSM"] == ["Ana Lee", "Bo Chen", "Carla Diaz", "Unassigned"]
    assert columns["TIER 1 accounts"] == [0, 4, 0, 0]
    assert columns["TIER 1 revenue"] == [
        0,
        1_154_500 + 1_067_475 + 310_580 + 275_608,
        0,
        0,
    ]
    assert columns["INVEST accounts"] == [2, 1, 3, 2]
    assert columns["UNSCORED accounts"] == [0, 0, 1, 0]
    assert columns["Accounts"] == [7, 7, 6, 2]
    assert columns["Over cap"] == [0, 2, 0, 0]
    assert sum(columns["Revenue"]) == pytest.approx(latest.accounts.revenue.sum())


def test_a_csm_sheet_holds_their_board_time_and_accounts(latest: Portfolio):
    allocation = allocate_time(latest)

    bo = plan_csm_sheets(latest, allocation)[1]

    accounts = table_of(bo, "_Accounts")
    columns = {column.header: column.values for column in accounts.columns}
    assert bo.name == "Bo Chen"
    assert columns["Quadrant"] == ["TIER 1"] * 4 + ["INVEST"] + ["MAINTAIN"] * 2
    assert columns["Account"][:2] == ["Dontechi", "Cheers"]
    assert sum(columns["Time Share"]) == pytest.approx(1.0, abs=1e-9)
    assert sum(columns["Hours"]) == pytest.approx(480.0)
    assert columns["Plan"].count("one-to-many (over the one-to-one cap)") == 2
    time = table_of(bo, "_Time")
    assert (
        time.columns[-1].values[0] == "TIER 1: 69% of your time on 4 accounts (329 h)"
    )
    assert bo.freeze == (accounts.top + 1, 2)


def test_allocation_columns_for_accounts(latest: Portfolio):
    allocation = allocate_time(latest)

    share, hours = allocation_columns(latest, allocation)

    assert (share.header, hours.header) == ("Time Share", "Hours")
    assert share.style.num_format == "0.0%"
    assert len(share.values) == len(latest.accounts) == len(hours.values)
    assert share.values == allocation.share.tolist()


def test_allocation_columns_keep_clear_of_export_columns(tmp_path: Path):
    source = tmp_path / "hours.csv"
    source.write_text("Account,ARR,Adoption,Hours\nAcme,300000,70%,12\n")
    portfolio = load_portfolio(source, SETTINGS)

    share, hours = allocation_columns(portfolio, allocate_time(portfolio))

    assert (share.header, hours.header) == ("Time Share", "Hours (xlapm)")


@pytest.fixture(scope="module")
def workbook(
    latest: Portfolio, history: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    target = tmp_path_factory.mktemp("quarterly") / "quarterly.xlsx"
    write_workbook(quarterly_plan(latest, history, allocate_time(latest)), target)
    return target


def test_the_rendered_workbook_has_every_quarterly_sheet(workbook: Path):
    book = openpyxl.load_workbook(workbook)

    assert book.sheetnames[-9:] == [
        "Quarter History",
        "Movements",
        "Alerts",
        "Team",
        "Ana Lee",
        "Bo Chen",
        "Carla Diaz",
        "Unassigned",
        "Data Issues",
    ]
    header = next(book["Accounts"].iter_rows(max_row=1, values_only=True))
    assert header[-2:] == ("Time Share", "Hours")
    assert list(book["Quarter History"].tables) == ["QuarterHistory"]
    book.close()


def test_openpyxl_reads_the_history_back(workbook: Path, history: pd.DataFrame):
    book = openpyxl.load_workbook(workbook)

    read = read_history(sheet_rows(book, HISTORY_SHEET))
    book.close()

    pd.testing.assert_frame_equal(read, history)


@needs_libreoffice
@pytest.mark.libreoffice
def test_libreoffice_opens_the_workbook_and_keeps_the_history(
    workbook: Path, history: pd.DataFrame, tmp_path: Path
):
    converted = convert(workbook, tmp_path / "lo")

    book = openpyxl.load_workbook(converted, data_only=True)
    read = read_history(sheet_rows(book, HISTORY_SHEET))
    movements = sheet_rows(book, MOVEMENTS_SHEET)
    book.close()

    pd.testing.assert_frame_equal(read, history)
    assert movements[0][0] == "Movements 2024Q3 → 2024Q4"
