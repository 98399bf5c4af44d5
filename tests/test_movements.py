"""Movements between quarters, checked against tables worked out by hand.

Data: the three quarters in ``tests/data/quarters/``, a 25-company slice of
``../shared/data/maven_crm_accounts.csv`` (Maven Analytics "CRM Sales Opportunities",
kisaraF/CRM-Sales_Analysis); ``tests/data/quarters/README.md`` lists every account's
quadrant per quarter, from which the tables below were counted.
"""

from __future__ import annotations

import pandas as pd
import pytest
from quarters import SETTINGS, build_history

from xlapm.core.movements import (
    DIRECTION,
    MOVE,
    Movements,
    compare_quarters,
    direction,
    move_label,
)
from xlapm.core.settings import Settings
from xlapm.errors import InputError

ROWS = ["TIER 1", "INVEST", "RAMP", "MAINTAIN", "UNSCORED", "NEW"]
COLUMNS = ["TIER 1", "INVEST", "RAMP", "MAINTAIN", "UNSCORED", "LOST"]


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return build_history()


@pytest.fixture(scope="module")
def latest(history: pd.DataFrame) -> Movements:
    return compare_quarters(history, settings=SETTINGS)


def table(rows: list[list[int]]) -> pd.DataFrame:
    expected = pd.DataFrame(rows, index=ROWS, columns=COLUMNS)
    expected.index.name, expected.columns.name = "From", "To"
    return expected


def test_the_default_is_the_last_two_quarters(latest: Movements):
    assert (latest.previous_quarter, latest.current_quarter) == ("2024Q3", "2024Q4")
    assert latest.warning is None


def test_counts_from_2024q3_to_2024q4_match_the_hand_count(latest: Movements):
    expected = table(
        [
            # TIER 1, INVEST, RAMP, MAINTAIN, UNSCORED, LOST
            [2, 1, 0, 1, 0, 0],  # TIER 1: Cheers, Dontechi stay; Conecom; Acme
            [1, 4, 1, 1, 0, 0],  # INVEST: Bluth up; 4 stay; Donware; Donquadtech
            [0, 1, 1, 1, 1, 1],  # RAMP: Bubba Gump; Bioplex; Betasoloin; Dalt.; Condax
            [0, 1, 2, 2, 0, 1],  # MAINTAIN: Doncon; Blackzim, Cancity; 2 stay; Domzoom
            [0, 0, 0, 0, 0, 0],  # UNSCORED
            [1, 1, 0, 0, 0, 0],  # NEW: Finhigh, Finjob
        ]
    )

    pd.testing.assert_frame_equal(latest.counts, expected)


def test_counts_from_2024q2_to_2024q3_match_the_hand_count(history: pd.DataFrame):
    earlier = compare_quarters(history, "2024Q2", "2024Q3", SETTINGS)

    expected = table(
        [
            [4, 2, 0, 0, 0, 1],  # dambase, Donquadtech slip; Funholding lost
            [0, 4, 0, 0, 0, 0],
            [0, 0, 4, 0, 0, 0],
            [0, 0, 1, 6, 0, 0],  # Dalttechnology falls to RAMP
            [0, 0, 0, 0, 0, 0],
            [0, 1, 0, 0, 0, 0],  # Fasehatice
        ]
    )
    pd.testing.assert_frame_equal(earlier.counts, expected)


def test_rows_add_up_to_the_earlier_quarter_and_columns_to_the_later(
    latest: Movements,
):
    counts = latest.counts

    assert counts.drop(index="NEW").to_numpy().sum() == 22
    assert counts.drop(columns="LOST").to_numpy().sum() == 22
    assert counts.loc["MAINTAIN"].sum() == 6
    assert counts["INVEST"].sum() == 8


def test_revenue_per_cell(latest: Movements):
    revenue = latest.revenue

    assert revenue.loc["TIER 1", "TIER 1"] == 1_067_475 + 1_154_500
    assert revenue.loc["TIER 1", "MAINTAIN"] == 240_000  # Acme, after its fall
    assert revenue.loc["RAMP", "LOST"] == 1_135  # Condax, as it was
    assert revenue.loc["MAINTAIN", "LOST"] == 54_468  # Domzoom
    assert revenue.loc["NEW", "INVEST"] == 514_975  # Finjob
    assert revenue.loc["RAMP", "UNSCORED"] == 24_698
    assert revenue.loc["INVEST", "RAMP"] == 200_000  # Donware


def test_every_account_gets_its_move(latest: Movements):
    moves = latest.accounts.set_index("Account")[[MOVE, DIRECTION]]

    assert moves.loc["Bluth Company"].tolist() == ["▲ INVEST → TIER 1", "up"]
    assert moves.loc["Betasoloin"].tolist() == ["▲ RAMP → MAINTAIN", "up"]
    assert moves.loc["Bubba Gump"].tolist() == ["▲ RAMP → INVEST", "up"]
    assert moves.loc["Acme Corporation"].tolist() == ["▼ TIER 1 → MAINTAIN", "down"]
    assert moves.loc["Conecom"].tolist() == ["▼ TIER 1 → INVEST", "down"]
    assert moves.loc["Donware"].tolist() == ["▼ INVEST → RAMP", "down"]
    assert moves.loc["Doncon"].tolist() == ["► MAINTAIN → INVEST", "sideways"]
    assert moves.loc["Donquadtech"].tolist() == ["► INVEST → MAINTAIN", "sideways"]
    assert moves.loc["Dalttechnology"].tolist() == ["? RAMP → UNSCORED", "unscored"]
    assert moves.loc["Finhigh"].tolist() == ["NEW", "new"]
    assert moves.loc["Condax"].tolist() == ["LOST", "lost"]
    assert moves.loc["Cheers"].tolist() == ["= TIER 1", "same"]


