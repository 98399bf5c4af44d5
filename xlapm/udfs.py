"""Excel formulas over the core: ``=APM_TIER``, ``=APM_PLAYBOOK``, ``=APM_SEGMENT``
and ``=APM_THRESHOLD``.

Excel for Windows calls them through the xlwings add-in (``UDF_MODULES`` is
``xlapm.udfs``). On Linux and macOS the xlwings decorators do nothing, so these are
plain functions that tests and scripts call directly.

What a cell shows:

- a quadrant or segment name, a playbook line or a threshold;
- ``""`` for a blank row (every metric blank), so a formula filled down past the last
  account stays empty;
- ``UNSCORED: health is not a number`` (the core's own phrase) when a value cannot
  be scored. This is text, not an Excel error value: xlwings hands a UDF's result to
  Excel through its converters, which write text and numbers but no error values,
  so a ``"#VALUE!"`` would only look like an error while ``ISERROR`` says FALSE. The
  readable text tells the CSM what to fix, matches the UNSCORED of a rebuild, and
  ``COUNTIF(range, "UNSCORED*")`` counts them.

Arguments arrive from Excel as 2-D blocks (``ndim=2``) with error values as text
(``err_to_str``), so ``#N/A`` in a cell gives ``UNSCORED: revenue is an Excel error
(#N/A)`` instead of a blank. A whole column goes through in one vectorised call:
``=APM_TIER(B2:B5001, C2:C5001)`` spills one name per row in Excel 365 and 2021.

Defaults come from the workbook that holds the formula: the thresholds in force
(``APM_RevenueThreshold``, ``APM_HealthThreshold``, on Summary), the quadrant names
(``APM_Tier1Name``…), the health scale (``APM_HealthScale``) and the segments
(``APM_SegmentNames``, ``APM_SegmentMins``), else xlapm's default settings. Excel
does not know that a formula reads those cells, so pass the threshold names as
arguments (``=APM_TIER(B2, C2, APM_RevenueThreshold, APM_HealthThreshold)``) when
the cell must follow a threshold change at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd
import xlwings as xw
from pandas.api.types import infer_dtype

from xlapm.core.classify import quadrant_codes, quadrant_key, segment_codes
from xlapm.core.movements import move_label
from xlapm.core.settings import QUADRANT_KEYS, UNSCORED, HealthScale, Settings
from xlapm.core.values import (
    BLANK,
    NOT_FINITE,
    NumberColumn,
    parse_number,
    parse_number_column,
)

log = logging.getLogger(__name__)

CATEGORY = "Account Matrix"
THRESHOLD_NAMES = {"revenue": "APM_RevenueThreshold", "health": "APM_HealthThreshold"}
QUADRANT_NAMES = {key: f"APM_{key.title()}Name" for key in QUADRANT_KEYS}
SCALE_NAME = "APM_HealthScale"
SEGMENT_NAMES = ("APM_SegmentNames", "APM_SegmentMins")
PLAYBOOKS_TABLE = "Playbooks"
PLAYBOOK_FIELDS = ("playbook", "approach", "activities", "cadence", "summary")
FIX_THE_DATA = "Fix the data to score this account"

# Building Settings validates every default; once per process is enough.
_DEFAULTS = Settings()
# Cells of these types are read by numpy in one go; bool is apart on purpose.
# The most frequent first: Excel hands every number over as a float.
_PLAIN_TYPES = (float, type(None), int)
# What pandas calls a list of plain numbers (None and NaN skipped).
_NUMBERS_ONLY = frozenset({"floating", "integer", "mixed-integer-float", "empty"})
_NOT_SET = "is not set yet (rebuild the matrix, or give one)"
# Up to this many cells, parse_number cell by cell is quicker than setting up
# parse_number_column; both read every value alike.
_FEW_CELLS = 256


def read_caller_book(
    caller: Any, names: Sequence[str], tables: Sequence[str] = ()
) -> dict[str, Any]:
    """The values of workbook ``names`` and Excel ``tables`` in the calling workbook.

    ``caller`` is the Range xlwings passes to a UDF's ``caller`` argument; without
    one, ``xw.Book.caller()`` is asked. A name or table the workbook lacks, or any
    workbook at all (a direct call from Python), is simply left out. A table comes
    back as its rows, header first; a table ``T`` is looked for on the sheet ``T``.

    This is the only place the UDFs touch Excel, so tests replace it.
    """
    book = _calling_book(caller)
    if book is None:
        return {}

    found: dict[str, Any] = {}
    for name in names:
        # A missing name is a COM error on Windows and a different one on macOS.
        try:
            found[name] = book.names[name].refers_to_range.value
        except Exception:  # noqa: BLE001
            log.debug("workbook has no usable name %s", name)
    for table in tables:
        try:
            found[table] = book.sheets[table].tables[table].range.value
        except Exception:  # noqa: BLE001
            log.debug("workbook has no table %s", table)
    return found


def _calling_book(caller: Any) -> Any:
    if caller is not None:
        # The cell's own workbook: Book.caller() would be the add-in (.xlam)
        # when the UDFs are imported into it.
        return caller.sheet.book
    try:
        return xw.Book.caller()
    except Exception:  # noqa: BLE001 - no Excel behind this call (tests, scripts)
        return None


@xw.func(category=CATEGORY)
@xw.arg("revenue", ndim=2, err_to_str=True, doc=(
    "Revenue (ARR) of the account: a cell, or a whole column for one spilled "
    "result per row."
))  # fmt: skip
@xw.arg("health", ndim=2, err_to_str=True, doc=(
    "Health (adoption rate or health score): a cell or a column the size of "
    "revenue. 45% is 0.45; plain numbers follow Health scale on Settings."
))  # fmt: skip
@xw.arg("revenue_threshold", ndim=2, err_to_str=True, doc=(
    "Optional. Revenue at or above this is high. Default: APM_RevenueThreshold."
))  # fmt: skip
@xw.arg("health_threshold", ndim=2, err_to_str=True, doc=(
    "Optional. Health at or above this is high. Default: APM_HealthThreshold."
))  # fmt: skip
@xw.ret("raw")
def APM_TIER(  # noqa: N802 - Excel function names are upper case
    revenue: Any,
    health: Any,
    revenue_threshold: Any = None,
    health_threshold: Any = None,
    caller: Any = None,
) -> Any:
    """The quadrant of an account (TIER 1, INVEST, RAMP, MAINTAIN) from its revenue
    and health; a value on a threshold counts as high.

    Example, with thresholds $100,000 and 50%:

        =APM_TIER(250000, 80%)  ->  TIER 1
        =APM_TIER(B2:B101, C2:C101)  ->  one quadrant per row, spilled

    >>> APM_TIER(250_000, "80%", 100_000, 0.5)
    'TIER 1'
    """
    revenue, health = _single(revenue), _single(health)
    given = {
        "revenue threshold": _single(revenue_threshold),
        "health threshold": _single(health_threshold),
    }
    book = _BookSettings.read(caller, *given.values())
    if all(map(_is_scalar, (revenue, health, *given.values()))):
        return _tier_of_one(revenue, health, *given.values(), book)

    blocks = {"revenue": _Block.of(revenue), "health": _Block.of(health)}
    blocks.update({k: _Block.of(v) for k, v in given.items() if v is not None})
    shape = _common_shape(blocks)
    if isinstance(shape, str):
        return shape

    metrics = {
        "revenue": _Metric.of_block(blocks["revenue"], shape),
        "health": _Metric.of_block(blocks["health"], shape).in_scale(book.scale),
        "revenue threshold": _threshold_metric(blocks, "revenue", book, shape),
        "health threshold": _threshold_metric(blocks, "health", book, shape),
    }
    codes = quadrant_codes(*(metric.values for metric in metrics.values()))
    labels, codes = _tier_labels(codes, book.quadrant_names, metrics)
    return _rows_of_codes(codes, labels, shape)


@xw.func(category=CATEGORY)
@xw.arg("quadrant", ndim=2, err_to_str=True, doc=(
    "A quadrant name (as APM_TIER gives it) or a cell or column of them."
))  # fmt: skip
@xw.arg("field", doc=(
    "Optional: playbook (approach and cadence, the default), approach, "
    "activities, cadence or summary."
))  # fmt: skip
@xw.ret("raw")
def APM_PLAYBOOK(  # noqa: N802
    quadrant: Any, field: Any = None, caller: Any = None
) -> Any:
    """The playbook of a quadrant: how to work its accounts, from the Playbooks sheet.

    Example:

        =APM_PLAYBOOK("RAMP", "cadence")  ->  Monthly campaign
        =APM_PLAYBOOK(APM_TIER(B2, C2))  ->  one-to-one: Every two weeks

    >>> APM_PLAYBOOK("TIER 1", "approach")
    'one-to-one'
    """
    wanted = "playbook" if _is_blank(field) else str(field).strip().casefold()
    if wanted not in PLAYBOOK_FIELDS:
        return f"APM_PLAYBOOK: field must be one of {', '.join(PLAYBOOK_FIELDS)}"

    texts = _playbook_texts(caller, wanted)
    quadrant = _single(quadrant)
    if _is_scalar(quadrant):
        return _playbook_of(quadrant, texts)
    block = _Block.of(quadrant)
    codes, distinct = pd.factorize(pd.Series(block.cells, dtype=object))
    lines = np.array([*(_playbook_of(v, texts) for v in distinct), ""], dtype=object)
    return _rows_of_codes(codes, lines, block.shape)


@xw.func(category=CATEGORY)
@xw.arg("revenue", ndim=2, err_to_str=True, doc=(
    "Revenue (ARR) of the account, or a column of them."
))  # fmt: skip
@xw.ret("raw")
def APM_SEGMENT(revenue: Any, caller: Any = None) -> Any:  # noqa: N802
    """The size segment of an account (Commercial, Enterprise, Strategic) from its
    revenue, with the bands on the Settings sheet.

    Example:

        =APM_SEGMENT(250000)  ->  Enterprise

    >>> APM_SEGMENT(2_500_000)
    'Strategic'
    """
    found = read_caller_book(caller, SEGMENT_NAMES)
    settings = _segment_settings(*(found.get(name) for name in SEGMENT_NAMES))
    if isinstance(settings, str):
        return settings
    names = np.array([s.name for s in settings.segments] + [""], dtype=object)

    revenue = _single(revenue)
    if _is_scalar(revenue):
        parsed = parse_number(revenue)
        if parsed.number is None:
            return "" if parsed.problem == BLANK else _unscored("revenue", parsed)
        return str(names[segment_codes(np.array([parsed.number]), settings)[0]])

    block = _Block.of(revenue)
    if block.shape is None:
        return f"{UNSCORED}: revenue is a range with rows of different lengths"
    metric = _Metric.of_block(block, block.shape)
    segments = names[segment_codes(metric.values, settings)]
    unreadable = np.flatnonzero(metric.problems != None)  # noqa: E711 - elementwise
    segments[unreadable] = _reasons(unreadable, {"revenue": metric})
    segments[metric.blank] = ""
    return _rows(segments, block.shape)


@xw.func(category=CATEGORY)
@xw.arg(
    "previous",
    ndim=2,
    err_to_str=True,
    doc=("The account's quadrant last quarter (a cell or a column)."),
)
@xw.arg(
    "current",
    ndim=2,
    err_to_str=True,
    doc=("The account's quadrant this quarter, the same shape as previous."),
)
@xw.ret("raw")
def APM_MOVE(previous: Any, current: Any, caller: Any = None) -> Any:  # noqa: N802
    """How an account moved between two quarters, as the Movements sheet labels it:
    an up or down arrow with both quadrants, "= TIER 1", NEW or LOST.

    Example:

        =APM_MOVE(C2, D2)  ->  up arrow, INVEST, arrow, TIER 1

    >>> APM_MOVE("RAMP", "RAMP")
    '= RAMP'
    """
    settings = _named_quadrants(caller)
    before, after = _single(previous), _single(current)
    if _is_scalar(before) and _is_scalar(after):
        return move_label(before, after, settings)

    blocks = {"previous": _Block.of(before), "current": _Block.of(after)}
    shape = _common_shape(blocks)
    if isinstance(shape, str):
        return shape
    cells = [
        np.broadcast_to(np.array(b.cells, dtype=object).reshape(b.shape), shape)
        for b in blocks.values()
    ]
    pairs = pd.Series(list(zip(*(c.ravel() for c in cells), strict=True)))
    # Few distinct moves in a column: label each once.
    codes, distinct = pd.factorize(pairs)
    labels = np.array(
        [*(move_label(was, now, settings) for was, now in distinct), ""], dtype=object
    )
    return _rows_of_codes(codes, labels, shape)


def _named_quadrants(caller: Any) -> Settings:
    """Default settings with the quadrant names the workbook's Settings give."""
    found = read_caller_book(caller, list(QUADRANT_NAMES.values()))
    quadrants = {}
    for key in QUADRANT_KEYS:
        name = found.get(QUADRANT_NAMES[key])
        quadrant = _DEFAULTS.quadrants[key]
        if isinstance(name, str) and name.strip():
            quadrant = quadrant.model_copy(update={"name": name.strip()})
        quadrants[key] = quadrant
    return _DEFAULTS.model_copy(update={"quadrants": quadrants})


