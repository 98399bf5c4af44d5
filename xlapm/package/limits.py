"""Excel's own limits, checked where values enter xlapm.

Every error names the value and the Excel rule it breaks, so a CSM can fix the
setting or the name that caused it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from xlapm.errors import ExcelLimitError

MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384
MAX_CELL_TEXT = 32_767
MAX_SHEET_NAME = 31
MAX_DEFINED_NAME = 255

# Excel keeps "History" for the change-history sheet of shared workbooks and refuses
# it as a sheet name in any letter case.
RESERVED_SHEET_NAME = "History"

SHEET_NAME_FORBIDDEN = "[]:*?/\\"

# What make_sheet_names puts in place of each forbidden character.
_SHEET_NAME_REPLACEMENTS = {
    "/": "-",
    "\\": "-",
    ":": "-",
    "[": "(",
    "]": ")",
    "*": "",
    "?": "",
}

_A1_REFERENCE = re.compile(r"([A-Za-z]{1,3})([0-9]+)")
_R1C1_REFERENCE = re.compile(r"[Rr][0-9]*[Cc][0-9]*|[Rr][0-9]*|[Cc][0-9]*")


def sheet_name_key(name: str) -> str:
    """Return the form under which Excel treats two sheet names as the same.

    Excel compares sheet names letter by letter ignoring case; ``str.lower`` is the
    closest simple case mapping (``casefold`` would also merge "ß" with "ss", which
    Excel keeps apart).
    """
    return name.lower()


def excel_length(text: str) -> int:
    """Return the length of ``text`` as Excel counts it: in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def validate_sheet_name(name: str) -> str:
    """Return ``name`` unchanged if Excel accepts it as a sheet name.

    Args:
        name: the proposed sheet name.

    Returns:
        The same name.

    Raises:
        ExcelLimitError: the message names the value and the rule it breaks.
    """
    rule = _sheet_name_problem(name)
    if rule is not None:
        raise ExcelLimitError(
            f"Sheet name {name!r} is not allowed: {rule}",
            hint="Choose another sheet name.",
        )
    return name


def validate_sheet_names(names: Iterable[str]) -> list[str]:
    """Return ``names`` if each is a valid sheet name and no two are the same to
    Excel (which ignores letter case).

    Raises:
        ExcelLimitError: naming the bad or clashing name and the rule.
    """
    seen: dict[str, str] = {}
    result = []
    for name in names:
        validate_sheet_name(name)
        key = sheet_name_key(name)
        if key in seen:
            raise ExcelLimitError(
                f"Sheet name {name!r} is used twice (also as {seen[key]!r}); Excel "
                "needs every sheet name to differ, ignoring case",
                hint="Choose another name; quadrant names must differ from the "
                "names of xlapm's other sheets.",
            )
        seen[key] = name
        result.append(name)
    return result


def _sheet_name_problem(name: str) -> str | None:
    """Return the Excel rule that ``name`` breaks, or None."""
    if not isinstance(name, str) or not name.strip():
        return "a sheet name cannot be blank"
    if excel_length(name) > MAX_SHEET_NAME:
        return f"Excel allows at most {MAX_SHEET_NAME} characters"
    bad = sorted({char for char in name if char in SHEET_NAME_FORBIDDEN})
    if bad:
        return (
            f"it contains {' '.join(bad)}; "
            f"Excel forbids {' '.join(SHEET_NAME_FORBIDDEN)} in sheet names"
        )
    if any(unicodedata.category(char) == "Cc" for char in name):
        return "control characters cannot be stored in a workbook"
    if name.startswith("'") or name.endswith("'"):
        return "a sheet name cannot start or end with an apostrophe (')"
    if sheet_name_key(name) == sheet_name_key(RESERVED_SHEET_NAME):
        return f"Excel reserves the name {RESERVED_SHEET_NAME!r}"
    return None


def make_sheet_names(names: Iterable[str], taken: Iterable[str] = ()) -> list[str]:
    """Turn arbitrary text (CSM names, segments) into valid, unique sheet names.

    Forbidden characters are replaced (``"Ana / Lee"`` becomes ``"Ana - Lee"``),
    names are cut to 31 characters, and a name that is already used, ignoring case,
    gets a counter: ``"Ana (2)"``.

    Args:
        names: the wanted names, in order.
        taken: names already in the workbook that must not be reused.

    Returns:
        One valid sheet name for each of ``names``, in the same order.
    """
    used = {sheet_name_key(name) for name in taken}
    used.add(sheet_name_key(RESERVED_SHEET_NAME))
    result = []
    for raw in names:
        base = _clean_sheet_name(raw)
        name = _unique_sheet_name(base, used)
        used.add(sheet_name_key(name))
        result.append(name)
    return result


