"""The quarterly routine through the command line, on three Maven-derived quarters.

Source: tests/data/quarters/ (see its README: the first 25 companies of
../shared/data/maven_crm_accounts.csv with made-up CSMs, adoption and changes).
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from libreoffice import convert, needs_libreoffice

from xlapm.cli import main

pytestmark = pytest.mark.usefixtures("opened_by_libreoffice")

QUARTERS = Path(__file__).parent / "data" / "quarters"


def run(*args: str) -> str:
    result = CliRunner().invoke(main, [str(arg) for arg in args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def history_rows(book: Path) -> list[tuple]:
    sheet = openpyxl.load_workbook(book)["Quarter History"]
    return list(sheet.iter_rows(min_row=2, values_only=True))


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "portfolio.xlsx"
    run(
        "build",
        QUARTERS / "maven_2024Q2.csv",
        "-o",
        path,
        "--revenue-threshold",
        "250000",
        "--health-threshold",
        "50%",
    )
    run("snapshot", path, "--quarter", "2024Q2")
    run(
        "snapshot",
        path,
        "--quarter",
        "2024Q3",
        "--accounts",
        QUARTERS / "maven_2024Q3.csv",
    )
    return path


def test_same_quarter_twice_gives_the_same_history(book: Path):
    before = history_rows(book)

    run(
        "snapshot",
        book,
        "--quarter",
        "2024Q3",
        "--accounts",
        QUARTERS / "maven_2024Q3.csv",
    )

    assert history_rows(book) == before
    assert {row[0] for row in before} == {"2024Q2", "2024Q3"}


def test_new_quarter_adds_rows_and_reports_moves(book: Path):
    out = run(
        "snapshot",
        book,
        "--quarter",
        "2024Q4",
        "--accounts",
        QUARTERS / "maven_2024Q4.csv",
    )

    rows = history_rows(book)
    assert {row[0] for row in rows} == {"2024Q2", "2024Q3", "2024Q4"}
    assert "Moves: 3 up, 5 down, 2 sideways, 1 unscored, 2 new, 2 lost" in out
    assert "Acme Corporation: Was TIER 1 in 2024Q3; now MAINTAIN." in out


def test_history_survives_a_plain_rebuild(book: Path):
    before = history_rows(book)

    run("rebuild", book)

    assert history_rows(book) == before


def test_workbook_gets_movements_alerts_team_and_csm_sheets(book: Path):
    names = openpyxl.load_workbook(book).sheetnames

    for name in ("Movements", "Alerts", "Team", "Quarter History", "Ana Lee"):
        assert name in names


def test_accounts_sheet_shows_time_share_and_hours(book: Path):
    sheet = openpyxl.load_workbook(book)["Accounts"]
    header = [cell.value for cell in sheet[1]]
    share, csm = header.index("Time Share"), header.index("CSM")

    totals: dict[str, float] = {}
    for row in sheet.iter_rows(min_row=2, values_only=True):
        totals[row[csm]] = totals.get(row[csm], 0.0) + row[share]

    assert "Hours" in header
    assert all(total == pytest.approx(1.0) for total in totals.values())


def test_unknown_quarter_format_is_a_usage_error(book: Path):
    result = CliRunner().invoke(main, ["snapshot", str(book), "--quarter", "Q5-24"])

    assert result.exit_code == 2
    assert "Invalid value for '--quarter'" in result.stderr


@needs_libreoffice
def test_libreoffice_opens_the_quarterly_workbook(book: Path, tmp_path: Path):
    converted = convert(book, tmp_path / "lo")

    assert "Quarter History" in openpyxl.load_workbook(converted).sheetnames