@xw.func(category=CATEGORY)
@xw.arg("axis", doc='"revenue" or "health".')
def APM_THRESHOLD(axis: Any, caller: Any = None) -> Any:  # noqa: N802
    """The threshold in force on an axis, as the last rebuild set it on Summary.

    Example:

        =APM_THRESHOLD("revenue")  ->  125000

    >>> APM_THRESHOLD("health")
    'no health threshold yet: rebuild the matrix or give one'
    """
    key = str(axis).strip().casefold() if isinstance(axis, str) else ""
    if key not in THRESHOLD_NAMES:
        return 'APM_THRESHOLD: axis must be "revenue" or "health"'

    found = read_caller_book(caller, [THRESHOLD_NAMES[key]])
    value = _threshold_value(found.get(THRESHOLD_NAMES[key]), key)
    if value is None:
        return f"no {key} threshold yet: rebuild the matrix or give one"
    return value


# Settings read from the calling workbook.


@dataclass(frozen=True)
class _BookSettings:
    """What the UDFs read from the workbook: thresholds, names and the scale."""

    revenue_threshold: float | None
    health_threshold: float | None
    quadrant_names: list[str]
    scale: HealthScale

    @classmethod
    def read(
        cls, caller: Any, revenue_given: Any = None, health_given: Any = None
    ) -> _BookSettings:
        wanted = [*QUADRANT_NAMES.values(), SCALE_NAME]
        for given, axis in ((revenue_given, "revenue"), (health_given, "health")):
            if given is None:
                wanted.append(THRESHOLD_NAMES[axis])
        found = read_caller_book(caller, wanted)

        names = []
        for key, default in zip(QUADRANT_KEYS, _DEFAULTS.quadrant_names(), strict=True):
            text = found.get(QUADRANT_NAMES[key])
            names.append(
                text.strip() if isinstance(text, str) and text.strip() else default
            )
        return cls(
            revenue_threshold=_threshold_value(
                found.get(THRESHOLD_NAMES["revenue"]), "revenue"
            ),
            health_threshold=_threshold_value(
                found.get(THRESHOLD_NAMES["health"]), "health"
            ),
            quadrant_names=names,
            scale=_scale(found.get(SCALE_NAME)),
        )


