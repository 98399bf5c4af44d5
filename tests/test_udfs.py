"""The Excel formulas, called as Excel calls them: cells, blocks, blanks and errors."""

from __future__ import annotations

import datetime
import random
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from xlapm import udfs
from xlapm.core.classify import quadrant_key
from xlapm.core.settings import QUADRANT_KEYS, UNSCORED, Settings
from xlapm.core.values import BLANK, parse_number
from xlapm.udfs import APM_PLAYBOOK, APM_SEGMENT, APM_THRESHOLD, APM_TIER

NAMES = dict(zip(QUADRANT_KEYS, Settings().quadrant_names(), strict=True))
REVENUE_LIMIT = 100_000.0
HEALTH_LIMIT = 0.5


@pytest.fixture(autouse=True)
def book(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The calling workbook's named cells and tables; empty means no workbook."""
    cells: dict[str, Any] = {}

    def read(caller: Any, names: Any, tables: Any = ()) -> dict[str, Any]:
        wanted = [*names, *tables]
        return {name: cells[name] for name in wanted if name in cells}

    monkeypatch.setattr(udfs, "read_caller_book", read)
    return cells


def expected_tier(revenue: Any, health: Any, rt: Any, ht: Any) -> str:
    """What the core says for one account, in the words a cell shows."""
    readings = {
        "revenue": parse_number(revenue),
        "health": parse_number(health),
        "revenue threshold": parse_number(rt),
        "health threshold": parse_number(ht),
    }
    if readings["revenue"].problem == readings["health"].problem == "is blank":
        return ""
    for label, reading in readings.items():
        if reading.number is None:
            return f"{UNSCORED}: {label} {reading.problem}"
    health_value = readings["health"].number
    if not 0 <= health_value <= 1:
        return f"{UNSCORED}: health is outside 0–100% for a fraction health scale"
    key = quadrant_key(
        readings["revenue"].number,
        health_value,
        readings["revenue threshold"].number,
        readings["health threshold"].number,
    )
    return NAMES[key]


EDGE = np.nextafter
CASES = [
    (250_000.0, 0.8),
    (250_000.0, 0.2),
    (5_000.0, 0.2),
    (5_000.0, 0.8),
    (REVENUE_LIMIT, HEALTH_LIMIT),
    (EDGE(REVENUE_LIMIT, 0), HEALTH_LIMIT),
    (EDGE(REVENUE_LIMIT, np.inf), HEALTH_LIMIT),
    (REVENUE_LIMIT, EDGE(HEALTH_LIMIT, 0)),
    (REVENUE_LIMIT, EDGE(HEALTH_LIMIT, 1)),
    (EDGE(REVENUE_LIMIT, 0), EDGE(HEALTH_LIMIT, 0)),
    (100_000, 1),
    (0, 0),
    (-5.0, 0.9),
    ("120,000", "45%"),
    ("$250,000", "80 %"),
    ("100000", "0.5"),
    (None, None),
    ("", "  "),
    (None, 0.7),
    (250_000.0, None),
    ("#N/A", 0.7),
    (250_000.0, "#DIV/0!"),
    ("#VALUE!", "#REF!"),
    (True, 0.7),
    (250_000.0, False),
    ("n/a", 0.7),
    ("1.2M", 0.7),
    ("lots", 0.7),
    (250_000.0, 1.5),
    (250_000.0, "150%"),
    (250_000.0, -0.1),
    (float("nan"), 0.7),
    (float("inf"), 0.7),
]


@pytest.mark.parametrize(("revenue", "health"), CASES)
def test_one_cell_agrees_with_the_core(revenue: Any, health: Any) -> None:
    shown = APM_TIER(revenue, health, REVENUE_LIMIT, HEALTH_LIMIT)

    expected = expected_tier(revenue, health, REVENUE_LIMIT, HEALTH_LIMIT)
    assert shown.startswith(expected) and (shown == expected or UNSCORED in shown)


def test_a_column_equals_its_cells_one_by_one() -> None:
    revenue = [[case[0]] for case in CASES]
    health = [[case[1]] for case in CASES]

    column = APM_TIER(revenue, health, REVENUE_LIMIT, HEALTH_LIMIT)

    one_by_one = [APM_TIER(r[0], h[0], REVENUE_LIMIT, HEALTH_LIMIT) for r, h in zip(
        revenue, health, strict=True
    )]  # fmt: skip
    assert [row[0] for row in column] == one_by_one
    assert len(column) == len(CASES) and all(len(row) == 1 for row in column)


def test_a_block_keeps_its_shape() -> None:
    revenue = [[250_000.0, 5_000.0, None], [250_000.0, "#N/A", 5_000.0]]
    health = [[0.8, 0.8, None], [0.2, 0.8, 0.2]]

    block = APM_TIER(revenue, health, REVENUE_LIMIT, HEALTH_LIMIT)

    assert [list(row) for row in block] == [
        ["TIER 1", "MAINTAIN", ""],
        ["INVEST", "UNSCORED: revenue is an Excel error (#N/A)", "RAMP"],
    ]


def test_a_column_of_plain_numbers_takes_the_fast_path_and_agrees() -> None:
    generator = np.random.default_rng(7)
    revenue = generator.uniform(0, 2 * REVENUE_LIMIT, 2_000)
    health = generator.uniform(0, 1, 2_000)
    revenue[:3], health[3:6] = REVENUE_LIMIT, HEALTH_LIMIT

    column = APM_TIER(
        [[value] for value in revenue.tolist()],
        [[value] for value in health.tolist()],
        REVENUE_LIMIT,
        HEALTH_LIMIT,
    )

    expected = [
        NAMES[quadrant_key(r, h, REVENUE_LIMIT, HEALTH_LIMIT)]
        for r, h in zip(revenue.tolist(), health.tolist(), strict=True)
    ]
    assert [row[0] for row in column] == expected


# Cells pandas and numpy read in one go: floats, ints, None, NaN, infinities.
PLAIN_CELLS = [250_000.0, 0, -5, 10**20, None, float("nan"), float("inf"), -1e300, 7]
# And the cells only the core reads: text, TRUE/FALSE, numpy scalars, dates...
OTHER_CELLS = [
    "120,000", "45%", "#N/A", "", "  ", "n/a", "1.2M", "lots", True, False,
    np.float64(3.5), np.int64(4), np.float64("nan"), np.bool_(True), pd.NA,
    10**400, datetime.date(2026, 1, 1), "$250,000", "(5)", "inf", "nan",
]  # fmt: skip


def core_readings(cells: list[Any]) -> list[tuple[Any, ...]]:
    """What ``parse_number`` says of each cell: number, percent, problem, blank."""
    readings = map(parse_number, cells)
    return [(r.number, r.percent, r.problem, r.problem == BLANK) for r in readings]


def metric_readings(metric: Any) -> list[tuple[Any, ...]]:
    """The same for the arrays of a column read at once; NaN is None there."""
    return [
        (None if value != value else value, percent, problem, blank)
        for value, percent, problem, blank in zip(
            metric.values.tolist(),
            metric.percent.tolist(),
            metric.problems.tolist(),
            metric.blank.tolist(),
            strict=True,
        )
    ]


def shuffled(cells: list[Any], copies: int) -> list[Any]:
    """``copies`` of ``cells`` in a fixed random order."""
    many = cells * copies
    random.Random(3).shuffle(many)
    return many


def test_plain_numbers_read_alike_on_the_fast_and_the_careful_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cells = shuffled(PLAIN_CELLS, 50)
    careful = udfs._Metric._of_mixed(cells, np.array(cells, dtype=object))

    def refuse(*_: Any) -> None:
        raise AssertionError("plain numbers left the fast path")

    monkeypatch.setattr(udfs._Metric, "_of_mixed", classmethod(refuse))
    fast = udfs._Metric.of_cells(cells)

    assert metric_readings(fast) == metric_readings(careful) == core_readings(cells)


@pytest.mark.parametrize(
    "cells",
    [
        shuffled(PLAIN_CELLS + OTHER_CELLS, 2),  # a few others: read one by one
        shuffled(PLAIN_CELLS + OTHER_CELLS, 20),  # many others: read as a column
        [1.0, 10**400, None],  # plain types, but one too large for a float
        [1.0, pd.NA, None, 2],  # pandas skips pd.NA when it looks at the types
        ["45%"] * 10,
    ],
    ids=["a few others", "many others", "huge integer", "pd.NA", "only text"],
)
def test_every_cell_of_a_column_reads_as_the_core_reads_it(cells: list[Any]) -> None:
    assert metric_readings(udfs._Metric.of_cells(cells)) == core_readings(cells)


def test_a_long_mixed_column_equals_its_cells_one_by_one() -> None:
    # Accounts in any order, then blank rows: a formula filled past the last one.
    generator = random.Random(5)
    pairs = [generator.choice(CASES) for _ in range(3_000)]
    pairs += [(None, None)] * 500

    column = APM_TIER(
        [[r] for r, _ in pairs], [[h] for _, h in pairs], REVENUE_LIMIT, HEALTH_LIMIT
    )

    assert column == [(APM_TIER(r, h, REVENUE_LIMIT, HEALTH_LIMIT),) for r, h in pairs]


@pytest.mark.parametrize("scale", ["fraction", "percent"])
@pytest.mark.parametrize("health", [0.7, 45, "45%", None, "#N/A", 1.5])
def test_one_health_cell_serves_every_row(
    book: dict[str, Any], scale: str, health: Any
) -> None:
    book["APM_HealthScale"] = scale
    revenue = [case[0] for case in CASES]
    thresholds = [("50%", 50, 0.5)[row % 3] for row in range(len(CASES))]

    column = APM_TIER(
        [[r] for r in revenue], health, REVENUE_LIMIT, [[t] for t in thresholds]
    )

    assert column == [
        (APM_TIER(r, health, REVENUE_LIMIT, t),)
        for r, t in zip(revenue, thresholds, strict=True)
    ]


def test_one_row_of_health_serves_every_row_of_a_block() -> None:
    revenue = [[250_000.0, 5_000.0, None], [5_000.0, "#N/A", 250_000.0]]
    health = [[0.8, "45%", None]]

    block = APM_TIER(revenue, health, REVENUE_LIMIT, HEALTH_LIMIT)

    assert block == [
        tuple(APM_TIER(r, h, REVENUE_LIMIT, HEALTH_LIMIT) for r, h in zip(
            row, health[0], strict=True
        ))
        for row in revenue
    ]  # fmt: skip


def test_blank_rows_stay_empty_even_without_thresholds() -> None:
    assert APM_TIER([[None]] * 3, [[""]] * 3) == [("",)] * 3


def test_a_column_reads_the_workbook_once(
    monkeypatch: pytest.MonkeyPatch, book: dict[str, Any]
) -> None:
    book.update(APM_RevenueThreshold=REVENUE_LIMIT, APM_HealthThreshold=HEALTH_LIMIT)
    calls = []
    read = udfs.read_caller_book

    def counted(*arguments: Any) -> dict[str, Any]:
        calls.append(arguments)
        return read(*arguments)

    monkeypatch.setattr(udfs, "read_caller_book", counted)
    column = APM_TIER([[250_000.0]] * 1_000, [[0.8]] * 1_000)

    assert column == [("TIER 1",)] * 1_000 and len(calls) == 1


def test_one_cell_given_as_a_block_is_one_value() -> None:
    # Excel's ndim=2 hands even a single cell over as [[value]].
    assert APM_TIER([[250_000.0]], [[0.8]], [[REVENUE_LIMIT]], [[0.5]]) == "TIER 1"


def test_numpy_arrays_work_like_lists() -> None:
    column = APM_TIER(
        np.array([[250_000.0], [5.0]]), np.array([[0.8], [0.8]]), 1e5, 0.5
    )

    assert column == [("TIER 1",), ("MAINTAIN",)]


def test_thresholds_per_row() -> None:
    column = APM_TIER([[50.0], [50.0]], [[0.5], [0.5]], [[10.0], [100.0]], "50%")

    assert column == [("TIER 1",), ("MAINTAIN",)]


def test_ranges_of_different_sizes_are_refused_in_words() -> None:
    shown = APM_TIER([[1.0], [2.0]], [[0.5], [0.5], [0.5]], 1, 1)

    assert shown == (
        "UNSCORED: the ranges have different sizes (revenue 2×1, health 3×1, "
        "revenue threshold 1×1, health threshold 1×1)"
    )


def test_ragged_rows_are_refused_in_words() -> None:
    shown = APM_TIER([[1.0, 2.0], [3.0]], [[0.5, 0.5], [0.5]], 1, 1)

    assert shown == "UNSCORED: a range has rows of different lengths"


@pytest.mark.parametrize("odd_row", [[2.0, 3.0], []])
def test_a_column_with_one_odd_row_is_refused_in_words(odd_row: list[Any]) -> None:
    revenue = [[1.0], [2.0], odd_row, [4.0]]

    shown = APM_TIER(revenue, [[0.5]] * 4, 1, 1)

    assert shown == "UNSCORED: a range has rows of different lengths"


def test_a_bad_threshold_is_named() -> None:
    assert (
        APM_TIER(5.0, 0.5, "soon", 0.5) == "UNSCORED: revenue threshold is not a number"
    )
    assert (
        APM_TIER([[5.0], [6.0]], [[0.5], [0.5]], "soon", 0.5)
        == [
            ("UNSCORED: revenue threshold is not a number",),
        ]
        * 2
    )


def test_thresholds_and_names_come_from_the_workbook(book: dict[str, Any]) -> None:
    book.update(
        APM_RevenueThreshold=REVENUE_LIMIT,
        APM_HealthThreshold=HEALTH_LIMIT,
        APM_Tier1Name="Champions",
        APM_RampName="  Scale  ",
        APM_InvestName="",
    )

    assert APM_TIER(REVENUE_LIMIT, HEALTH_LIMIT) == "Champions"
    assert APM_TIER(EDGE(REVENUE_LIMIT, 0), 0.1) == "Scale"
    assert APM_TIER(REVENUE_LIMIT, EDGE(HEALTH_LIMIT, 0)) == "INVEST"
    assert APM_TIER([[REVENUE_LIMIT], [1.0]], [[0.9], [0.1]]) == [
        ("Champions",),
        ("Scale",),
    ]


def test_a_given_threshold_beats_the_workbook(book: dict[str, Any]) -> None:
    book.update(APM_RevenueThreshold=1e9, APM_HealthThreshold=0.99)

    assert APM_TIER(200.0, 0.6, 100.0, 0.5) == "TIER 1"


def test_without_thresholds_anywhere_the_cell_says_so() -> None:
    # The default rule is the median, which one cell cannot compute.
    assert APM_TIER(5.0, 0.5) == (
        "UNSCORED: revenue threshold is not set yet (rebuild the matrix, or give one)"
    )
    assert APM_TIER([[5.0]] * 2, [[0.5]] * 2)[0][0].startswith(
        "UNSCORED: revenue threshold is not set yet"
    )


@pytest.mark.parametrize(
    ("health", "threshold", "expected"),
    [
        (45, 50, "INVEST"),
        (50, 50, "TIER 1"),
        ("50%", 50, "TIER 1"),
        (49.999, "50%", "INVEST"),
        (150, 50, "UNSCORED: health is outside 0–100% for a percent health scale"),
    ],
)
def test_percent_scale_reads_45_as_45_percent(
    book: dict[str, Any], health: Any, threshold: Any, expected: str
) -> None:
    book["APM_HealthScale"] = "percent"

    shown = APM_TIER(REVENUE_LIMIT, health, REVENUE_LIMIT, threshold)
    column = APM_TIER([[REVENUE_LIMIT]] * 2, [[health]] * 2, REVENUE_LIMIT, threshold)

    assert shown.startswith(expected)
    assert column == [(shown,)] * 2


def test_number_scale_keeps_scores_as_they_are(book: dict[str, Any]) -> None:
    book["APM_HealthScale"] = "number"

    assert APM_TIER(REVENUE_LIMIT, 72.0, REVENUE_LIMIT, 60) == "TIER 1"
    assert APM_TIER([[REVENUE_LIMIT]], [[59.0]], REVENUE_LIMIT, 60) == "INVEST"


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (None, "one-to-many: Monthly campaign"),
        ("approach", "one-to-many"),
        ("CADENCE", "Monthly campaign"),
        ("summary", "Low revenue, low health: boost adoption through programmes."),
    ],
)
def test_playbook_fields(field: Any, expected: str) -> None:
    assert APM_PLAYBOOK("RAMP", field) == expected
    assert APM_PLAYBOOK(" ramp ", field) == expected


