"""Turning a raw CRM table into accounts the matrix can score.

Nothing is dropped: a value that cannot be read keeps its text in the Accounts sheet,
the account is UNSCORED, and the problem is reported with its row and column.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xlapm.core.columns import find_column, require_column
from xlapm.core.reading import RawTable
from xlapm.core.settings import HealthScale, Settings, ThresholdRule
from xlapm.core.values import NumberColumn, parse_number_column
from xlapm.errors import InputError

log = logging.getLogger(__name__)

_RATE_WORDS = re.compile(r"adoption|rate|percent|pct|%|usage|utili[sz]ation|share")
_LEADING_ZERO = re.compile(r"^[+-]?0\d")
# "Total", "Grand Totals (85 records)", "Subtotal:"; not "Total Consulting".
_TOTALS = re.compile(r"^(grand\s+|sub-?)?totals?\s*(\(.*\)|:.*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class DataIssue:
    """One problem found in the input, in words a CSM understands."""

    row: int | None
    column: str | None
    value: str
    problem: str
    action: str


@dataclass
class Accounts:
    """A cleaned account table with its two metrics as numbers."""

    frame: pd.DataFrame
    revenue: np.ndarray
    health: np.ndarray
    names: np.ndarray
    rows: np.ndarray
    revenue_column: str
    health_column: str
    name_column: str | None
    id_column: str | None
    csm_column: str | None
    health_scale: HealthScale
    source: str
    issues: list[DataIssue] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def ids(self) -> np.ndarray | None:
        """The account IDs as text, or None when the export has no ID column."""
        if self.id_column is None:
            return None
        return self.frame[self.id_column].to_numpy(dtype=object)

    @property
    def csms(self) -> np.ndarray | None:
        """Each account's CSM, or None when the export names none."""
        if self.csm_column is None:
            return None
        return self.frame[self.csm_column].to_numpy(dtype=object)


def prepare_accounts(table: RawTable, settings: Settings) -> Accounts:
    """Find the columns, read the metrics and report every problem with its row."""
    headers = [str(header) for header in table.frame.columns]
    if table.frame.empty:
        raise InputError(
            f"{table.source} has no accounts below its header row.",
            hint="Paste or export at least one account, then run again.",
        )

    chosen = settings.columns
    revenue_column = require_column(headers, "revenue", chosen.revenue, table.source)
    health_column = require_column(headers, "health", chosen.health, table.source)
    if revenue_column == health_column:
        raise InputError(
            f"{table.source}: '{revenue_column}' was picked for both revenue "
            "and health.",
            hint="Name the two metrics with --revenue and --health.",
        )
    id_column = find_column(headers, "account_id", chosen.account_id, table.source)
    name_column = find_column(
        headers, "account_name", chosen.account_name, table.source
    )
    csm_column = find_column(headers, "csm", chosen.csm, table.source)

    issues: list[DataIssue] = []
    kept = _report_lines_left_out(table, issues)
    frame = table.frame[kept].reset_index(drop=True)
    rows = table.rows[kept]
    if frame.empty:
        raise InputError(
            f"{table.source} has no accounts below its header row.",
            hint="Paste or export at least one account, then run again.",
        )
    table = dataclasses.replace(table, frame=frame, rows=rows)
    frame = frame.copy()
    decimal = settings.decimal or table.decimal

    revenue = _metric(frame, revenue_column, decimal, table.rows, issues)
    health_numbers = parse_number_column(frame[health_column], decimal=decimal)
    _require_numbers(revenue, revenue_column, "revenue", table.source)
    _require_numbers(health_numbers.values, health_column, "health", table.source)
    scale = _health_scale(settings.health_scale, health_column, health_numbers)
    health = _scaled_health(health_numbers, scale, health_column, table.rows, issues)
    _report_problems(health_numbers, frame[health_column], table.rows, issues)
    _write_back(frame, health_column, health_numbers, health)
    _report_negative_revenue(revenue, table.frame[revenue_column], table.rows, issues)

    for column in headers:
        if column not in (revenue_column, health_column, id_column):
            frame[column] = _numbers_where_all_numeric(frame[column])

    key_column = id_column or name_column
    if key_column is not None:
        issues.extend(_duplicates(frame[key_column], key_column, table.rows))

    names = _display_names(frame, name_column, id_column)
    return Accounts(
        frame=frame,
        revenue=revenue,
        health=health,
        names=names,
        rows=table.rows,
        revenue_column=revenue_column,
        health_column=health_column,
        name_column=name_column,
        id_column=id_column,
        csm_column=csm_column,
        health_scale=scale,
        source=table.source,
        issues=sorted(issues, key=lambda issue: (issue.row or 0, issue.column or "")),
    )