def _threshold_value(cell: Any, axis: str) -> float | None:
    """A threshold cell's number; else the default setting when it is a fixed value."""
    parsed = parse_number(cell)
    if parsed.number is not None:
        return parsed.number
    rule = getattr(_DEFAULTS, f"{axis}_threshold")
    return rule.value if rule.kind == "value" else None


def _scale(cell: Any) -> HealthScale:
    # "auto" is decided per column in a rebuild; a single cell cannot tell, so a
    # formula reads plain numbers as fractions, the template's convention.
    text = cell.strip().casefold() if isinstance(cell, str) else ""
    if text in (HealthScale.PERCENT.value, HealthScale.NUMBER.value):
        return HealthScale(text)
    return HealthScale.FRACTION


# One account.


def _tier_of_one(
    revenue: Any,
    health: Any,
    revenue_threshold: Any,
    health_threshold: Any,
    book: _BookSettings,
) -> str:
    revenue_read = parse_number(revenue)
    health_read = parse_number(health)
    if revenue_read.problem == BLANK and health_read.problem == BLANK:
        return ""
    if revenue_read.number is None:
        return _unscored("revenue", revenue_read)
    health_number, problem = _health_in_scale(health_read, book.scale)
    if health_number is None:
        return _unscored_text("health", problem)

    limits = []
    for given, axis, default in (
        (revenue_threshold, "revenue", book.revenue_threshold),
        (health_threshold, "health", book.health_threshold),
    ):
        limit, problem = _one_threshold(given, axis, default, book.scale)
        if limit is None:
            return _unscored_text(f"{axis} threshold", problem)
        limits.append(limit)

    key = quadrant_key(revenue_read.number, health_number, *limits)
    return book.quadrant_names[QUADRANT_KEYS.index(key)] if key else UNSCORED


