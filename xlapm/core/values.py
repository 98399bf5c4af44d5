"""Numbers the way a CSM types them: ``$12,345.67``, ``98 000 EUR``, ``45%``, ``(5)``.

One rule, two entry points. ``parse_number`` reads one value (Excel formulas call it,
so it is plain string work); ``parse_number_column`` reads a whole column and gives
the same answer for every value, only faster.

The rule, for text:

- Surrounding spaces are ignored; spaces, no-break spaces (also the narrow one) and
  apostrophes (``1'200``) group thousands in either convention.
- With ``decimal="."`` a comma groups thousands; with ``decimal=","`` a dot groups
  thousands and the comma is the decimal mark. Thousands groups must be complete
  (``1,234,567``; Indian ``12,34,567`` too), so a value whose separator can only be a
  decimal mark of the other convention, such as ``1,5`` with ``decimal="."``, is
  refused as ambiguous instead of being read as 15 or 1.5. ``1,500`` with
  ``decimal="."`` is 1500: that is what the convention says.
- One currency sign or code may stand before or after the number (``$``, ``€``,
  ``£``, ``¥``, ``₹``, ``USD``, ``EUR``, ``CHF``...).
- A ``%`` sign divides by 100 and sets ``percent``: ``45%`` is 0.45.
- Negatives: ``-5``, ``−5``, ``5-`` (SAP style) and accounting brackets ``(5,000)``.
- Shorthand such as ``1.2k``, ``3M`` or ``2bn`` is refused with its own phrase: in a
  CRM export ``M`` may as well be months, and a wrong ARR is worse than a missing one.
- Blank text, ``n/a``, ``NA``, ``null``, ``none``, ``-``, ``—``, ``(blank)`` and Excel
  errors such as ``#N/A`` or ``#DIV/0!`` have no number and say why in ``problem``.
  A missing value is never read as 0.

Other values: ints, floats and numpy numbers are numbers (NaN is blank); ``True`` and
``False`` are not numbers, nor are dates.
"""

from __future__ import annotations

import datetime
import decimal as decimal_module
import logging
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

BLANK = "is blank"
NOT_A_NUMBER = "is not a number"
TRUE_OR_FALSE = "is TRUE or FALSE, not a number"
A_DATE = "is a date or time, not a number"
SHORTHAND = "uses a shorthand (k, M, B), not the full number"
NOT_FINITE = "is not a finite number"

DECIMAL_MARKS = (".", ",")

EXCEL_ERRORS = frozenset(
    {
        "#NULL!",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#N/A",
        "#GETTING_DATA",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#UNKNOWN!",
        "#PYTHON!",
        "#EXTERNAL!",
    }
)

MISSING_MARKERS = frozenset(
    {
        "n/a",
        "na",
        "n.a.",
        "n.a",
        "nan",
        "null",
        "none",
        "nil",
        "-",
        "--",
        "---",
        "—",
        "–",
        "(blank)",
    }
)

# Newer Excel versions add error values now and then; any #WORD! or #WORD? is one.
_EXCEL_ERROR_SHAPE = re.compile(r"#[A-Z][A-Z0-9_/]*[!?]")

