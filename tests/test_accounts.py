"""From a messy export to scored accounts: scaling, UNSCORED, issues, duplicates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xlapm.core.accounts import prepare_accounts
from xlapm.core.portfolio import score_portfolio
from xlapm.core.reading import read_table
from xlapm.core.settings import HealthScale, load_settings
from xlapm.errors import ColumnNotFound, InputError


def accounts_from(path: Path, **flags):
    settings = load_settings(None, **flags)
    return prepare_accounts(read_table(path), settings), settings


def write(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_semicolon_export_reads_decimal_commas_and_percent_adoption(data_dir: Path):
    """../shared/data/cases/C5_semicolon_decimal_comma.csv, whole file."""
    accounts, _ = accounts_from(data_dir / "cases" / "C5_semicolon_decimal_comma.csv")

    assert accounts.revenue.tolist() == [1250000.50, 98000.00, 310500.75]
    assert accounts.health == pytest.approx([0.455, 0.12, 0.7825])
    assert accounts.health_scale is HealthScale.PERCENT
    assert accounts.ids.tolist() == ["0012345678", "0098765432", "0011112222"]
    assert accounts.issues == []


def test_currency_and_percent_strings_with_missing_adoption_reported(data_dir: Path):
    """../shared/data/cases/C7_currency_percent.csv, whole file."""
    accounts, settings = accounts_from(data_dir / "cases" / "C7_currency_percent.csv")
    portfolio = score_portfolio(accounts, settings)

    assert accounts.revenue.tolist() == [1250000.0, 98000.0, -5000.0, 310500.75]
    assert accounts.health[:2].tolist() == [0.45, 0.125]
    assert np.isnan(accounts.health[2:]).all()
    assert portfolio.quadrants.tolist()[2:] == ["UNSCORED", "UNSCORED"]
    problems = {(issue.row, issue.column): issue.problem for issue in accounts.issues}
    assert (4, "Adoption Rate") in problems and (5, "Adoption Rate") in problems
    assert problems[(4, "ARR")] == "ARR is negative (-5,000.00)"


def test_missing_health_is_never_read_as_zero(tmp_path: Path):
    path = write(tmp_path, "Account,ARR,Adoption\nA,100,\nB,200,0.4\nC,300,0.9\n")
    accounts, settings = accounts_from(path)

    portfolio = score_portfolio(accounts, settings)

    assert portfolio.quadrants[0] == "UNSCORED"
    assert accounts.issues[0].row == 2
    assert accounts.issues[0].action.startswith("left UNSCORED")


def test_unreadable_revenue_keeps_its_text_in_the_accounts_table(tmp_path: Path):
    path = write(tmp_path, "Account,ARR,Adoption\nA,lots,0.5\nB,200,0.4\n")

    accounts, _ = accounts_from(path)

    assert accounts.frame["ARR"].tolist() == ["lots", 200.0]
    assert accounts.issues[0].value == "lots"
    assert "is not a number" in accounts.issues[0].problem


def test_duplicate_account_ids_are_reported_with_the_first_row(tmp_path: Path):
    path = write(
        tmp_path,
        "Account ID,Account,ARR,Adoption\n7,A,1,0.1\n8,B,2,0.2\n7,C,3,0.3\n",
    )

    accounts, _ = accounts_from(path)

    (issue,) = accounts.issues
    assert issue.row == 4
    assert issue.problem == "Account ID '7' appears again (first on row 2)"
    assert len(accounts) == 3


def test_known_column_names_are_found_ignoring_case_and_spaces(tmp_path: Path):
    path = write(
        tmp_path,
        "ACCOUNT NAME,annual_recurring_revenue,Health Score,Customer Success Manager\n"
        "A,100,80,Ana\n",
    )

    accounts, _ = accounts_from(path)

    assert accounts.revenue_column == "annual_recurring_revenue"
    assert accounts.health_column == "Health Score"
    assert accounts.name_column == "ACCOUNT NAME"
    assert accounts.csm_column == "Customer Success Manager"
    assert accounts.health_scale is HealthScale.NUMBER


def test_no_revenue_column_names_the_flag_to_use(tmp_path: Path):
    path = write(tmp_path, "Account,Money,Adoption\nA,1,0.5\n")

    with pytest.raises(ColumnNotFound) as raised:
        accounts_from(path)

    assert (
        raised.value.message == "export.csv: no column looks like the revenue metric."
    )
    assert raised.value.hint.startswith("Name it with --revenue COLUMN")


def test_header_only_export_is_refused(tmp_path: Path):
    path = write(tmp_path, "Account,ARR,Adoption\n")

    with pytest.raises(InputError, match="has no accounts"):
        accounts_from(path)


def test_percent_scale_reads_plain_numbers_and_threshold_as_percent(tmp_path: Path):
    path = write(tmp_path, "Account,ARR,Usage\nA,100,50\nB,100,49.9\nC,100,60%\n")
    accounts, settings = accounts_from(
        path, health_scale="percent", health_threshold="50", revenue_threshold="100"
    )

    portfolio = score_portfolio(accounts, settings)

    assert accounts.health == pytest.approx([0.5, 0.499, 0.6])
    assert portfolio.quadrants.tolist() == ["TIER 1", "INVEST", "TIER 1"]


def test_fraction_scale_flags_values_above_one(tmp_path: Path):
    path = write(tmp_path, "Account,ARR,Adoption\nA,100,0.5\nB,100,45\n")

    accounts, _ = accounts_from(path, health_scale="fraction")

    assert np.isnan(accounts.health[1])
    assert "outside 0–100% for a fraction" in accounts.issues[0].problem


def test_extra_columns_keep_leading_zero_codes_as_text(tmp_path: Path):
    path = write(
        tmp_path, "Account,ARR,Adoption,Zip,Seats\nA,1,0.1,02134,5\nB,2,0.2,10001,7\n"
    )

    accounts, _ = accounts_from(path)

    assert accounts.frame["Zip"].tolist() == ["02134", "10001"]
    assert accounts.frame["Seats"].tolist() == [5.0, 7.0]


def test_report_title_lines_above_the_header_are_skipped(tmp_path: Path):
    path = write(
        tmp_path,
        "My accounts report\nGenerated 2026-01-01\n\n"
        "Account Name,ARR,Adoption\nAcme,100,0.4\nBeta,200,0.6\n",
    )

    accounts, _ = accounts_from(path)

    assert accounts.names.tolist() == ["Acme", "Beta"]
    assert accounts.rows.tolist() == [5, 6]


def test_totals_and_end_notes_are_left_out_and_reported(tmp_path: Path):
    path = write(
        tmp_path,
        "Account Name,ARR,Adoption\nAcme,100,0.4\nTotal Consulting,300,0.5\n"
        "Beta,200,0.6\nGrand Totals (3 records),600,\n\n"
        "Confidential Information - Do Not Distribute\n",
    )

    accounts, _ = accounts_from(path)

    assert accounts.names.tolist() == ["Acme", "Total Consulting", "Beta"]
    assert accounts.revenue.sum() == 600
    left_out = [(issue.row, issue.value) for issue in accounts.issues]
    assert left_out == [
        (5, "Grand Totals (3 records)"),
        (7, "Confidential Information - Do Not Distribute"),
    ]


@pytest.mark.parametrize(
    ("headers", "revenue", "health"),
    [
        (
            "Account,Annual Recurring Revenue (ARR),Health Score (0-100)",
            "Annual Recurring Revenue (ARR)",
            "Health Score (0-100)",
        ),
        ("Account,ARR ($),Product Adoption Rate", "ARR ($)", "Product Adoption Rate"),
        ("Account,Carrier,Paid,ARR,Adoption", "ARR", "Adoption"),
    ],
)
def test_headers_with_units_and_words_around_known_names_are_found(
    tmp_path: Path, headers: str, revenue: str, health: str
):
    width = headers.count(",")
    path = write(tmp_path, headers + "\n" + ",".join(["A"] + ["1"] * width) + "\n")

    accounts, _ = accounts_from(path)

    assert (accounts.revenue_column, accounts.health_column) == (revenue, health)


def test_a_text_column_chosen_as_revenue_is_refused(data_dir: Path):
    with pytest.raises(InputError) as raised:
        accounts_from(
            data_dir / "maven_crm_accounts.csv", revenue="sector", health="employees"
        )

    assert raised.value.message == (
        "maven_crm_accounts.csv: column 'sector' holds no numbers, so it cannot be "
        "the revenue metric."
    )
    assert raised.value.hint == "Name the right column with --revenue COLUMN."


def test_negative_revenue_issue_shows_the_value_as_exported(data_dir: Path):
    accounts, _ = accounts_from(data_dir / "cases" / "C7_currency_percent.csv")

    (negative,) = [i for i in accounts.issues if "negative" in i.problem]
    assert negative.value == "($5,000.00)"