def _health_in_scale(parsed: Any, scale: HealthScale) -> tuple[float | None, str]:
    """Health as the core scores it: percent numbers as fractions, 0–1 checked."""
    if parsed.number is None:
        return None, parsed.problem
    number = parsed.number
    if scale is HealthScale.PERCENT and not parsed.percent:
        number = number / 100.0
    if scale is not HealthScale.NUMBER and not 0.0 <= number <= 1.0:
        return None, _outside_problem(scale)
    return number, ""


def _one_threshold(
    given: Any, axis: str, default: float | None, scale: HealthScale
) -> tuple[float | None, str]:
    if given is None:
        if default is None:
            return None, _NOT_SET
        return default, ""
    parsed = parse_number(given)
    if parsed.number is None:
        return None, parsed.problem or "is not a number"
    if axis == "health" and scale is HealthScale.PERCENT and not parsed.percent:
        return parsed.number / 100.0, ""
    return parsed.number, ""


def _outside_problem(scale: HealthScale) -> str:
    return (
        f"is outside 0–100% for a {scale.value} health scale "
        "(check Health scale on Settings)"
    )


def _unscored(axis: str, parsed: Any) -> str:
    return _unscored_text(axis, parsed.problem)


def _unscored_text(axis: str, problem: str | None) -> str:
    return f"{UNSCORED}: {axis} {problem or 'is not a number'}"