def _clean_sheet_name(raw: object) -> str:
    """Return ``raw`` as text Excel accepts, before making it unique."""
    text = "".join(_SHEET_NAME_REPLACEMENTS.get(char, char) for char in str(raw))
    text = "".join(" " if unicodedata.category(char) == "Cc" else char for char in text)
    text = " ".join(text.split()).strip("'").strip()
    text = _cut(text, MAX_SHEET_NAME)
    return text or "Sheet"


def _unique_sheet_name(base: str, used: set[str]) -> str:
    """Return ``base``, or ``base (n)`` cut to fit, not in ``used``."""
    if sheet_name_key(base) not in used:
        return base
    counter = 2
    while True:
        suffix = f" ({counter})"
        stem = _cut(base, MAX_SHEET_NAME - len(suffix))
        candidate = f"{stem}{suffix}"
        if sheet_name_key(candidate) not in used:
            return candidate
        counter += 1


def _cut(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` UTF-16 units without splitting a character."""
    while excel_length(text) > limit:
        text = text[:-1]
    return text.rstrip().rstrip("'").rstrip()


def validate_defined_name(name: str) -> str:
    """Return ``name`` unchanged if Excel accepts it as a defined name.

    Excel's rules: 1 to 255 characters; the first is a letter, ``_`` or ``\\``; the
    rest are letters, digits, ``_``, ``.`` or ``\\``; no spaces; and the name must
    not read as a cell reference (``A1``, ``XFD1048576``, ``R1C1``, ``R``, ``C``).

    Raises:
        ExcelLimitError: the message names the value and the rule it breaks.
    """
    rule = _defined_name_problem(name)
    if rule is not None:
        raise ExcelLimitError(
            f"Name {name!r} is not allowed: {rule}",
            hint="Choose another name.",
        )
    return name


def _defined_name_problem(name: str) -> str | None:
    """Return the Excel rule that ``name`` breaks, or None."""
    if not isinstance(name, str) or not name:
        return "a name cannot be blank"
    if len(name) > MAX_DEFINED_NAME:
        return f"Excel allows at most {MAX_DEFINED_NAME} characters"
    first, rest = name[0], name[1:]
    if not (first.isalpha() or first in "_\\"):
        return "the first character must be a letter, _ or \\"
    if any(not (char.isalnum() or char in "_.\\") for char in rest):
        return "only letters, digits, _, . and \\ are allowed (no spaces)"
    if _looks_like_reference(name):
        return "it reads as a cell reference"
    return None


def _looks_like_reference(name: str) -> bool:
    """Tell whether Excel would read ``name`` as an A1 or R1C1 reference."""
    if _R1C1_REFERENCE.fullmatch(name):
        return True
    match = _A1_REFERENCE.fullmatch(name)
    if match is None:
        return False
    return (
        _column_number(match.group(1)) <= MAX_COLUMNS
        and 1 <= int(match.group(2)) <= MAX_ROWS
    )


def _column_number(letters: str) -> int:
    """Return the 1-based column number of column ``letters`` (A = 1)."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def validate_cell_text(text: str) -> str:
    """Return ``text`` unchanged if it fits in one Excel cell (32,767 characters).

    Raises:
        ExcelLimitError: naming the start of the text and the limit.
    """
    if excel_length(text) > MAX_CELL_TEXT:
        raise ExcelLimitError(
            f"Text starting {text[:20]!r} has {excel_length(text):,} characters; "
            f"an Excel cell holds at most {MAX_CELL_TEXT:,}",
            hint="Shorten the text.",
        )
    return text


def validate_row_count(rows: int, sheet: str) -> int:
    """Return ``rows`` unchanged if a sheet can hold that many (1,048,576).

    Raises:
        ExcelLimitError: naming the sheet, the count and the limit.
    """
    if rows > MAX_ROWS:
        raise ExcelLimitError(
            f"Sheet {sheet!r} would need {rows:,} rows; "
            f"an Excel sheet holds at most {MAX_ROWS:,}",
            hint="Filter the accounts or split them over several sheets.",
        )
    return rows
