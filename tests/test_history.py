"""Snapshots and the quarterly history.

The three quarters in ``tests/data/quarters/`` are a 25-company slice of
``../shared/data/maven_crm_accounts.csv`` (Maven Analytics "CRM Sales Opportunities",
kisaraF/CRM-Sales_Analysis; companies at rows 1-25 of the file, MD5
798e794104e6d492d5d91b7588d97498). Account ID is ``MV-`` and the company's row in that
file; ARR is the company's revenue (USD millions) × 250, rounded to the dollar;
Sector is the file's own. CSMs, adoption rates and the quarter-to-quarter changes
(revenue changes, accounts added and lost, moves in every direction) were made up
for these tests and are listed in ``tests/data/quarters/README.md``.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest
from quarters import build_history, load_quarter

from xlapm.core.history import (
    HISTORY_COLUMNS,
    empty_history,
    match_keys,
    merge_history,
    parse_quarter,
    quarter_of,
    quarters,
    read_history,
    take_snapshot,
)
from xlapm.core.settings import Settings
from xlapm.errors import InputError


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return build_history()


def sheet_values(history: pd.DataFrame) -> list[list[object]]:
    """The history as a sheet holds it: a header row, then values, None for blank."""
    cells = history.astype(object).where(history.notna(), None)
    return [list(HISTORY_COLUMNS), *cells.values.tolist()]


def row_of(history: pd.DataFrame, quarter: str, account: str) -> dict:
    found = history[(history["Quarter"] == quarter) & (history["Account"] == account)]
    assert len(found) == 1
    return found.iloc[0].to_dict()


def test_a_snapshot_holds_each_account_with_its_quadrant_and_thresholds():
    snapshot = take_snapshot(load_quarter("2024Q4"), "2024Q4")

    assert list(snapshot.columns) == list(HISTORY_COLUMNS)
    assert len(snapshot) == 22
    assert row_of(snapshot, "2024Q4", "Acme Corporation") == {
        "Quarter": "2024Q4",
        "Account ID": "MV-0001",
        "Account": "Acme Corporation",
        "CSM": "Ana Lee",
        "Revenue": 240_000.0,
        "Health": 0.74,
        "Quadrant": "MAINTAIN",
        "Segment": "Enterprise",
        "Revenue threshold": 250_000.0,
        "Health threshold": 0.5,
    }


def test_a_snapshot_keeps_blanks_as_none_and_unscored_accounts():
    snapshot = take_snapshot(load_quarter("2024Q4"), "2024Q4")

    nobody = row_of(snapshot, "2024Q4", "Fasehatice")
    unscored = row_of(snapshot, "2024Q4", "Dalttechnology")
    assert nobody["CSM"] is None
    assert unscored["Quadrant"] == "UNSCORED"
    assert np.isnan(unscored["Health"])
    assert unscored["Revenue"] == 24_698.0


def test_a_snapshot_records_a_segments_own_threshold():
    settings = Settings(
        revenue_threshold=250_000,
        health_threshold=0.5,
        segment_thresholds={"Strategic": {"revenue": 1_100_000}},
    )
    snapshot = take_snapshot(load_quarter("2024Q4", settings), "2024Q4")

    assert row_of(snapshot, "2024Q4", "Cheers")["Revenue threshold"] == 1_100_000
    assert row_of(snapshot, "2024Q4", "Cheers")["Quadrant"] == "MAINTAIN"
    assert row_of(snapshot, "2024Q4", "Bubba Gump")["Revenue threshold"] == 250_000


def test_taking_the_same_quarter_twice_gives_the_same_rows(history: pd.DataFrame):
    again = take_snapshot(load_quarter("2024Q3"), "2024Q3")

    once = merge_history(history, again)
    twice = merge_history(once, again)

    pd.testing.assert_frame_equal(once, history)
    pd.testing.assert_frame_equal(twice, history)


def test_a_retaken_quarter_replaces_only_its_own_rows(history: pd.DataFrame):
    portfolio = load_quarter("2024Q3")
    changed = take_snapshot(portfolio, "2024Q3").iloc[:5]

    merged = merge_history(history, changed)

    assert (merged["Quarter"] == "2024Q3").sum() == 5
    for quarter in ("2024Q2", "2024Q4"):
        pd.testing.assert_frame_equal(
            merged[merged["Quarter"] == quarter].reset_index(drop=True),
            history[history["Quarter"] == quarter].reset_index(drop=True),
        )


def test_quarters_are_kept_oldest_first_whatever_the_order_taken():
    late = take_snapshot(load_quarter("2024Q4"), "2024Q4")
    early = take_snapshot(load_quarter("2024Q2"), "2024Q2")

    merged = merge_history(merge_history(None, late), early)

    assert quarters(merged) == ["2024Q2", "2024Q4"]
    assert merged["Quarter"].tolist() == ["2024Q2"] * 22 + ["2024Q4"] * 22


def test_merge_refuses_a_snapshot_of_several_quarters(history: pd.DataFrame):
    with pytest.raises(InputError) as raised:
        merge_history(empty_history(), history)

    assert str(raised.value) == (
        "A snapshot holds one quarter; this one holds 3: 2024Q2, 2024Q3, 2024Q4."
    )


@pytest.mark.parametrize(
    ("text", "quarter"),
    [
        ("2024Q4", "2024Q4"),
        ("2024q1", "2024Q1"),
        (" 2024-Q2 ", "2024Q2"),
        ("2024 Q3", "2024Q3"),
        ("Q4 2024", "2024Q4"),
        ("q1-2025", "2025Q1"),
    ],
)
def test_quarter_spellings(text: str, quarter: str):
    assert parse_quarter(text) == quarter


@pytest.mark.parametrize("text", ["2024Q5", "2024Q0", "Q4", "24Q4", "", "2024", None])
def test_a_quarter_that_is_not_one_is_refused(text: object):
    with pytest.raises(InputError) as raised:
        parse_quarter(text)

    assert str(raised.value) == f"Quarter {text!r} is not a quarter like 2024Q4."
    assert raised.value.hint == (
        "Give the year, the letter Q and the quarter number: 2024Q4."
    )


def test_take_snapshot_refuses_a_bad_quarter():
    with pytest.raises(InputError, match="'2024Q7' is not a quarter"):
        take_snapshot(load_quarter("2024Q4"), "2024Q7")


def test_quarter_of_a_date():
    assert quarter_of(datetime.date(2025, 1, 1)) == "2025Q1"
    assert quarter_of(datetime.date(2024, 9, 30)) == "2024Q3"


def test_a_history_reads_back_from_its_sheet_values(history: pd.DataFrame):
    read = read_history(sheet_values(history))

    pd.testing.assert_frame_equal(read, history)


def test_read_history_takes_cells_as_people_leave_them():
    rows = [
        ["quarter", "account id", "ACCOUNT", "Quadrant", "Revenue", "Notes"],
        ["2024 Q4", 12345.0, "Acme", "TIER 1", "$1,250,000", "renewal in May"],
        [None, None, None, None, None, None],
        ["Q4 2024", "  0042 ", " Betatech ", "RAMP", None, None],
    ]

    read = read_history(rows)

    assert read["Quarter"].tolist() == ["2024Q4", "2024Q4"]
    assert read["Account ID"].tolist() == ["12345", "0042"]
    assert read["Account"].tolist() == ["Acme", "Betatech"]
    assert read["Revenue"].iloc[0] == 1_250_000
    assert np.isnan(read["Revenue"].iloc[1])
    assert read["CSM"].tolist() == [None, None]
    assert list(read.columns) == list(HISTORY_COLUMNS)


def test_an_empty_sheet_is_an_empty_history():
    assert read_history([]).empty
    assert read_history([[None, None], ["", " "]]).empty
    assert list(read_history([]).columns) == list(HISTORY_COLUMNS)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            ["2024Q7", "Acme", "TIER 1", 10],
            "History row 4, column Quarter: '2024Q7' is not a quarter like 2024Q4.",
        ),
        (
            ["2024Q4", "Acme", None, 10],
            "History row 4, column Quadrant: the quadrant is blank.",
        ),
        (
            ["2024Q4", "Acme", "TIER 1", "lots"],
            "History row 4, column Revenue: 'lots' is not a number.",
        ),
    ],
)
def test_a_bad_history_row_is_named_with_its_sheet_row(row: list, message: str):
    rows = [
        ["Quarter", "Account", "Quadrant", "Revenue"],
        ["2024Q4", "Betatech", "RAMP", 5],
        [None, None, None, None],
        row,
    ]

    with pytest.raises(InputError) as raised:
        read_history(rows)

    assert str(raised.value) == message
    assert raised.value.hint == "Fix that cell in the history sheet, or delete the row."


def test_read_history_needs_quarter_account_and_quadrant():
    with pytest.raises(InputError) as raised:
        read_history([["Quarter", "Account ID", "Revenue"], ["2024Q4", "A1", 5]])

    assert str(raised.value) == "The history has no Account, Quadrant column."


def test_accounts_are_matched_by_id(history: pd.DataFrame):
    keys, warning = match_keys(history, ["2024Q3", "2024Q4"])

    assert warning is None
    assert keys.iloc[0] == "id:MV-0001#0"


def test_accounts_are_matched_by_name_when_a_quarter_has_no_ids(
    history: pd.DataFrame,
):
    no_ids = history.copy()
    no_ids.loc[no_ids["Quarter"] == "2024Q4", "Account ID"] = None
    no_ids.loc[no_ids["Account"] == "Acme Corporation", "Account"] = "ACME  corporation"

    keys, warning = match_keys(no_ids, ["2024Q3", "2024Q4"])

    assert warning == (
        "Accounts were matched by name because 2024Q4 has no account IDs; "
        "a renamed account shows as LOST and NEW."
    )
    acme = keys[no_ids.loc[keys.index, "Account"].str.casefold().str.startswith("acme")]
    assert set(acme) == {"name:acme corporation#0"}


def test_an_account_listed_twice_is_matched_in_order():
    rows = [
        ["Quarter", "Account ID", "Account", "Quadrant"],
        ["2024Q3", "A1", "Acme", "RAMP"],
        ["2024Q3", "A1", "Acme (copy)", "TIER 1"],
        ["2024Q4", "A1", "Acme", "MAINTAIN"],
    ]

    keys, _ = match_keys(read_history(rows), ["2024Q3", "2024Q4"])

    assert keys.tolist() == ["id:A1#0", "id:A1#1", "id:A1#0"]