# Whole columns.


@dataclass(frozen=True)
class _Block:
    """The cells of an Excel-shaped value, flat and row by row, and its shape."""

    cells: list[Any]
    shape: tuple[int, int] | None  # None: rows of different lengths

    @classmethod
    def of(cls, value: Any) -> _Block:
        if isinstance(value, np.ndarray):
            grid = value.reshape(value.shape[0], -1) if value.ndim else value
            grid = grid.reshape(-1, 1) if grid.ndim < 2 else grid
            return cls(grid.ravel().tolist(), (grid.shape[0], grid.shape[1]))
        if not isinstance(value, list | tuple):
            return cls([value], (1, 1))
        if not value or not isinstance(value[0], list | tuple):
            # A flat list from Python is a column: Excel's ndim=2 never gives one.
            return cls(list(value), (len(value), 1))

        # Most calls pass one column, so that shape is tried first.
        column = _cells_of_column(value)
        if column is not None:
            return cls(column, (len(value), 1))
        widths = set(map(len, value))
        if len(widths) != 1:
            return cls([], None)
        cells = list(chain.from_iterable(value))
        return cls(cells, (len(value), widths.pop()))


def _cells_of_column(rows: Sequence[Any]) -> list[Any] | None:
    """The cells of one-cell rows; None when a row has more cells, or fewer."""
    # Unpacking checks each row's width and picks its cell in the same step,
    # about three times faster than measuring every row first.
    try:
        return [cell for (cell,) in rows]
    except (TypeError, ValueError):
        return None


def _common_shape(blocks: dict[str, _Block]) -> tuple[int, int] | str:
    """The shape every block stretches to, or why they do not fit together."""
    if any(block.shape is None for block in blocks.values()):
        return f"{UNSCORED}: a range has rows of different lengths"
    try:
        return np.broadcast_shapes(*(block.shape for block in blocks.values()))
    except ValueError:
        sizes = ", ".join(
            f"{label} {block.shape[0]}×{block.shape[1]}"  # type: ignore[index]
            for label, block in blocks.items()
        )
        return f"{UNSCORED}: the ranges have different sizes ({sizes})"


