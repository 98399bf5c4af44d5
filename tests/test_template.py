"""The template workbook: its sheets, its native formulas, and that it is reproducible.

LibreOffice is the spreadsheet application here: it opens the workbooks, computes
the native Quadrant and Segment columns and the threshold cells, and the results
must equal xlapm's own classification on every row.
"""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner
from libreoffice import convert, needs_libreoffice

from xlapm.cli import main
from xlapm.core.reading import find_uncached_formulas, read_table
from xlapm.core.settings import HealthScale, Settings, ThresholdRule
from xlapm.layout.plan import Formula, WorkbookPlan
from xlapm.template import (
    ACCOUNTS,
    HEADERS,
    SAMPLE_ROWS,
    sample_portfolio,
    template_plan,
    write_template,
)
from xlapm.writers.xlsx import OWNED_MARKER, write_workbook

COMMITTED = Path(__file__).parents[1] / "templates" / "AccountMatrix.xlsx"

SHEETS = [
    "Instructions",
    "Accounts",
    "Matrix",
    "Summary",
    "TIER 1",
    "INVEST",
    "RAMP",
    "MAINTAIN",
    "Playbooks",
    "Settings",
    "Team",
    "Ana Souza",
    "Ben Okafor",
    "Chloe Martin",
    "Dev Patel",
    "Data Issues",
]
PERSON_SHEETS = {"Instructions", "Accounts", "Settings"}

# LibreOffice trusts the results saved in an .xlsx unless told to recalculate on
# load; a fresh profile with this setting makes it compute every formula.
_ALWAYS_RECALCULATE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def recalculated(book: Path, folder: Path) -> Path:
    """``book`` opened, recalculated and saved again by LibreOffice."""
    return convert(book, folder / "recalculated", registry=_ALWAYS_RECALCULATE)


def without_results(plan: WorkbookPlan) -> WorkbookPlan:
    """The plan with every native formula's cached result blanked.

    A spreadsheet that shows the right answers from such a file computed them.
    """
    for sheet in plan.sheets:
        for index, block in enumerate(sheet.blocks):
            if isinstance(block, Formula):
                sheet.blocks[index] = replace(block, cached="")
        for table in sheet.tables():
            for column in table.columns:
                if column.formula:
                    column.values = [None] * len(column.values)
    return plan


