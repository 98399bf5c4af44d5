"""Quarterly snapshots: where every account stood at the end of each quarter.

A snapshot is one row per account: its ID, name, CSM, both metrics, its quadrant and
segment and the thresholds in force. The history is every snapshot taken, oldest
quarter first; it lives in an owned sheet of the workbook, so any workbook carries
its own history and ``read_history`` reads it back from that sheet's values.

Accounts are matched from one quarter to the next by their account ID. An export with
no ID column is matched by account name instead, and ``match_keys`` says so in a
warning the caller shows, because a renamed account then looks LOST and NEW.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from xlapm.core.portfolio import Portfolio
from xlapm.core.values import BLANK, parse_number, parse_number_column
from xlapm.errors import InputError

QUARTER = "Quarter"
ACCOUNT_ID = "Account ID"
ACCOUNT = "Account"
CSM = "CSM"
REVENUE = "Revenue"
HEALTH = "Health"
QUADRANT = "Quadrant"
SEGMENT = "Segment"
REVENUE_THRESHOLD = "Revenue threshold"
HEALTH_THRESHOLD = "Health threshold"

# The columns of a history, in sheet order, and the Snapshot field of each.
FIELDS = {
    QUARTER: "quarter",
    ACCOUNT_ID: "account_id",
    ACCOUNT: "account",
    CSM: "csm",
    REVENUE: "revenue",
    HEALTH: "health",
    QUADRANT: "quadrant",
    SEGMENT: "segment",
    REVENUE_THRESHOLD: "revenue_threshold",
    HEALTH_THRESHOLD: "health_threshold",
}
HISTORY_COLUMNS = tuple(FIELDS)
NUMBER_COLUMNS = (REVENUE, HEALTH, REVENUE_THRESHOLD, HEALTH_THRESHOLD)
REQUIRED_COLUMNS = (QUARTER, ACCOUNT, QUADRANT)

# A number cell is readable when it holds a number or nothing.
_FINE = (None, BLANK)

_QUARTER_FIRST = re.compile(r"^(\d{4})\s*[-_/ ]?\s*Q([1-4])$", re.IGNORECASE)
_YEAR_LAST = re.compile(r"^Q([1-4])\s*[-_/ ]?\s*(\d{4})$", re.IGNORECASE)


def parse_quarter(text: object) -> str:
    """A quarter written ``2024Q4``, from ``2024Q4``, ``2024-Q4`` or ``Q4 2024``.

    >>> parse_quarter("Q4 2024")
    '2024Q4'

    Raises:
        InputError: naming the text and the form a quarter takes.
    """
    quarter = _quarter_or_none(text)
    if quarter is None:
        raise InputError(
            f"Quarter {text!r} is not a quarter like 2024Q4.",
            hint="Give the year, the letter Q and the quarter number: 2024Q4.",
        )
    return quarter


def quarter_of(day: datetime.date) -> str:
    """The calendar quarter ``day`` falls in.

    >>> quarter_of(datetime.date(2024, 11, 30))
    '2024Q4'
    """
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def _quarter_or_none(text: object) -> str | None:
    cleaned = str(text).strip() if text is not None else ""
    match = _QUARTER_FIRST.match(cleaned)
    if match:
        return f"{match.group(1)}Q{match.group(2)}"
    match = _YEAR_LAST.match(cleaned)
    if match:
        return f"{match.group(2)}Q{match.group(1)}"
    return None


class Snapshot(BaseModel):
    """One account in one quarter's snapshot, one row of the history."""

    model_config = ConfigDict(frozen=True)

    quarter: str
    account_id: str | None = None
    account: str = ""
    csm: str | None = None
    revenue: float | None = None
    health: float | None = None
    quadrant: str
    segment: str | None = None
    revenue_threshold: float | None = None
    health_threshold: float | None = None

    @field_validator("quarter", mode="before")
    @classmethod
    def _quarter(cls, value: Any) -> str:
        quarter = _quarter_or_none(value)
        if quarter is None:
            raise ValueError(f"{value!r} is not a quarter like 2024Q4")
        return quarter

    @field_validator("account_id", "csm", "segment", mode="before")
    @classmethod
    def _optional_text(cls, value: Any) -> str | None:
        return cell_text(value)

    @field_validator("account", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return cell_text(value) or ""

    @field_validator("quadrant", mode="before")
    @classmethod
    def _quadrant(cls, value: Any) -> str:
        text = cell_text(value)
        if text is None:
            raise ValueError("the quadrant is blank")
        return text

    @field_validator(
        "revenue", "health", "revenue_threshold", "health_threshold", mode="before"
    )
    @classmethod
    def _number(cls, value: Any) -> float | None:
        parsed = parse_number(value)
        if parsed.problem not in _FINE:
            raise ValueError(f"{value!r} {parsed.problem}")
        return parsed.number


def cell_text(value: object) -> str | None:
    """A cell as text: None when blank, ``12345`` for the number 12345.0."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def empty_history() -> pd.DataFrame:
    """A history with its columns and no rows yet."""
    return _conform(pd.DataFrame({column: [] for column in HISTORY_COLUMNS}))


def take_snapshot(portfolio: Portfolio, quarter: str) -> pd.DataFrame:
    """Where each account of ``portfolio`` stands in ``quarter``, one row each.

    Args:
        portfolio: the scored accounts.
        quarter: the quarter the snapshot is for, such as ``2024Q4``.

    Returns:
        A frame with ``HISTORY_COLUMNS``; its rows satisfy ``Snapshot``. Health is
        in the scale it was scored in (a fraction for adoption rates).
    """
    quarter = parse_quarter(quarter)
    accounts = portfolio.accounts
    count = len(accounts)
    revenue_limits, health_limits = thresholds_in_force(portfolio)
    segments = [segment or None for segment in portfolio.segments]

    snapshot = pd.DataFrame(
        {
            QUARTER: [quarter] * count,
            ACCOUNT_ID: _texts(accounts.ids, count),
            ACCOUNT: [cell_text(name) or "" for name in accounts.names],
            CSM: _texts(accounts.csms, count),
            REVENUE: accounts.revenue,
            HEALTH: accounts.health,
            QUADRANT: portfolio.quadrants.tolist(),
            SEGMENT: segments,
            REVENUE_THRESHOLD: revenue_limits,
            HEALTH_THRESHOLD: health_limits,
        }
    )
    return _conform(snapshot)


def thresholds_in_force(portfolio: Portfolio) -> tuple[np.ndarray, np.ndarray]:
    """The revenue and health threshold each account was scored against.

    That is the portfolio's, or its segment's where the segment has its own.
    """
    classification = portfolio.classification
    count = len(portfolio.accounts)
    revenue = np.full(count, classification.revenue_threshold.value)
    health = np.full(count, classification.health_threshold.value)

    for index, segment in enumerate(portfolio.settings.segments):
        pair = classification.segment_thresholds.get(segment.name)
        if pair is None:
            continue
        members = classification.segment == index
        revenue[members] = pair[0].value
        health[members] = pair[1].value
    return revenue, health


def merge_history(history: pd.DataFrame | None, snapshot: pd.DataFrame) -> pd.DataFrame:
    """``history`` with ``snapshot``'s quarter replaced by ``snapshot``.

    Taking the same quarter again replaces its rows, so merging twice gives the same
    history as merging once; every other quarter is kept as it was. Quarters are in
    order, oldest first, and accounts keep their order within a quarter.

    Raises:
        InputError: the snapshot is empty or holds more than one quarter.
    """
    snapshot = _conform(snapshot)
    taken = snapshot[QUARTER].unique().tolist()
    if len(taken) != 1:
        raise InputError(
            f"A snapshot holds one quarter; this one holds {len(taken)}: "
            f"{', '.join(map(str, taken)) or 'none'}.",
            hint="Take the snapshot again with take_snapshot(portfolio, quarter).",
        )

    kept = empty_history() if history is None else _conform(history)
    kept = kept[kept[QUARTER] != taken[0]]
    parts = [part for part in (kept, snapshot) if not part.empty]
    merged = pd.concat(parts, ignore_index=True) if parts else empty_history()
    merged = merged.sort_values(QUARTER, kind="stable", ignore_index=True)
    return _conform(merged)


def quarters(history: pd.DataFrame) -> list[str]:
    """The quarters ``history`` holds, oldest first."""
    return sorted(set(history[QUARTER].dropna()))


def read_history(rows: Iterable[Sequence[Any]], first_row: int = 1) -> pd.DataFrame:
    """A history from a sheet's 2-D values: a header row, then one row per account.

    Headers are matched ignoring case, spaces and punctuation; Quarter, Account and
    Quadrant are required, the other columns may be missing. Blank rows are skipped.

    Args:
        rows: the values, such as openpyxl's ``sheet.values`` or an xlwings range's
            ``.value``.
        first_row: the sheet row number of the header, for messages.

    Raises:
        InputError: a required column is missing, or a row holds a value that
            cannot be read; the message names the row and the column.
    """
    numbered = [
        (first_row + offset, list(row))
        for offset, row in enumerate(rows)
        if any(cell_text(cell) is not None for cell in row)
    ]
    if not numbered:
        return empty_history()

    positions = _header_positions(numbered[0][1])
    body = numbered[1:]
    cells = {
        column: [_cell(row, position) for _, row in body]
        for column, position in positions.items()
    }
    bad = _first_unreadable(cells)
    if bad is not None:
        number, row = body[bad]
        values = {FIELDS[c]: _cell(row, p) for c, p in positions.items()}
        _snapshot_row(values, number)
    return _frame_of(cells)


def _cell(row: list[Any], position: int) -> Any:
    return row[position] if position < len(row) else None


def _first_unreadable(cells: dict[str, list[Any]]) -> int | None:
    # The whole sheet is checked column by column (a row-by-row validation takes
    # seconds on a large history); the first bad row is then validated as a
    # Snapshot, so its message is the model's own.
    bad: list[int] = []
    quarters_read = _quarters_of(cells[QUARTER])
    bad += [index for index, quarter in enumerate(quarters_read) if quarter is None]
    quadrants = cells[QUADRANT]
    bad += [index for index, name in enumerate(quadrants) if cell_text(name) is None]
    for column in NUMBER_COLUMNS:
        if column in cells:
            problems = parse_number_column(_objects(cells[column])).problems
            bad += [i for i, problem in enumerate(problems) if problem not in _FINE]
    return min(bad) if bad else None


def _quarters_of(values: list[Any]) -> list[str | None]:
    read = {text: _quarter_or_none(text) for text in {str(value) for value in values}}
    return [read[str(value)] if value is not None else None for value in values]


def _frame_of(cells: dict[str, list[Any]]) -> pd.DataFrame:
    columns: dict[str, Any] = dict(cells)
    columns[QUARTER] = _quarters_of(cells[QUARTER])
    for column in NUMBER_COLUMNS:
        if column in cells:
            columns[column] = parse_number_column(_objects(cells[column])).values
    return _conform(pd.DataFrame(columns))


def _objects(values: list[Any]) -> pd.Series:
    return pd.Series(values, dtype=object)


def _header_positions(header: Sequence[Any]) -> dict[str, int]:
    found = [_header_key(cell) for cell in header]
    positions = {
        column: found.index(_header_key(column))
        for column in HISTORY_COLUMNS
        if _header_key(column) in found
    }
    missing = [column for column in REQUIRED_COLUMNS if column not in positions]
    if missing:
        raise InputError(
            f"The history has no {', '.join(missing)} column.",
            hint=f"Its header row needs {', '.join(HISTORY_COLUMNS)}.",
        )
    return positions


def _header_key(cell: object) -> str:
    return re.sub(r"[^0-9a-z]", "", str(cell or "").casefold())


def _snapshot_row(values: dict[str, Any], row: int) -> Snapshot:
    try:
        return Snapshot.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        column = next((c for c, f in FIELDS.items() if f == field), field)
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InputError(
            f"History row {row}, column {column}: {message}.",
            hint="Fix that cell in the history sheet, or delete the row.",
        ) from None


def _conform(frame: pd.DataFrame) -> pd.DataFrame:
    # Text columns stay object dtype holding None for blanks (pandas 3 would pick
    # its string dtype with NaN), so every history compares and writes alike.
    missing = [column for column in HISTORY_COLUMNS if column not in frame.columns]
    if set(missing) & set(REQUIRED_COLUMNS):
        raise InputError(
            f"A history needs the columns {', '.join(REQUIRED_COLUMNS)}; "
            f"{', '.join(missing)} missing.",
            hint="Make it with take_snapshot or read_history.",
        )
    conformed = {}
    for column in HISTORY_COLUMNS:
        values = (
            frame[column].tolist() if column in frame.columns else [None] * len(frame)
        )
        if column in NUMBER_COLUMNS:
            conformed[column] = pd.to_numeric(
                pd.Series(values, dtype=object), errors="raise"
            ).astype("float64")
        else:
            conformed[column] = pd.Series(
                [cell_text(value) for value in values], dtype=object
            )
    names = [name or "" for name in conformed[ACCOUNT]]
    conformed[ACCOUNT] = pd.Series(names, dtype=object)
    return pd.DataFrame(conformed)


def match_keys(
    history: pd.DataFrame, wanted: Sequence[str]
) -> tuple[pd.Series, str | None]:
    """The key that matches each row of the ``wanted`` quarters across quarters.

    Rows are matched by account ID when every wanted quarter has IDs, else by
    account name (ignoring case and spacing), and the warning says so. An account
    listed twice in a quarter is matched in the order the rows come.

    Returns:
        The keys, indexed like the rows of ``history`` in ``wanted``, and a warning
        for the caller to show, or None.
    """
    rows = history[history[QUARTER].isin(list(wanted))]
    ids = rows[ACCOUNT_ID]
    with_ids = ids.notna().groupby(rows[QUARTER]).any()
    without = [quarter for quarter in wanted if not with_ids.get(quarter, False)]

    warning = None
    if without:
        keys = "name:" + _name_keys(rows[ACCOUNT])
        verb = "has" if len(without) == 1 else "have"
        warning = (
            f"Accounts were matched by name because {', '.join(without)} {verb} no "
            "account IDs; a renamed account shows as LOST and NEW."
        )
    else:
        keys = "id:" + ids.fillna("").astype(object)
        missing = ids.isna()
        keys[missing] = "name:" + _name_keys(rows.loc[missing, ACCOUNT])
    repeat = keys.groupby([rows[QUARTER], keys]).cumcount()
    return keys + "#" + repeat.astype(str), warning


def _name_keys(names: pd.Series) -> pd.Series:
    # A name matches whatever its case and spacing: "Acme  Corp" is "acme corp".
    spaced = names.astype(object).str.replace(r"\s+", " ", regex=True)
    return spaced.str.strip().str.casefold()


def _texts(values: np.ndarray | None, count: int) -> list[str | None]:
    if values is None:
        return [None] * count
    return [cell_text(value) for value in values]