def _rows(values: np.ndarray, shape: tuple[int, int]) -> list[tuple[Any, ...]]:
    """Flat results as rows of tuples: what COM hands Excel, built in C loops."""
    flat = values.tolist()
    if shape[1] == 1:
        return list(zip(flat))
    return list(zip(*[iter(flat)] * shape[1], strict=True))


def _rows_of_codes(
    codes: np.ndarray, labels: np.ndarray, shape: tuple[int, int]
) -> list[tuple[Any, ...]]:
    """``labels[codes]`` as rows of tuples (code -1 is the last label).

    In a column, rows with the same label share one tuple, which is safe as tuples
    cannot change: one ``tolist`` builds the whole result, with no tuple per row.
    """
    if shape[1] != 1:
        return _rows(labels[codes], shape)

    boxes = np.empty(len(labels), dtype=object)
    for index, label in enumerate(labels.tolist()):
        # One by one: numpy would read a list of tuples as a 2-D block.
        boxes[index] = (label,)
    return boxes[codes].tolist()


@dataclass(frozen=True)
class _Metric:
    """Cells read as numbers, flat: NaN and a problem where a cell is unreadable.

    ``problems`` is None where a cell is fine; ``blank`` marks the blank cells.
    A metric stretched over more rows (one threshold for every row) holds read-only
    views: make new arrays rather than write into its own.
    """

    values: np.ndarray
    percent: np.ndarray
    problems: np.ndarray
    blank: np.ndarray

    @classmethod
    def constant(cls, count: int, value: float, problem: str | None) -> _Metric:
        """The same reading for ``count`` cells, as views of a single cell."""
        parts = (
            np.array([value], dtype=np.float64),
            np.zeros(1, dtype=bool),
            np.array([problem], dtype=object),
            np.zeros(1, dtype=bool),
        )
        return cls(*(np.broadcast_to(part, (count,)) for part in parts))

    @classmethod
    def of_block(cls, block: _Block, shape: tuple[int, int]) -> _Metric:
        """Read ``block`` and stretch it to ``shape`` (a 1x1 block to every row)."""
        metric = cls.of_cells(block.cells)
        if block.shape == shape:
            return metric
        parts = (metric.values, metric.percent, metric.problems, metric.blank)
        # reshape, unlike ravel, keeps a stretched single cell a view: no copy.
        return cls(
            *(
                np.broadcast_to(part.reshape(block.shape), shape).reshape(-1)
                for part in parts
            )
        )

    @classmethod
    def of_cells(cls, cells: list[Any]) -> _Metric:
        """Read ``cells``; plain numbers take a fast path, anything else the core's.

        Both give the answer of ``parse_number`` for every cell.
        """
        objects = np.fromiter(cells, dtype=object, count=len(cells))
        # pandas looks at every cell's type in one C loop (None and NaN skipped).
        if infer_dtype(objects, skipna=True) in _NUMBERS_ONLY:
            numbers = _floats(objects)
            if numbers is not None:
                return cls._of_numbers(numbers)
        return cls._of_mixed(cells, objects)

    @classmethod
    def _of_mixed(cls, cells: list[Any], objects: np.ndarray) -> _Metric:
        """Plain numbers and None by numpy in one go, the other cells by the core.

        ``objects`` (the cells as an array) is used up: the other cells become None.
        """
        others = _other_cells(cells)
        unread = objects[others]
        objects[others] = None
        values = _floats(objects)
        if values is None:
            # An integer too large for a float: the core says so, for every cell.
            others = np.arange(len(cells))
            unread = np.fromiter(cells, dtype=object, count=len(cells))
            values = np.full(len(cells), np.nan)
        metric = cls._of_numbers(values)
        if not others.size:
            return metric

        column = _careful_reading(unread)
        metric.values[others] = column.values
        metric.percent[others] = column.percent
        metric.problems[others] = column.problems
        metric.blank[others] = column.problems == BLANK
        return metric

    @classmethod
    def _of_numbers(cls, values: np.ndarray) -> _Metric:
        blank = np.isnan(values)
        problems = np.full(values.shape, None, dtype=object)
        problems[blank] = BLANK
        infinite = np.isinf(values)
        if infinite.any():
            values[infinite] = np.nan
            problems[infinite] = NOT_FINITE
        return cls(values, np.zeros(values.shape, dtype=bool), problems, blank)

    def in_scale(self, scale: HealthScale) -> _Metric:
        """Health as the core scores it (see ``_health_in_scale``)."""
        values = self.values.copy()
        if scale is HealthScale.PERCENT:
            values[~self.percent] /= 100.0
        if scale is HealthScale.NUMBER:
            return _Metric(values, self.percent, self.problems, self.blank)

        with np.errstate(invalid="ignore"):
            outside = (values < 0.0) | (values > 1.0)
        if not outside.any():
            return _Metric(values, self.percent, self.problems, self.blank)
        problems = self.problems.copy()
        values[outside] = np.nan
        problems[outside] = _outside_problem(scale)
        return _Metric(values, self.percent, problems, self.blank)