def test_playbook_activities_fit_one_line() -> None:
    shown = APM_PLAYBOOK("MAINTAIN", "activities")

    assert shown == (
        "Watch usage reports and alert the CSM when usage declines; "
        "Self-serve training and e-mail campaigns"
    )


def test_playbook_of_a_column() -> None:
    column = APM_PLAYBOOK(
        [["TIER 1"], [None], ["UNSCORED: health is blank"], ["tier1"], [3.0]],
        "cadence",
    )

    assert column == [
        ("Every two weeks",),
        ("",),
        ("Fix the data to score this account",),
        ("Every two weeks",),
        ("No playbook for '3.0': give a quadrant name such as TIER 1",),
    ]


def test_playbook_refuses_an_unknown_field_in_words() -> None:
    assert APM_PLAYBOOK("RAMP", "colour") == (
        "APM_PLAYBOOK: field must be one of playbook, approach, activities, "
        "cadence, summary"
    )


def test_playbook_follows_the_workbook(book: dict[str, Any]) -> None:
    book["APM_Tier1Name"] = "Champions"
    book["Playbooks"] = [
        ["Quadrant", "Approach", "Summary", "Activities", "Cadence", "Colour"],
        ["Champions", "one-to-one", "Our best.", "Call\nVisit", "Daily", "#2E7D32"],
    ]

    assert APM_PLAYBOOK("champions", "cadence") == "Daily"
    assert APM_PLAYBOOK("Champions", "activities") == "Call; Visit"
    assert APM_PLAYBOOK("INVEST", "cadence") == "Weekly"
    assert APM_PLAYBOOK("TIER 1").startswith("No playbook for 'TIER 1'")


