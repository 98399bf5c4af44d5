"""End to end: ``xlapm build`` on slices of real exports, read back with openpyxl."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pandas
import pytest
from click.testing import CliRunner
from libreoffice import convert, needs_libreoffice

from xlapm.cli import main

pytestmark = pytest.mark.usefixtures("opened_by_libreoffice")

QUADRANTS = ["TIER 1", "INVEST", "RAMP", "MAINTAIN"]
OWNED_SHEETS = [
    "Matrix",
    "Summary",
    *QUADRANTS,
    "Accounts",
    "Playbooks",
    "Settings",
    "Data Issues",
]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def telco_book(tmp_path: Path, data_dir: Path) -> Path:
    """Telco slice: first 300 customers plus two with a blank TotalCharges.

    Source: ../shared/data/telco_customer_churn.csv lines 1-301, 490 and 755.
    """
    output = tmp_path / "telco.xlsx"
    code, out, err = run(
        "build",
        str(data_dir / "telco_300.csv"),
        "-o",
        str(output),
        "--revenue",
        "MonthlyCharges",
        "--health",
        "tenure",
    )
    assert code == 0, err
    return output


def test_build_writes_every_sheet_in_order(telco_book: Path):
    book = openpyxl.load_workbook(telco_book)

    assert book.sheetnames == OWNED_SHEETS


def test_quadrant_counts_add_up_to_the_input(telco_book: Path):
    book = openpyxl.load_workbook(telco_book)
    accounts = book["Accounts"]
    header = [cell.value for cell in accounts[1]]
    quadrant = header.index("Quadrant")
    labels = [row[quadrant] for row in accounts.iter_rows(min_row=2, values_only=True)]

    per_sheet = {
        name: book[name].tables[_only(book[name].tables)].ref for name in QUADRANTS
    }
    counts = {name: _rows(ref) for name, ref in per_sheet.items()}

    assert len(labels) == 302
    assert sum(counts.values()) + labels.count("UNSCORED") == 302
    for name in QUADRANTS:
        assert counts[name] == labels.count(name)


def test_accounts_sheet_is_a_table_with_formats_filter_and_colours(telco_book: Path):
    sheet = openpyxl.load_workbook(telco_book)["Accounts"]
    table = sheet.tables["Accounts"]
    header = [cell.value for cell in sheet[1]]

    assert table.ref.startswith("A1:") and table.ref.endswith("303")
    assert header[-3:] == ["Quadrant", "Segment", "Playbook"]
    assert sheet.freeze_panes == "B2"
    assert table.autoFilter is not None
    monthly = header.index("MonthlyCharges")
    assert sheet.cell(2, monthly + 1).number_format == "$#,##0"
    rules = [rule for cf in sheet.conditional_formatting for rule in cf.rules]
    texts = {rule.formula[0] for rule in rules}
    assert {'"TIER 1"', '"INVEST"', '"RAMP"', '"MAINTAIN"', '"UNSCORED"'} <= texts


def test_summary_has_native_scatter_with_a_series_per_quadrant(telco_book: Path):
    with zipfile.ZipFile(telco_book) as package:
        charts = [n for n in package.namelist() if n.startswith("xl/charts/chart")]
        xml = package.read(charts[0]).decode()

    assert len(charts) == 1
    assert "<c:scatterChart>" in xml
    for name in [*QUADRANTS, "Revenue threshold", "Health threshold"]:
        assert f"<c:v>{name}</c:v>" in xml


def test_thresholds_are_named_cells_with_the_rule_described(
    telco_book: Path, data_dir: Path
):
    median = pandas.read_csv(data_dir / "telco_300.csv")["MonthlyCharges"].median()
    book = openpyxl.load_workbook(telco_book)
    sheet_name, ref = next(
        iter(book.defined_names["APM_RevenueThreshold"].destinations)
    )
    cell = book[sheet_name][ref.replace("$", "")]

    assert sheet_name == "Summary"
    assert cell.value == pytest.approx(median)
    assert book[sheet_name].cell(cell.row, 4).value.startswith("median = ")


def test_owned_sheets_carry_the_hidden_marker_but_settings_does_not(telco_book: Path):
    book = openpyxl.load_workbook(telco_book)

    for name in OWNED_SHEETS:
        marked = "_xlapm_owned" in book[name].defined_names
        assert marked == (name != "Settings"), name


def test_blank_total_charges_stay_blank_and_numbers_become_numbers(telco_book: Path):
    sheet = openpyxl.load_workbook(telco_book)["Accounts"]
    header = [cell.value for cell in sheet[1]]
    total = header.index("TotalCharges") + 1

    values = [sheet.cell(row, total).value for row in range(2, 304)]

    assert values.count(None) == 2
    assert all(isinstance(v, int | float) for v in values if v is not None)


def test_build_reports_columns_thresholds_and_counts(data_dir: Path, tmp_path: Path):
    code, out, _ = run(
        "build",
        str(data_dir / "telco_300.csv"),
        "-o",
        str(tmp_path / "t.xlsx"),
        "--revenue",
        "MonthlyCharges",
        "--health",
        "tenure",
    )

    assert code == 0
    assert "revenue 'MonthlyCharges'" in out
    assert "health 'tenure' (number)" in out
    assert "Thresholds: revenue median = " in out
    assert f"Wrote {tmp_path / 't.xlsx'}" in out


def test_fixed_threshold_on_maven_accounts(data_dir: Path, tmp_path: Path):
    """All 85 companies of ../shared/data/maven_crm_accounts.csv."""
    output = tmp_path / "maven.xlsx"
    code, out, err = run(
        "build",
        str(data_dir / "maven_crm_accounts.csv"),
        "-o",
        str(output),
        "--revenue",
        "revenue",
        "--health",
        "employees",
        "--revenue-threshold",
        "1000",
        "--health-threshold",
        "2000",
    )
    assert code == 0, err

    sheet = openpyxl.load_workbook(output)["Accounts"]
    header = [cell.value for cell in sheet[1]]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    revenue, employees = header.index("revenue"), header.index("employees")
    quadrant = header.index("Quadrant")
    for row in rows:
        high_revenue = row[revenue] >= 1000
        high_health = row[employees] >= 2000
        expected = {
            (True, True): "TIER 1",
            (True, False): "INVEST",
            (False, False): "RAMP",
            (False, True): "MAINTAIN",
        }
        assert row[quadrant] == expected[(high_revenue, high_health)]
    assert "revenue fixed = $1,000, health fixed = 2,000" in out


def test_missing_column_is_one_line_error_with_hint(data_dir: Path, tmp_path: Path):
    code, out, err = run(
        "build",
        str(data_dir / "maven_crm_accounts.csv"),
        "-o",
        str(tmp_path / "x.xlsx"),
        "--revenue",
        "ARR",
    )

    assert code == 1
    assert err.splitlines()[0] == (
        "Error: maven_crm_accounts.csv has no column 'ARR' for the revenue."
    )
    assert err.splitlines()[1].startswith("Hint: Columns there: account, sector")
    assert not (tmp_path / "x.xlsx").exists()


def test_bad_threshold_is_a_usage_error(data_dir: Path):
    code, _, err = run(
        "build", str(data_dir / "maven_crm_accounts.csv"), "--revenue-threshold", "lots"
    )

    assert code == 2
    assert "Invalid value for '--revenue-threshold'" in err


def test_injection_text_is_written_as_text(tmp_path: Path):
    source = tmp_path / "evil.csv"
    source.write_text(
        "Account Name,ARR,Adoption\n"
        '"=HYPERLINK(""http://x"",""y"")",100,0.5\n'
        "+1 Partners,200,0.7\n"
        "@SUM(A1),300,0.2\n"
        "-2 Corp,50,0.9\n",
        encoding="utf-8",
    )
    output = tmp_path / "evil.xlsx"
    assert run("build", str(source), "-o", str(output))[0] == 0

    with zipfile.ZipFile(output) as package:
        for name in package.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert "<f>" not in package.read(name).decode(), name
    names = [
        row[0]
        for row in openpyxl.load_workbook(output)["Accounts"].iter_rows(
            min_row=2, values_only=True
        )
    ]
    assert names == ['=HYPERLINK("http://x","y")', "+1 Partners", "@SUM(A1)", "-2 Corp"]


def test_demo_builds_from_bundled_sample(tmp_path: Path):
    output = tmp_path / "demo.xlsx"

    code, out, err = run("demo", "-o", str(output))

    assert code == 0, err
    names = openpyxl.load_workbook(output).sheetnames
    csm_sheets = ["Team", "Ana Souza", "Ben Okafor", "Chloe Martin", "Dev Patel"]
    assert names == [*OWNED_SHEETS[:-1], *csm_sheets, "Data Issues"]
    assert "data issues on rows" in out


def test_version_flag_prints_the_version():
    code, out, _ = run("--version")

    assert code == 0
    assert out.startswith("xlapm, version ")


@needs_libreoffice
def test_libreoffice_opens_the_built_workbook(telco_book: Path, tmp_path: Path):
    converted = convert(telco_book, tmp_path / "lo")

    book = openpyxl.load_workbook(converted, data_only=True)
    assert book.sheetnames == OWNED_SHEETS
    assert book["TIER 1"]["A1"].value.startswith("TIER 1 — ")


def _only(tables) -> str:
    (name,) = tables.keys()
    return name


def _rows(ref: str) -> int:
    first, last = ref.split(":")
    top = int("".join(ch for ch in first if ch.isdigit()))
    bottom = int("".join(ch for ch in last if ch.isdigit()))
    return bottom - top


def test_build_refuses_to_overwrite_a_persons_workbook(data_dir: Path, tmp_path: Path):
    mine = tmp_path / "mine.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "My notes"
    book.save(mine)
    before = mine.read_bytes()

    code, _, err = run(
        "build",
        str(data_dir / "maven_crm_accounts.csv"),
        "-o",
        str(mine),
        "--revenue",
        "revenue",
        "--health",
        "employees",
    )

    assert code == 1
    assert err.splitlines()[0] == (
        f"Error: {mine} has sheets a person made ('My notes'); build would replace "
        "the whole file."
    )
    assert mine.read_bytes() == before


def test_build_may_replace_its_own_earlier_output(telco_book: Path, data_dir: Path):
    code, _, err = run(
        "build",
        str(data_dir / "maven_crm_accounts.csv"),
        "-o",
        str(telco_book),
        "--revenue",
        "revenue",
        "--health",
        "employees",
    )

    assert code == 0, err
    accounts = openpyxl.load_workbook(telco_book)["Accounts"]
    assert accounts.max_row == 86