def _floats(objects: np.ndarray) -> np.ndarray | None:
    """Plain numbers as floats (None is NaN); None when one cannot be a float.

    That is an integer too large for a float, or a missing value pandas skipped
    that is not None or NaN (``pd.NA``): the careful path says why.
    """
    try:
        return objects.astype(np.float64)
    except (OverflowError, TypeError, ValueError):
        return None


def _careful_reading(cells: np.ndarray) -> NumberColumn:
    """The core's reading of ``cells``, which are no plain numbers."""
    if len(cells) > _FEW_CELLS:
        return parse_number_column(pd.Series(cells, dtype=object))

    readings = [parse_number(cell) for cell in cells.tolist()]
    return NumberColumn(
        values=np.array(
            [np.nan if r.number is None else r.number for r in readings], dtype=float
        ),
        percent=np.array([r.percent for r in readings], dtype=bool),
        problems=np.array([r.problem for r in readings], dtype=object),
    )


def _other_cells(cells: list[Any]) -> np.ndarray:
    """The positions of the cells that are no float, int or None: text, TRUE..."""
    kinds = np.fromiter(map(type, cells), dtype=object, count=len(cells))
    first, *rest = _PLAIN_TYPES
    others = np.flatnonzero(kinds != first)
    # Each comparison runs in C, over fewer cells each time.
    for kind in rest:
        others = others[kinds[others] != kind]
    return others


def _threshold_metric(
    blocks: dict[str, _Block], axis: str, book: _BookSettings, shape: tuple[int, int]
) -> _Metric:
    """The threshold for every account: the one given, else the workbook's."""
    block = blocks.get(f"{axis} threshold")
    if block is None:
        default = getattr(book, f"{axis}_threshold")
        count = shape[0] * shape[1]
        if default is None:
            return _Metric.constant(count, np.nan, _NOT_SET)
        return _Metric.constant(count, default, None)

    metric = _Metric.of_block(block, shape)
    if axis == "health" and book.scale is HealthScale.PERCENT:
        values = np.where(metric.percent, metric.values, metric.values / 100.0)
        return _Metric(values, metric.percent, metric.problems, metric.blank)
    return metric


def _tier_labels(
    codes: np.ndarray, quadrant_names: list[str], metrics: dict[str, _Metric]
) -> tuple[np.ndarray, np.ndarray]:
    """Every cell's text as a code into a few labels: the quadrant names, "" for a
    blank row, then each distinct reason an account is unscored.

    ``codes`` are ``quadrant_codes`` and are changed in place. A blank row (revenue
    and health blank) shows "" whatever else is missing, as one account does.
    """
    blank = metrics["revenue"].blank & metrics["health"].blank
    codes[blank] = len(quadrant_names)

    unscored = np.flatnonzero(codes < 0)
    reason_codes, reasons = pd.factorize(_reasons(unscored, metrics))
    codes[unscored] = len(quadrant_names) + 1 + reason_codes
    return np.array([*quadrant_names, "", *reasons], dtype=object), codes


def _reasons(positions: np.ndarray, metrics: dict[str, _Metric]) -> np.ndarray:
    """Why the accounts at ``positions`` are unscored: the first metric with a
    problem wins, in the order of ``metrics``, as in the one-account path."""
    reasons = np.full(positions.size, UNSCORED, dtype=object)
    if not positions.size:
        return reasons

    # Written last wins, so the metrics go in reverse order of precedence.
    for label, metric in reversed(metrics.items()):
        problems = metric.problems[positions]
        found = problems != None  # noqa: E711 - elementwise
        reasons[found] = f"{UNSCORED}: {label} " + problems[found]
    return reasons