@pytest.mark.parametrize(
    ("revenue", "expected"),
    [
        (0, "Commercial"),
        (99_999.99, "Commercial"),
        (100_000, "Enterprise"),
        ("$1,000,000", "Strategic"),
        (-5, "Commercial"),
        (None, ""),
        ("#N/A", "UNSCORED: revenue is an Excel error (#N/A)"),
        (True, "UNSCORED: revenue is TRUE or FALSE, not a number"),
    ],
)
def test_segment(revenue: Any, expected: str) -> None:
    assert APM_SEGMENT(revenue) == expected
    assert APM_SEGMENT([[revenue], [revenue]]) == [(expected,), (expected,)]


def test_segment_bands_come_from_the_workbook(book: dict[str, Any]) -> None:
    book["APM_SegmentNames"] = ["Small", "Large", None]
    book["APM_SegmentMins"] = [0, 50_000, None]

    assert APM_SEGMENT(49_999) == "Small"
    assert APM_SEGMENT([[50_000]]) == "Large"


def test_segment_bands_that_do_not_rise_are_refused(book: dict[str, Any]) -> None:
    book["APM_SegmentNames"] = ["Small", "Large"]
    book["APM_SegmentMins"] = [50_000, 0]

    assert APM_SEGMENT(10).startswith("APM_SEGMENT: the segment minimums")