def _require_numbers(values: np.ndarray, column: str, role: str, source: str) -> None:
    # A metric column with no number at all is the wrong column, not bad data:
    # scoring every account UNSCORED would only hide the mistake.
    if np.isnan(values).all():
        flag = "--revenue" if role == "revenue" else "--health"
        raise InputError(
            f"{source}: column '{column}' holds no numbers, so it cannot be the "
            f"{role} metric.",
            hint=f"Name the right column with {flag} COLUMN.",
        )


def _report_lines_left_out(table: RawTable, issues: list[DataIssue]) -> np.ndarray:
    """Rows that are the report's own lines, not accounts: totals and end notes.

    A CRM report ends with "Grand Totals (85 records)" or a confidentiality
    line; scored as accounts they would double the revenue. They are left out of
    the matrix and listed in Data Issues with all their text.
    """
    frame = table.frame
    filled = ~np.column_stack([_blank_mask(frame[column]) for column in frame.columns])
    counts = filled.sum(axis=1)
    first = [
        str(row[np.argmax(mask)]) if mask.any() else ""
        for row, mask in zip(frame.to_numpy(dtype=object), filled, strict=True)
    ]
    totals = np.array([bool(_TOTALS.match(text.strip())) for text in first], bool)

    note = np.zeros(len(frame), dtype=bool)
    for index in range(len(frame) - 1, -1, -1):
        if counts[index] > 1:
            break
        note[index] = counts[index] == 1

    for index in np.flatnonzero(totals | note):
        what = "a totals line" if totals[index] else "a note at the end"
        issues.append(
            DataIssue(
                row=int(table.rows[index]),
                column=None,
                value=first[index],
                problem=f"looks like {what} of the report, not an account",
                action="left out of the matrix",
            )
        )
    return ~(totals | note)


def _metric(
    frame: pd.DataFrame,
    column: str,
    decimal: str,
    rows: np.ndarray,
    issues: list[DataIssue],
) -> np.ndarray:
    numbers = parse_number_column(frame[column], decimal=decimal)
    _report_problems(numbers, frame[column], rows, issues)
    _write_back(frame, column, numbers, numbers.values)
    return numbers.values


def _report_problems(
    numbers: NumberColumn,
    original: pd.Series,
    rows: np.ndarray,
    issues: list[DataIssue],
) -> None:
    column = str(original.name)
    bad = [index for index, problem in enumerate(numbers.problems) if problem]
    for index in bad:
        issues.append(
            DataIssue(
                row=int(rows[index]),
                column=column,
                value=_shown(original.iat[index]),
                problem=f"{column} {numbers.problems[index]}",
                action="left UNSCORED; kept the value as it was",
            )
        )


def _write_back(
    frame: pd.DataFrame, column: str, numbers: NumberColumn, values: np.ndarray
) -> None:
    # Readable values become numbers; unreadable ones keep their text, so nothing
    # a person typed is lost in the Accounts sheet.
    original = frame[column].to_numpy(dtype=object)
    readable = ~np.isnan(values)
    blank = _blank_mask(frame[column])
    merged = np.where(readable, values, np.where(blank, None, original))
    frame[column] = pd.Series(merged, index=frame.index, dtype=object)


def _health_scale(
    requested: HealthScale, column: str, numbers: NumberColumn
) -> HealthScale:
    if requested is not HealthScale.AUTO:
        return requested

    plain = numbers.values[~numbers.percent & ~np.isnan(numbers.values)]
    if numbers.percent.any() and (plain.size == 0 or plain.max() <= 1):
        return HealthScale.FRACTION
    if plain.size == 0 or (plain.min() >= 0 and plain.max() <= 1):
        return HealthScale.FRACTION
    if (
        _RATE_WORDS.search(column.casefold())
        and plain.min() >= 0
        and plain.max() <= 100
    ):
        return HealthScale.PERCENT
    return HealthScale.NUMBER