def _single(value: Any) -> Any:
    """The value of a one-cell block; Excel's ndim=2 gives even one cell as [[x]]."""
    if isinstance(value, list | tuple) and len(value) == 1:
        row = value[0]
        if isinstance(row, list | tuple) and len(row) == 1:
            return row[0]
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.reshape(-1)[0]
    return value


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, list | tuple | np.ndarray)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# Playbooks and segments.


def _playbook_texts(caller: Any, field: str) -> dict[str, str]:
    """``field`` of each quadrant, by its name, its key and UNSCORED, lower case."""
    found = read_caller_book(caller, list(QUADRANT_NAMES.values()), [PLAYBOOKS_TABLE])
    by_name = _playbooks_table(found.get(PLAYBOOKS_TABLE))

    texts: dict[str, str] = {}
    for key in QUADRANT_KEYS:
        quadrant = _DEFAULTS.quadrants[key]
        name = found.get(QUADRANT_NAMES[key])
        name = name.strip() if isinstance(name, str) and name.strip() else quadrant.name
        own = by_name.get(name.casefold(), {})
        approach = own.get("approach") or quadrant.approach.value
        cadence = own.get("cadence") or quadrant.cadence
        activities = own.get("activities") or "\n".join(quadrant.activities)
        text = {
            "playbook": f"{approach}: {cadence}",
            "approach": approach,
            "cadence": cadence,
            "summary": own.get("summary") or quadrant.summary,
            # One line in a cell: Excel shows line breaks only in wrapped cells.
            "activities": "; ".join(line for line in activities.splitlines() if line),
        }[field]
        texts[name.casefold()] = texts[key] = text
    texts[UNSCORED.casefold()] = FIX_THE_DATA
    return texts


def _playbooks_table(rows: Any) -> dict[str, dict[str, str]]:
    """The Playbooks table's rows by lower-case quadrant name."""
    if not isinstance(rows, list) or len(rows) < 2 or not isinstance(rows[0], list):
        return {}
    headers = [str(cell or "").strip().casefold() for cell in rows[0]]
    if "quadrant" not in headers:
        return {}
    table = {}
    for row in rows[1:]:
        cells = dict(zip(headers, row, strict=False))
        name = cells.get("quadrant")
        if isinstance(name, str) and name.strip():
            table[name.strip().casefold()] = {
                header: str(value).strip()
                for header, value in cells.items()
                if isinstance(value, str) and value.strip()
            }
    return table


def _key(cell: Any) -> str:
    if isinstance(cell, str):
        return cell.strip().casefold()
    # A number or date is no quadrant name; keep it apart from any name.
    return "" if cell is None or cell != cell else f"\0{cell!r}"


def _playbook_of(quadrant: Any, texts: dict[str, str]) -> str:
    key = _key(quadrant)
    if key == "":
        return ""
    if key.startswith(UNSCORED.casefold()):
        return FIX_THE_DATA
    if key in texts:
        return texts[key]
    shown = str(quadrant).strip()
    return f"No playbook for '{shown}': give a quadrant name such as TIER 1"


def _segment_settings(names: Any, minimums: Any) -> Settings | str:
    """Settings with the workbook's segment bands, or why they cannot be used."""
    if names is None or minimums is None:
        return _DEFAULTS
    names = names if isinstance(names, list) else [names]
    minimums = minimums if isinstance(minimums, list) else [minimums]
    bands = [
        (str(name).strip(), parse_number(minimum).number)
        for name, minimum in zip(names, minimums, strict=False)
        if isinstance(name, str) and name.strip()
    ]
    bounds = [minimum for _, minimum in bands]
    if not bands or None in bounds or bounds != sorted(bounds):
        return (
            "APM_SEGMENT: the segment minimums on Settings must be numbers "
            "that rise from one segment to the next"
        )
    segments = [
        segment.model_copy(update={"name": name, "min_revenue": minimum})
        for segment, (name, minimum) in zip(
            _cycle(_DEFAULTS.segments, len(bands)), bands, strict=True
        )
    ]
    return _DEFAULTS.model_copy(update={"segments": segments})


def _cycle(items: list[Any], count: int) -> list[Any]:
    return [items[index % len(items)] for index in range(count)]