def test_changed_new_and_lost_accounts(latest: Movements):
    assert set(latest.changed()["Account"]) == {
        "Bluth Company",
        "Betasoloin",
        "Bubba Gump",
        "Acme Corporation",
        "Conecom",
        "Donware",
        "Blackzim",
        "Cancity",
        "Doncon",
        "Donquadtech",
        "Dalttechnology",
    }
    assert set(latest.new()["Account"]) == {"Finhigh", "Finjob"}
    assert set(latest.lost()["Account"]) == {"Condax", "Domzoom"}
    assert latest.describe() == "3 up, 5 down, 2 sideways, 1 unscored, 2 new, 2 lost"


def test_the_list_starts_with_the_down_moves_by_revenue(latest: Movements):
    listed = latest.accounts["Account"].tolist()

    assert listed[:5] == [
        "Conecom",
        "Acme Corporation",
        "Donware",
        "Cancity",
        "Blackzim",
    ]


def test_a_lost_account_keeps_its_last_values(latest: Movements):
    condax = latest.accounts.set_index("Account").loc["Condax"]

    assert condax["Account ID"] == "MV-0012"
    assert condax["CSM"] == "Ana Lee"
    assert condax["From"] == "RAMP"
    assert condax["To"] is None
    assert condax["Previous revenue"] == 1_135


def test_one_quarter_is_not_enough(history: pd.DataFrame):
    only = history[history["Quarter"] == "2024Q4"]

    with pytest.raises(InputError) as raised:
        compare_quarters(only)

    assert str(raised.value) == "Movements need two quarters; the history holds 2024Q4."


@pytest.mark.parametrize(
    ("previous", "current", "message"),
    [
        (
            "2023Q4",
            None,
            "The history has no quarter 2023Q4; it holds 2024Q2, 2024Q3, 2024Q4.",
        ),
        ("2024Q4", "2024Q2", "Quarter 2024Q4 must come before 2024Q2 to compare them."),
        (
            None,
            "2024Q2",
            "Movements need two quarters; the history holds 2024Q2, 2024Q3, 2024Q4.",
        ),
    ],
)
def test_quarters_that_cannot_be_compared(
    history: pd.DataFrame, previous: str | None, current: str | None, message: str
):
    with pytest.raises(InputError) as raised:
        compare_quarters(history, previous, current)

    assert str(raised.value) == message


def test_given_quarters_may_skip_one(history: pd.DataFrame):
    moved = compare_quarters(history, "2024Q2", "2024Q4", SETTINGS)

    acme = moved.accounts.set_index("Account").loc["Acme Corporation"]
    assert acme[MOVE] == "▼ TIER 1 → MAINTAIN"
    assert set(moved.new()["Account"]) == {"Fasehatice", "Finhigh", "Finjob"}


def test_a_history_without_ids_is_matched_by_name_with_a_warning(
    history: pd.DataFrame,
):
    no_ids = history.assign(**{"Account ID": None})

    moved = compare_quarters(no_ids, settings=SETTINGS)

    assert moved.warning is not None
    assert moved.warning.startswith("Accounts were matched by name because 2024Q3, ")
    pd.testing.assert_frame_equal(
        moved.counts, compare_quarters(history, settings=SETTINGS).counts
    )


@pytest.mark.parametrize(
    ("previous", "current", "label", "way"),
    [
        ("INVEST", "TIER 1", "▲ INVEST → TIER 1", "up"),
        ("RAMP", "MAINTAIN", "▲ RAMP → MAINTAIN", "up"),
        ("RAMP", "INVEST", "▲ RAMP → INVEST", "up"),
        ("MAINTAIN", "TIER 1", "▲ MAINTAIN → TIER 1", "up"),
        ("RAMP", "TIER 1", "▲ RAMP → TIER 1", "up"),
        ("TIER 1", "MAINTAIN", "▼ TIER 1 → MAINTAIN", "down"),
        ("TIER 1", "INVEST", "▼ TIER 1 → INVEST", "down"),
        ("INVEST", "RAMP", "▼ INVEST → RAMP", "down"),
        ("TIER 1", "RAMP", "▼ TIER 1 → RAMP", "down"),
        ("MAINTAIN", "INVEST", "► MAINTAIN → INVEST", "sideways"),
        ("INVEST", "MAINTAIN", "► INVEST → MAINTAIN", "sideways"),
        ("TIER 1", "TIER 1", "= TIER 1", "same"),
        (" tier 1 ", "Tier 1", "= TIER 1", "same"),
        ("invest", "tier 1", "▲ INVEST → TIER 1", "up"),
        ("UNSCORED", "RAMP", "? UNSCORED → RAMP", "unscored"),
        ("TIER 1", "unscored", "? TIER 1 → UNSCORED", "unscored"),
        ("UNSCORED", "UNSCORED", "= UNSCORED", "same"),
        (None, "TIER 1", "NEW", "new"),
        ("", "RAMP", "NEW", "new"),
        ("MAINTAIN", None, "LOST", "lost"),
        ("MAINTAIN", "  ", "LOST", "lost"),
        (None, None, "", "same"),
    ],
)
def test_move_label(previous: str | None, current: str | None, label: str, way: str):
    assert move_label(previous, current) == label
    assert direction(previous, current) == way


def test_move_label_uses_the_teams_quadrant_names():
    renamed = Settings.model_validate(
        {
            "quadrants": {
                **{key: q.model_dump() for key, q in Settings().quadrants.items()},
                "tier1": {**Settings().quadrants["tier1"].model_dump(), "name": "Core"},
            }
        }
    )

    assert move_label("invest", "core", renamed) == "▲ INVEST → Core"
    assert move_label("Core", "TIER 1", renamed) == "? Core → TIER 1"