CURRENCIES = frozenset(
    {
        *"$€£¥₹₩₽₺₪฿",
        *("US$", "NZ$", "HK$", "A$", "C$", "R$", "S$"),
        *("USD", "EUR", "GBP", "CHF", "CAD", "AUD", "NZD", "JPY", "CNY", "INR"),
        *("SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "BRL", "MXN", "ZAR", "SGD"),
        *("HKD", "KRW", "RUB", "TRY", "ILS", "AED", "SAR"),
    }
)

# Any short run of letters is taken here and checked against CURRENCIES afterwards:
# one set lookup is much cheaper than a regex alternative per currency code.
_CURRENCY = r"(?:[A-Za-z]{0,2}\$|[€£¥₹₩₽₺₪฿]|[A-Za-z]{3}(?![A-Za-z]))"


def _number_pattern(decimal: str) -> re.Pattern[str]:
    """The grammar of a well-typed number when ``decimal`` is the decimal mark."""
    other_mark = "," if decimal == "." else "."
    grouped = rf"[0-9]{{1,3}}(?P<sep>[{re.escape(other_mark)}'’ ])[0-9]{{3}}"
    grouped += r"(?:(?P=sep)[0-9]{3})*"
    indian = r"|[0-9]{1,2}(?:,[0-9]{2})*,[0-9]{3}" if decimal == "." else ""
    return re.compile(
        rf"(?P<lparen>\()?\s*(?P<lsign>[-+])?\s*(?P<lcur>{_CURRENCY})?"
        rf"\s*(?P<isign>[-+])?\s*(?P<iparen>\()?\s*"
        rf"(?P<whole>{grouped}{indian}|[0-9]*)"
        rf"(?:{re.escape(decimal)}(?P<fraction>[0-9]*))?"
        rf"(?P<exponent>[eE][-+]?[0-9]{{1,3}})?"
        rf"\s*(?P<irparen>\))?\s*(?P<rcur>{_CURRENCY})?\s*(?P<percent>%)?"
        rf"\s*(?P<rsign>-)?\s*(?P<rparen>\))?"
    )


# Loose on purpose: it only tells an ambiguous value from one that is no number.
_NUMBER_LIKE = re.compile(
    rf"[-+(]?\s*{_CURRENCY}?\s*[-+(]?\s*(?P<body>[0-9.,'’ ]*[0-9][0-9.,'’ ]*)"
    rf"\s*\)?\s*{_CURRENCY}?\s*%?\s*-?\)?"
)

_SHORTHAND_TEXT = re.compile(
    rf"[-+(]?\s*{_CURRENCY}?\s*[0-9][0-9.,]*\s*(?i:k|m|mm|mn|b|bn)\)?"
)

# Every kind of space a spreadsheet or a keyboard layout puts between digit groups
# becomes a plain space; the typographic minus becomes a hyphen.
_SPACES_AND_MINUS = str.maketrans(
    {"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u2212": "-"}
)

_NUMBER_TEXT = {decimal: _number_pattern(decimal) for decimal in DECIMAL_MARKS}

_PLAIN_NUMBER = {
    ".": r"[-+]?[0-9]+(?:\.[0-9]+)?",
    ",": r"[-+]?[0-9]+(?:,[0-9]+)?",
}

_EXCEL_TEXT_WRAPPER = re.compile(r'=\s*(\()?\s*"(.*)"\s*(?(1)\))', re.DOTALL)

_Reading = tuple[float | None, bool, str | None]


@dataclass(frozen=True, slots=True)
class ParsedValue:
    """One value read as a number.

    ``number`` is None when there is none; ``percent`` says the text had a ``%``
    sign (``number`` is then already divided by 100); ``problem`` is None when the
    value is fine, else a short phrase for a CSM, such as ``"is blank"``.
    """

    number: float | None
    percent: bool = False
    problem: str | None = None


@dataclass(frozen=True, eq=False)
class NumberColumn:
    """A column read as numbers, position by position.

    ``values`` is float64 with NaN where there is no number, ``percent`` marks
    values typed with a ``%`` sign, ``problems`` holds None or the phrase.
    """

    values: np.ndarray
    percent: np.ndarray
    problems: np.ndarray

    def __len__(self) -> int:
        return len(self.values)


def parse_number(value: object, decimal: str = ".") -> ParsedValue:
    """Read one value the way a CSM typed it (see the module docstring).

    Args:
        value: a cell value: text, a number, None, a bool, a date...
        decimal: the decimal mark in force, ``"."`` or ``","``.

    Returns:
        The number (or None) with the percent flag and the problem, if any.
    """
    _check_decimal_mark(decimal)
    return ParsedValue(*_read_value(value, decimal))


def parse_number_column(values: pd.Series, decimal: str = ".") -> NumberColumn:
    """Read a whole column with the same rule as ``parse_number``.

    Values that are already numbers, and text that is a plain number, take a
    vectorised path; the other text is read once per distinct value.

    Args:
        values: the column, any dtype.
        decimal: the decimal mark in force, ``"."`` or ``","``.

    Returns:
        Arrays aligned with ``values`` by position.
    """
    _check_decimal_mark(decimal)
    count = len(values)
    column = NumberColumn(
        values=np.full(count, np.nan),
        percent=np.zeros(count, dtype=bool),
        problems=np.full(count, None, dtype=object),
    )

    if _is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        _fill_from_numbers(column, np.arange(count), numbers)
        return column

    cells = values.to_numpy(dtype=object)
    route = _route_by_type(cells)
    _fill_from_numbers(column, *_numbers_of(cells, route == "number"))
    _fill_from_text(column, cells, np.flatnonzero(route == "text"), decimal)
    _fill_one_by_one(column, cells, np.flatnonzero(route == "other"), decimal)
    return column


def unwrap_excel_text(text: str | None) -> str | None:
    """Remove Excel's text-forcing wrapper: ``="0012"`` and ``=("0012")`` are ``0012``.

    CRM exports wrap IDs this way so that Excel keeps their leading zeros. Other
    values come back unchanged.
    """
    if not isinstance(text, str) or not text.startswith("="):
        return text

    wrapped = _EXCEL_TEXT_WRAPPER.fullmatch(text)
    if wrapped is None:
        return text
    return wrapped.group(2).replace('""', '"')


def unwrap_excel_text_column(values: pd.Series) -> pd.Series:
    """``unwrap_excel_text`` for a whole column.

    Returns a new Series, or ``values`` itself when no cell is wrapped.
    """
    try:
        wrapped = values.str.startswith("=", na=False).to_numpy(dtype=bool)
    except AttributeError:
        # Pandas refuses .str on a column with no text at all: nothing to unwrap.
        return values
    if not wrapped.any():
        return values

    unwrapped = values.astype(object)
    unwrapped[wrapped] = values[wrapped].map(unwrap_excel_text)
    return unwrapped


def _check_decimal_mark(decimal: str) -> None:
    if decimal not in DECIMAL_MARKS:
        # A programming error, not a user one: settings are validated upstream.
        raise ValueError(f"decimal must be '.' or ',', not {decimal!r}")


def _read_value(value: object, decimal: str) -> _Reading:
    if isinstance(value, str):
        return _read_text(value, decimal)
    if value is None or value is pd.NA or value is pd.NaT:
        return None, False, BLANK
    if isinstance(value, (bool, np.bool_)):
        return None, False, TRUE_OR_FALSE
    if isinstance(value, (int, float, np.integer, np.floating, decimal_module.Decimal)):
        return _read_native_number(value)
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        return None, False, A_DATE
    if isinstance(value, np.datetime64):
        return (None, False, BLANK) if np.isnat(value) else (None, False, A_DATE)
    return None, False, NOT_A_NUMBER


def _read_native_number(value: object) -> _Reading:
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        return None, False, NOT_FINITE

    if math.isnan(number):
        return None, False, BLANK
    if math.isinf(number):
        return None, False, NOT_FINITE
    return number, False, None


def _read_text(text: str, decimal: str) -> _Reading:
    if not text.isascii():
        text = text.translate(_SPACES_AND_MINUS)
    text = text.strip()
    if not text:
        return None, False, BLANK

    parts = _NUMBER_TEXT[decimal].fullmatch(text)
    reading = None if parts is None else _reading_of(parts)
    return reading or (None, False, _problem_of(text, decimal))


def _reading_of(parts: re.Match[str]) -> _Reading | None:
    """The reading of a text that fits the number grammar, None if it is no number."""
    (
        lparen, lsign, lcurrency, isign, iparen,
        whole, separator, fraction, exponent,
        irparen, rcurrency, percent, rsign, rparen,
    ) = parts.groups()  # fmt: skip
    if not (whole or fraction):
        return None

    sign = 1.0
    if lparen or lsign or isign or iparen or irparen or rsign or rparen:
        sign = _sign_of((lparen, iparen), (irparen, rparen), (lsign, isign, rsign))
    if not sign:
        return None
    if (lcurrency or rcurrency) and not _is_one_currency(lcurrency, rcurrency, percent):
        return None

    # Indian grouping has no captured separator; it only ever uses commas.
    digits = whole if whole.isdigit() else whole.replace(separator or ",", "")
    if fraction is not None or exponent is not None:
        digits = f"{digits}.{fraction or ''}{exponent or ''}"
    number = sign * float(digits)
    if not math.isfinite(number):
        return None, False, NOT_FINITE
    return (number / 100, True, None) if percent else (number, False, None)


def _sign_of(
    opening: tuple[str | None, ...],
    closing: tuple[str | None, ...],
    signs: tuple[str | None, ...],
) -> float:
    """-1.0 or 1.0 from brackets and signs, 0.0 when they make no sense together."""
    opened = sum(bracket is not None for bracket in opening)
    given = sum(sign is not None for sign in signs)

    # One sign at most: "-(5)" or "+5-" mean nothing a CSM would type on purpose.
    if opened != sum(bracket is not None for bracket in closing) or opened + given > 1:
        return 0.0
    return -1.0 if opened or "-" in signs else 1.0


def _is_one_currency(left: str | None, right: str | None, percent: str | None) -> bool:
    """At most one currency, a known one, and never with a percent sign."""
    if left is not None and right is not None or percent is not None:
        return False
    return (left or right or "").upper() in CURRENCIES


def _problem_of(text: str, decimal: str) -> str:
    """Why a text that is no well-typed number has no number."""
    if text.lower() in MISSING_MARKERS:
        return f"is marked as missing ('{text}')"
    if text.upper() in EXCEL_ERRORS or _EXCEL_ERROR_SHAPE.fullmatch(text):
        return f"is an Excel error ({text})"
    if _SHORTHAND_TEXT.fullmatch(text):
        return SHORTHAND

    number_like = _NUMBER_LIKE.fullmatch(text)
    body = "" if number_like is None else number_like["body"]
    if _other_mark(decimal) in body or body.count(decimal) > 1:
        return f"is not a number (the decimal mark here is '{decimal}')"
    return NOT_A_NUMBER


def _other_mark(decimal: str) -> str:
    return "," if decimal == "." else "."


def _is_numeric_dtype(values: pd.Series) -> bool:
    numeric = pd.api.types.is_numeric_dtype(values.dtype)
    return numeric and not pd.api.types.is_bool_dtype(values.dtype)


def _route_by_type(cells: np.ndarray) -> np.ndarray:
    """``"number"``, ``"text"`` or ``"other"`` for each cell, decided once per type."""
    codes, kinds = pd.factorize(pd.Series([type(cell) for cell in cells], dtype=object))
    routes = np.array([_route_of_type(kind) for kind in kinds], dtype=object)
    return routes[codes]


def _route_of_type(kind: type) -> str:
    if issubclass(kind, (bool, np.bool_)):
        return "other"
    if issubclass(kind, str):
        return "text"
    if issubclass(kind, (int, float, np.integer, np.floating, type(None))):
        return "number"
    return "other"


def _numbers_of(cells: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    positions = np.flatnonzero(mask)
    picked = pd.Series(cells[positions], dtype=object)
    try:
        numbers = pd.to_numeric(picked).to_numpy(dtype=np.float64, na_value=np.nan)
    except (OverflowError, TypeError, ValueError):
        # Python ints too large for a float: read them one by one.
        numbers = np.array([_as_float(cell) for cell in picked], dtype=np.float64)
    return positions, numbers


def _as_float(cell: object) -> float:
    if cell is None:
        return math.nan
    try:
        return float(cell)  # type: ignore[arg-type]
    except OverflowError:
        return math.inf


def _fill_from_numbers(
    column: NumberColumn, positions: np.ndarray, numbers: np.ndarray
) -> None:
    column.values[positions] = numbers
    column.problems[positions[np.isnan(numbers)]] = BLANK
    infinite = positions[np.isinf(numbers)]
    column.values[infinite] = np.nan
    column.problems[infinite] = NOT_FINITE


def _fill_from_text(
    column: NumberColumn, cells: np.ndarray, positions: np.ndarray, decimal: str
) -> None:
    if not len(positions):
        return

    texts = pd.Series(cells[positions], dtype=object)
    plain = texts.str.fullmatch(_PLAIN_NUMBER[decimal]).to_numpy(dtype=bool)
    plain_texts = texts[plain]
    if decimal == ",":
        plain_texts = plain_texts.str.replace(",", ".", regex=False)
    # numpy turns each text into a float as float() does, so both paths agree.
    numbers = plain_texts.to_numpy(dtype=object).astype(np.float64)
    _fill_from_numbers(column, positions[plain], numbers)

    messy = positions[~plain]
    codes, distinct = pd.factorize(texts[~plain])
    readings = [_read_text(text, decimal) for text in distinct]
    logger.debug("read %d distinct messy texts for %d cells", len(distinct), len(messy))
    _fill_from_readings(column, messy, codes, readings)


def _fill_one_by_one(
    column: NumberColumn, cells: np.ndarray, positions: np.ndarray, decimal: str
) -> None:
    readings = [_read_value(cells[position], decimal) for position in positions]
    _fill_from_readings(column, positions, np.arange(len(positions)), readings)


def _fill_from_readings(
    column: NumberColumn,
    positions: np.ndarray,
    codes: np.ndarray,
    readings: list[_Reading],
) -> None:
    if not readings:
        return

    numbers = np.array([np.nan if r[0] is None else r[0] for r in readings])
    percents = np.array([r[1] for r in readings], dtype=bool)
    problems = np.array([r[2] for r in readings], dtype=object)
    column.values[positions] = numbers[codes]
    column.percent[positions] = percents[codes]
    column.problems[positions] = problems[codes]