def test_threshold(book: dict[str, Any]) -> None:
    book["APM_RevenueThreshold"] = 125_000.0

    assert APM_THRESHOLD("revenue") == 125_000.0
    assert APM_THRESHOLD(" Revenue ") == 125_000.0
    assert APM_THRESHOLD("health") == (
        "no health threshold yet: rebuild the matrix or give one"
    )
    assert APM_THRESHOLD("size") == 'APM_THRESHOLD: axis must be "revenue" or "health"'
    assert APM_THRESHOLD(None) == 'APM_THRESHOLD: axis must be "revenue" or "health"'


class _Names:
    """The part of an xlwings Book.names the UDFs use; a missing name raises."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def __getitem__(self, name: str) -> Any:
        if name not in self.values:
            raise RuntimeError(f"COM error: no name {name}")
        return SimpleNamespace(refers_to_range=SimpleNamespace(value=self.values[name]))


def test_reading_the_book_of_the_calling_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    table = SimpleNamespace(range=SimpleNamespace(value=[["Quadrant"], ["X"]]))
    sheets = {"Playbooks": SimpleNamespace(tables={"Playbooks": table})}
    workbook = SimpleNamespace(
        names=_Names({"APM_Tier1Name": "Champions"}), sheets=sheets
    )
    caller = SimpleNamespace(sheet=SimpleNamespace(book=workbook))

    found = udfs.read_caller_book(
        caller, ["APM_Tier1Name", "APM_Missing"], ["Playbooks", "Nope"]
    )

    assert found == {"APM_Tier1Name": "Champions", "Playbooks": [["Quadrant"], ["X"]]}
    assert udfs.APM_TIER(1.0, 0.9, 1.0, 0.5, caller) == "Champions"


def test_without_excel_there_is_no_book(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()

    assert udfs.read_caller_book(None, ["APM_Tier1Name"]) == {}


@pytest.mark.parametrize("udf", [APM_TIER, APM_PLAYBOOK, APM_SEGMENT, APM_THRESHOLD])
def test_every_udf_documents_an_example(udf: Any) -> None:
    doc = udf.__doc__ or ""

    # xlwings shows the first 255 characters in Excel's function wizard.
    assert "Example" in doc and f"={udf.__name__}(" in doc
    assert len(doc.split("\n\n")[0]) < 255


@pytest.mark.parametrize(
    ("previous", "current"),
    [
        ("INVEST", "TIER 1"),
        ("TIER 1", "MAINTAIN"),
        ("MAINTAIN", "INVEST"),
        ("RAMP", "RAMP"),
        (None, "RAMP"),
        ("TIER 1", None),
        (None, None),
        ("UNSCORED", "TIER 1"),
    ],
)
def test_apm_move_labels_like_the_movements_sheet(previous, current):
    from xlapm.core.movements import move_label
    from xlapm.udfs import APM_MOVE

    assert APM_MOVE(previous, current) == move_label(previous, current)


def test_apm_move_over_columns_is_one_call_with_a_label_per_row():
    from xlapm.udfs import APM_MOVE

    result = APM_MOVE(
        [["RAMP"], ["TIER 1"], [None]], [["MAINTAIN"], ["TIER 1"], ["RAMP"]]
    )

    assert result == [("▲ RAMP → MAINTAIN",), ("= TIER 1",), ("NEW",)]


def test_apm_move_refuses_columns_of_different_lengths():
    from xlapm.udfs import APM_MOVE

    result = APM_MOVE([["RAMP"], ["RAMP"]], [["RAMP"], ["RAMP"], ["RAMP"]])

    assert result.startswith("UNSCORED: the ranges have different sizes")