def _scaled_health(
    numbers: NumberColumn,
    scale: HealthScale,
    column: str,
    rows: np.ndarray,
    issues: list[DataIssue],
) -> np.ndarray:
    health = numbers.values.copy()
    plain = ~numbers.percent & ~np.isnan(health)
    if scale is HealthScale.PERCENT:
        health[plain] = health[plain] / 100.0
    if scale in (HealthScale.FRACTION, HealthScale.PERCENT):
        limit = "100%"
        outside = ~np.isnan(health) & ((health < 0) | (health > 1))
        for index in np.flatnonzero(outside):
            issues.append(
                DataIssue(
                    row=int(rows[index]),
                    column=column,
                    value=f"{numbers.values[index]:g}",
                    problem=f"{column} is outside 0–{limit} for a {scale.value}",
                    action="left UNSCORED; use --health-scale if the scale is wrong",
                )
            )
        health[outside] = np.nan
    return health


def _report_negative_revenue(
    revenue: np.ndarray, original: pd.Series, rows: np.ndarray, issues: list[DataIssue]
) -> None:
    column = str(original.name)
    with np.errstate(invalid="ignore"):
        negative = np.flatnonzero(revenue < 0)
    for index in negative:
        issues.append(
            DataIssue(
                row=int(rows[index]),
                column=column,
                value=_shown(original.iat[index]),
                problem=f"{column} is negative ({revenue[index]:,.2f})",
                action="kept it (scored as low revenue); check the export",
            )
        )


def _numbers_where_all_numeric(column: pd.Series) -> pd.Series:
    # Extra export columns become numbers only when every filled value is a plain
    # number without a leading zero, so IDs like 00123 stay text.
    if column.dtype != object:
        return column
    filled = column[~_blank_mask(column)]
    if filled.empty or not _looks_numeric(filled.iloc[:50]):
        return column
    if not filled.map(type).eq(str).all():
        return column
    texts = filled.str.strip()
    if texts.str.match(_LEADING_ZERO).any():
        return column
    numbers = pd.to_numeric(texts, errors="coerce")
    if numbers.isna().any():
        return column
    result = pd.Series([None] * len(column), index=column.index, dtype=object)
    result[filled.index] = numbers.astype(float).to_numpy(dtype=object)
    return result


def _looks_numeric(sample: pd.Series) -> bool:
    # A cheap look at the first values spares text columns the full conversion.
    texts = sample.astype(str).str.strip()
    return bool(pd.to_numeric(texts, errors="coerce").notna().all())


def _blank_mask(column: pd.Series) -> np.ndarray:
    """True where a cell is empty: None, NaN or only spaces."""
    values = column.to_numpy(dtype=object)
    blank = pd.isna(values)
    text = np.fromiter((type(value) is str for value in values), bool, len(values))
    if text.any():
        blank[text] = pd.Series(values[text]).str.strip().eq("").to_numpy()
    return blank


def _duplicates(keys: pd.Series, column: str, rows: np.ndarray) -> list[DataIssue]:
    text = keys.astype(str).str.strip().where(~_blank_mask(keys), None)
    repeated = text.notna() & text.duplicated(keep="first")
    if not repeated.any():
        return []

    first_row = {}
    for position, key in enumerate(text):
        if key is not None and key not in first_row:
            first_row[key] = int(rows[position])
    issues = []
    for position in np.flatnonzero(repeated.to_numpy()):
        key = text.iat[position]
        issues.append(
            DataIssue(
                row=int(rows[position]),
                column=column,
                value=key,
                problem=f"{column} '{key}' appears again "
                f"(first on row {first_row[key]})",
                action="kept both accounts; merge them in the CRM",
            )
        )
    return issues


def _display_names(
    frame: pd.DataFrame, name_column: str | None, id_column: str | None
) -> np.ndarray:
    for column in (name_column, id_column):
        if column is not None:
            names = frame[column].map(lambda value: "" if _is_blank(value) else value)
            return names.astype(str).to_numpy(dtype=object)
    return np.array([f"Account {index + 1}" for index in range(len(frame))], object)


def health_threshold_rule(rule: ThresholdRule, scale: HealthScale) -> ThresholdRule:
    """A fixed health threshold typed in the column's own scale, as a fraction.

    ``--health-threshold 50`` on a percent column means 50%, so 0.5.
    """
    if rule.kind == "value" and scale is HealthScale.PERCENT and not rule.percent:
        return rule.model_copy(update={"value": (rule.value or 0.0) / 100.0})
    return rule


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def _shown(value: object) -> str:
    return "" if _is_blank(value) else str(value)