def parts(book: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(book) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def sheet_rows(book: Path, sheet: str) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(book, data_only=True, read_only=True)
    try:
        return list(workbook[sheet].iter_rows(values_only=True))
    finally:
        workbook.close()


def test_the_template_has_every_sheet(tmp_path: Path) -> None:
    book = write_template(tmp_path / "AccountMatrix.xlsx")

    workbook = openpyxl.load_workbook(book)
    try:
        assert workbook.sheetnames == SHEETS
        owned = {
            sheet.title
            for sheet in workbook.worksheets
            if OWNED_MARKER in sheet.defined_names
        }
        assert owned == set(SHEETS) - PERSON_SHEETS
        accounts = workbook["Accounts"]
        assert list(accounts.tables) == [ACCOUNTS]
        assert accounts["F2"].value.startswith('=IF(AND(A2="",D2="",E2=""),"",')
        assert accounts["G13"].value.startswith("=IF(ISNUMBER(D13),")
        names = ("APM_RevenueThreshold", "APM_HealthThreshold", "APM_Tier1Name")
        names += ("APM_SegmentNames", "APM_SegmentMins", "APM_HealthScale")
        assert all(name in workbook.defined_names for name in names)
    finally:
        workbook.close()


def test_the_table_keeps_the_excel_form_for_new_rows(tmp_path: Path) -> None:
    book = write_template(tmp_path / "AccountMatrix.xlsx")

    table = parts(book)["xl/tables/table1.xml"].decode()

    assert "<calculatedColumnFormula>IF(AND([[#This Row],[Account ID]]" in table


def test_summary_thresholds_are_native_formulas(tmp_path: Path) -> None:
    book = write_template(tmp_path / "AccountMatrix.xlsx")

    workbook = openpyxl.load_workbook(book)
    try:
        formulas = {
            name: workbook[ref[0]][ref[1].replace("$", "")].value
            for name in ("APM_RevenueThreshold", "APM_HealthThreshold")
            for ref in workbook.defined_names[name].destinations
        }
    finally:
        workbook.close()
    assert formulas == {
        "APM_RevenueThreshold": "=MEDIAN(Accounts[ARR])",
        "APM_HealthThreshold": "=MEDIAN(Accounts[Adoption])",
    }


def test_generating_twice_gives_the_same_parts(tmp_path: Path) -> None:
    first = write_template(tmp_path / "one" / "AccountMatrix.xlsx")
    second = write_template(tmp_path / "two" / "AccountMatrix.xlsx")

    assert parts(first) == parts(second)


def test_the_committed_template_is_up_to_date(tmp_path: Path) -> None:
    fresh = write_template(tmp_path / "AccountMatrix.xlsx")

    assert parts(COMMITTED) == parts(fresh), "run: xlapm template"


def test_the_rebuild_reads_the_template_accounts(tmp_path: Path) -> None:
    book = write_template(tmp_path / "AccountMatrix.xlsx")

    table = read_table(book)

    assert table.sheet == ACCOUNTS and len(table.frame) == len(SAMPLE_ROWS)
    assert find_uncached_formulas(book, ACCOUNTS) == []


def test_the_cli_writes_the_template(tmp_path: Path) -> None:
    target = tmp_path / "out" / "Matrix.xlsx"

    result = CliRunner().invoke(main, ["template", "-o", str(target)])

    assert result.exit_code == 0, result.output
    assert result.output == f"Wrote {target}\n"
    assert parts(target) == parts(COMMITTED)


def test_the_cli_refuses_another_file_type(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["template", "-o", str(tmp_path / "m.csv")])

    assert result.exit_code == 2
    assert "Invalid value for '-o' / '--output': 'm.csv' must end in .xlsx." in (
        result.output
    )


def test_the_cli_help_has_an_example() -> None:
    result = CliRunner().invoke(main, ["template", "--help"])

    assert result.exit_code == 0 and "xlapm template -o AccountMatrix.xlsx" in (
        result.output
    )


def edge_rows(count: int) -> list[list[Any]]:
    """Accounts at, just under and just over every threshold and segment band."""
    revenue_edges = [100_000.0, 1_000_000.0]
    health_edge = 0.5
    revenues, healths = [], []
    for edge in revenue_edges:
        revenues += [edge, np.nextafter(edge, 0), np.nextafter(edge, np.inf)]
        revenues += [edge - 0.01, edge + 0.01]
    healths += [health_edge, np.nextafter(health_edge, 0)]
    healths += [np.nextafter(health_edge, 1), 0.49, 0.51, 0.0, 1.0]
    generator = np.random.default_rng(2026)
    rows: list[list[Any]] = []
    for index in range(count):
        revenue: Any = revenues[index % len(revenues)]
        health: Any = healths[(index // len(revenues)) % len(healths)]
        if index % 7 == 6:
            revenue = float(round(generator.uniform(0, 2_000_000), 2))
            health = float(round(generator.uniform(0, 1), 4))
        if index % 97 == 5:
            health = None
        if index % 89 == 3:
            revenue = "n/a"
        if index % 83 == 7:
            health = 1.2
        rows.append([f"{index:08d}", f"Account {index}", "CSM", revenue, health])
    return rows


def assert_native_columns_agree(book: Path, settings: Settings) -> None:
    """LibreOffice's Quadrant and Segment equal the core's on every row."""
    recomputed_rows = sheet_rows(book, ACCOUNTS)
    header = list(recomputed_rows[0])
    records = [list(row) for row in recomputed_rows[1:]]
    body = [row[: len(HEADERS)] for row in records]
    portfolio = sample_portfolio(body, settings)

    # A formula whose result is "" reads back as an empty cell.
    quadrants = [row[header.index("Quadrant")] or "" for row in records]
    segments = [row[header.index("Segment")] or "" for row in records]
    assert quadrants == portfolio.quadrants.tolist()
    assert segments == portfolio.segments.tolist()


@pytest.mark.libreoffice
@needs_libreoffice
def test_libreoffice_computes_the_template_like_the_core(tmp_path: Path) -> None:
    book = tmp_path / "AccountMatrix.xlsx"
    write_workbook(without_results(template_plan()), book)

    recomputed = recalculated(book, tmp_path)

    assert_native_columns_agree(recomputed, Settings())
    summary = sheet_rows(recomputed, "Summary")
    thresholds = {row[0]: row[2] for row in summary if row and row[0]}
    portfolio = sample_portfolio()
    c = portfolio.classification
    assert thresholds["Revenue"] == pytest.approx(c.revenue_threshold.value)
    assert thresholds["Health"] == pytest.approx(c.health_threshold.value)


@pytest.mark.libreoffice
@needs_libreoffice
@pytest.mark.parametrize(
    ("revenue_rule", "health_rule"),
    [("100000", "0.5"), ("p75", "median"), ("median", "p33")],
)
def test_libreoffice_computes_1000_edge_accounts_like_the_core(
    tmp_path: Path, revenue_rule: str, health_rule: str
) -> None:
    # Fraction, so that a health of 1.2 is out of range rather than a percent.
    settings = Settings(
        revenue_threshold=ThresholdRule.parse(revenue_rule),
        health_threshold=ThresholdRule.parse(health_rule),
        health_scale=HealthScale.FRACTION,
    )
    book = tmp_path / "edges.xlsx"
    write_workbook(without_results(template_plan(edge_rows(1_000), settings)), book)

    recomputed = recalculated(book, tmp_path)

    assert_native_columns_agree(recomputed, settings)
    quadrants = {row[5] for row in sheet_rows(recomputed, ACCOUNTS)[1:]}
    assert {"TIER 1", "INVEST", "RAMP", "MAINTAIN", "UNSCORED"} <= quadrants
