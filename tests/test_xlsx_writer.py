"""The file writer, compared part by part with reference workbooks in tests/golden.

Each reference holds one writer feature. They were written by this writer, checked
by opening them in LibreOffice, and are kept so that any change in what the writer
puts in the package shows up here, element by element. Regenerate them after a
deliberate change with ``XLAPM_REGENERATE_GOLDEN=1 pytest tests/test_xlsx_writer.py``
and look at the diff.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest
from package_compare import compare_xml

from xlapm.errors import ExcelLimitError
from xlapm.layout.plan import (
    Cells,
    Column,
    DefinedName,
    ListValidation,
    Merge,
    ScatterChart,
    ScatterSeries,
    SeriesRef,
    SheetPlan,
    Style,
    Table,
    TextRule,
    WorkbookPlan,
)
from xlapm.writers.xlsx import write_workbook

pytestmark = pytest.mark.usefixtures("opened_by_libreoffice")

GOLDEN = Path(__file__).parent / "golden"
# docProps/core.xml carries the time of writing, which changes on every run.
VOLATILE_PARTS = {"docProps/core.xml"}


def table_plan() -> WorkbookPlan:
    money = Style(num_format="$#,##0")
    sheet = SheetPlan(name="Accounts", freeze=(1, 1), tab_colour="#2E7D32")
    sheet.blocks.append(
        Table(
            "Accounts",
            0,
            0,
            [
                Column("Account", ["Acme", "=HYPERLINK(1)", "+1 Partners"], width=20),
                Column("ARR", [120000.0, 98000.5, None], money, 14),
                Column("Quadrant", ["TIER 1", "RAMP", "UNSCORED"]),
            ],
        )
    )
    sheet.rules.append(TextRule("C2:C4", "TIER 1", Style(fill="#C8E6C9", bold=True)))
    return WorkbookPlan([sheet])


def board_plan() -> WorkbookPlan:
    sheet = SheetPlan(name="Matrix", gridlines=False, zoom=90)
    title = Style(bold=True, fill="#1565C0", font_colour="#FFFFFF", align="center")
    sheet.blocks += [
        Merge(0, 0, 0, 2, "MAINTAIN · 2 accounts", title),
        Cells(1, 0, [["Acme\n$1.2M", "Beta\n$98K", None]], Style(wrap=True)),
        Merge(2, 0, 4, 0, "LOW REVENUE", Style(rotation=90)),
    ]
    sheet.heights = {1: 32}
    sheet.page.landscape = True
    sheet.page.fit_width, sheet.page.fit_height = 1, 1
    return WorkbookPlan([sheet])


def chart_plan() -> WorkbookPlan:
    sheet = SheetPlan(name="Summary")
    sheet.blocks.append(
        Cells(0, 0, [["x", "y"], [0.1, 10.0], [0.7, 30.0], [0.5, 0.0], [0.5, 40.0]])
    )
    sheet.charts.append(
        ScatterChart(
            "Accounts",
            "Health",
            "Revenue",
            [
                ScatterSeries(
                    "TIER 1",
                    SeriesRef("Summary", 0, 1, 2),
                    SeriesRef("Summary", 1, 1, 2),
                    "#2E7D32",
                ),
                ScatterSeries(
                    "Health threshold",
                    SeriesRef("Summary", 0, 3, 4),
                    SeriesRef("Summary", 1, 3, 4),
                    "#6B7280",
                    line=True,
                    dash=True,
                ),
            ],
            row=6,
            col=0,
            x_num_format="0%",
            y_num_format="$#,##0",
        )
    )
    return WorkbookPlan([sheet])


def settings_plan() -> WorkbookPlan:
    sheet = SheetPlan(name="Settings", owned=False)
    sheet.blocks.append(Cells(0, 0, [["Revenue threshold rule", "median"]]))
    sheet.validations.append(
        ListValidation(
            "B1",
            choices=["median", "p75", "value"],
            strict=False,
            prompt="Pick or type",
        )
    )
    sheet.names.append(DefinedName("APM_RevenueRule", "=Settings!$B$1"))
    return WorkbookPlan([sheet])


PLANS = {
    "table_formats_rules": table_plan,
    "board_merges_print": board_plan,
    "scatter_chart": chart_plan,
    "settings_names_validation": settings_plan,
}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_written_parts_match_the_reference(name: str, tmp_path: Path):
    written = tmp_path / f"{name}.xlsx"
    write_workbook(PLANS[name](), written)
    reference = GOLDEN / f"{name}.xlsx"
    if os.environ.get("XLAPM_REGENERATE_GOLDEN"):
        shutil.copyfile(written, reference)

    with zipfile.ZipFile(reference) as want, zipfile.ZipFile(written) as got:
        assert sorted(got.namelist()) == sorted(want.namelist())
        for part in want.namelist():
            if part in VOLATILE_PARTS:
                continue
            expected, actual = want.read(part), got.read(part)
            if part.endswith((".xml", ".rels")):
                assert compare_xml(expected, actual) == [], part
            else:
                assert actual == expected, part


def test_data_text_never_becomes_a_formula(tmp_path: Path):
    written = tmp_path / "t.xlsx"
    write_workbook(table_plan(), written)

    with zipfile.ZipFile(written) as package:
        sheet = package.read("xl/worksheets/sheet1.xml").decode()
        strings = package.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in sheet
    assert "=HYPERLINK(1)" in strings and "+1 Partners" in strings


def test_owned_sheets_are_marked_and_others_are_not(tmp_path: Path):
    written = tmp_path / "t.xlsx"
    plan = WorkbookPlan(table_plan().sheets + settings_plan().sheets)
    write_workbook(plan, written)

    with zipfile.ZipFile(written) as package:
        workbook = package.read("xl/workbook.xml").decode()
    assert workbook.count("_xlapm_owned") == 1
    assert 'name="_xlapm_owned" localSheetId="0" hidden="1"' in workbook


def test_text_longer_than_a_cell_holds_is_refused(tmp_path: Path):
    sheet = SheetPlan(name="Accounts")
    sheet.blocks.append(Table("Accounts", 0, 0, [Column("Account", ["x" * 32_768])]))

    with pytest.raises(ExcelLimitError, match="32,768 characters; an Excel cell"):
        write_workbook(WorkbookPlan([sheet]), tmp_path / "t.xlsx")
