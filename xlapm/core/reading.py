"""Reading account tables from the files CSMs really have: CRM exports and workbooks.

``read_table`` gives one ``RawTable`` for a CSV, TSV or TXT export (any encoding and
delimiter Excel or a CRM writes) or for a sheet or Excel Table of an ``.xlsx`` or
``.xlsm`` workbook. Cells are not turned into numbers here: that is
``xlapm.core.values``'s job, so a problem is reported once, with its row.

Every ``rows`` entry is the row number a person sees for that record: the Excel row
for a workbook, and for a text file the row Excel shows when it opens the file
(the header is row 1; a quoted value that spans lines stays in one row).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import io
import itertools
import logging
import math
import posixpath
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.parsers import expat

import charset_normalizer
import numpy as np
import pandas as pd
import python_calamine

from xlapm.core.values import unwrap_excel_text
from xlapm.errors import FileProblem, InputError, UnsafeWorkbook
from xlapm.package.safety import Package, open_package

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
DELIMITERS = (",", ";", "\t", "|")

# Enough lines to tell a delimiter apart, few enough to stay instant on big files.
_SNIFF_CHARS = 64 * 1024
_SNIFF_LINES = 20

_QUOTED = re.compile(r'"(?:[^"]|"")*"')
_EXCEL_SEP_LINE = re.compile(r'"?sep=(.)"?[,;\t|]*', re.IGNORECASE)
_PANDAS_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_CELL_REF = re.compile(r"([A-Z]+)([0-9]+)")
# Byte patterns that a sheet's XML must hold for a parse to be worth it; a false
# hit only costs the parse. Plain bytes.find is many times faster than a regex.
_FORMULA_TAGS = (b"<f>", b"<f ", b"<f/", b":f>", b":f ", b":f/")
_ERROR_CELLS = (b't="e"', b"t='e'")

_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_SIGNATURE = b"PK\x03\x04"

_OFFICE_DOCUMENT = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    "officeDocument",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
)
_RELATIONSHIP_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)


# How far down a CRM report may put its title lines above the header.
_HEADER_SEARCH_ROWS = 60


@dataclass
class RawTable:
    """An account table as read from a file, before any value is interpreted.

    ``frame`` has one column per header. Its cells are stripped text (CSV) or the
    workbook's own values (float, int, str, bool, date, datetime), None when
    empty. ``rows`` holds the row number a person sees for each record.
    """

    frame: pd.DataFrame
    rows: np.ndarray
    source: str
    sheet: str | None
    encoding: str | None
    delimiter: str | None
    decimal: str
    # For workbooks: the worksheet read, and the Excel Table when there was one.
    worksheet: str | None = None
    table: str | None = None


@dataclass
class _Cells:
    """A block of workbook cells: the header row and the records below it.

    ``first_row`` is the sheet row (from 1) of the first record, ``first_column``
    the sheet column (from 0) of the first cell of every row.
    """

    headers: list[object]
    records: list[list[object]]
    first_row: int
    first_column: int


@dataclass(frozen=True)
class _Target:
    """Where the accounts are in a workbook: a whole sheet or one Excel Table."""

    sheet: str
    table: str | None = None

    @property
    def name(self) -> str:
        return self.table or self.sheet


def read_table(
    path: Path, *, sheet: str | None = None, decimal: str | None = None
) -> RawTable:
    """Read the account table in ``path``.

    Args:
        path: a ``.csv``, ``.tsv`` or ``.txt`` export, or an ``.xlsx``/``.xlsm``
            workbook.
        sheet: for a workbook, the sheet or Excel Table to read. By default an
            Excel Table called "Accounts" (any case, also "tblAccounts"), else a
            sheet called "Accounts", else the first visible sheet. Ignored for
            text files.
        decimal: the decimal mark, ``"."`` or ``","``. None means: ``","`` for a
            ``;``-separated text file (Excel's European convention), else ``"."``.

    Returns:
        The table, its row numbers and how it was read.

    Raises:
        FileProblem: the file is missing, unreadable or not what its name says.
        UnsafeWorkbook: the workbook is a zip bomb or carries hostile XML.
        InputError: the file is empty, or ``sheet`` names no sheet or table.
    """
    path = Path(path)
    _check_is_file(path)
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return _read_text_file(path, decimal)
    if suffix in WORKBOOK_SUFFIXES:
        return _read_workbook(path, sheet, decimal)
    raise _unsupported_suffix(path)


def find_uncached_formulas(path: Path, sheet: str | None = None) -> list[str]:
    """Formula cells without a saved result in the sheet or table ``read_table`` reads.

    A workbook last saved by a program other than Excel (openpyxl, a script) keeps
    formulas but no results, and reading it gives empty cells where the numbers
    should be. Excel or LibreOffice compute and save them when the file is opened
    and saved again.

    Args:
        path: an ``.xlsx`` or ``.xlsm`` workbook.
        sheet: the sheet or Excel Table, chosen as in ``read_table``.

    Returns:
        Cell references such as ``"C5"``, in sheet order; empty when all is well.
    """
    path = Path(path)
    _check_is_file(path)
    if path.suffix.lower() not in WORKBOOK_SUFFIXES:
        raise _unsupported_suffix(path)

    with _open_checked_package(path) as package:
        with _open_calamine(path) as workbook:
            target = _choose_target(workbook, sheet, path.name)
            area = _table_area(workbook, target)
        scan = _scan_sheet(package, target.sheet, _FORMULA_TAGS)
    return [ref for ref in scan.uncached if area is None or _inside(ref, area)]


# Text files.


def _read_text_file(path: Path, decimal: str | None) -> RawTable:
    data = _read_bytes(path)
    _refuse_binary_text(data, path)
    encoding, text = _decode(data)
    delimiter, text = _detect_delimiter(text)
    logger.debug("%s: encoding %s, delimiter %r", path.name, encoding, delimiter)

    blank_start, text = _without_blank_start(text)
    preamble, text = _without_preamble(text, delimiter)
    blank_start += preamble
    grid = _parse_delimited(text, delimiter, path.name)
    frame = _clean_text_cells(grid)
    header_position = _first_filled_row(frame, path.name)
    records = frame.iloc[header_position + 1 :]
    return _raw_table(
        headers=list(frame.iloc[header_position]),
        records=records,
        rows=records.index.to_numpy(dtype=np.int64) + blank_start + 1,
        source=path.name,
        sheet=None,
        encoding=encoding,
        delimiter=delimiter,
        decimal=decimal or ("," if delimiter == ";" else "."),
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError as error:
        raise FileProblem(
            f"{path.name} cannot be read: permission denied.",
            hint="Check the file's permissions, or copy it somewhere you can read.",
        ) from error
    except OSError as error:
        raise FileProblem(
            f"{path.name} cannot be read: {error.strerror or error}.",
            hint="Check that the file is not still being downloaded or synced.",
        ) from error


def _refuse_binary_text(data: bytes, path: Path) -> None:
    if data.startswith(_ZIP_SIGNATURE):
        raise FileProblem(
            f"{path.name} is a workbook or zip archive, not a text export.",
            hint="If it is an Excel workbook, rename it to .xlsx.",
        )
    if data.startswith(_OLE_SIGNATURE):
        raise FileProblem(
            f"{path.name} is an old Excel (.xls) workbook, not a text export.",
            hint="Open it in Excel and save it as .xlsx or CSV.",
        )


def _decode(data: bytes) -> tuple[str, str]:
    """The encoding of ``data`` and its text, without a byte order mark."""
    encoding = _detect_encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        # Only the last-resort guess can land here; a few odd bytes must not
        # stop a whole export from being read.
        text = data.decode(encoding, errors="replace")
    return encoding, text.removeprefix("\ufeff")


def _detect_encoding(data: bytes) -> str:
    """BOM, then UTF-16 by its NUL pattern, strict UTF-8, cp1252, then a guess.

    Windows-1252 is tried before charset-normalizer's own best guess because
    that is what Excel writes on Western Windows, and on a short export the
    guess is often a cousin that garbles accents (``mac_latin2`` for "Café").
    """
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return encoding

    utf16 = _utf16_by_nul_pattern(data)
    if utf16 is not None:
        return utf16
    if _decodes(data, "utf-8"):
        return "utf-8"

    sample = data[:_SNIFF_CHARS]
    if charset_normalizer.from_bytes(sample, cp_isolation=["cp1252"]).best():
        return "cp1252"
    guess = charset_normalizer.from_bytes(sample).best()
    if guess is not None and _decodes(data, guess.encoding):
        return guess.encoding
    return "cp1252"


def _utf16_by_nul_pattern(data: bytes) -> str | None:
    """UTF-16 without a BOM: mostly-ASCII text has a NUL in every other byte."""
    sample = data[:4096]
    sample = sample[: len(sample) // 2 * 2]
    if len(sample) < 4:
        return None

    half = len(sample) // 2
    even_nuls = sample[0::2].count(0) / half
    odd_nuls = sample[1::2].count(0) / half
    for encoding, nuls, others in (
        ("utf-16-le", odd_nuls, even_nuls),
        ("utf-16-be", even_nuls, odd_nuls),
    ):
        if nuls > 0.4 and others < 0.05 and _decodes(data, encoding):
            return encoding
    return None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _detect_delimiter(text: str) -> tuple[str, str]:
    """The delimiter, and the text without Excel's ``sep=`` line if it had one.

    Counts each candidate on the first lines outside quotes: the delimiter is
    found the same number of times on the header and on most data lines.
    """
    first_line, _, rest = text.partition("\n")
    declared = _EXCEL_SEP_LINE.fullmatch(first_line.strip())
    if declared and declared.group(1) in DELIMITERS:
        return declared.group(1), rest

    lines = _sample_lines(text)
    if not lines:
        return ",", text
    header, data_lines = lines[0], lines[1:]
    scores = []
    for delimiter in DELIMITERS:
        expected = header.count(delimiter)
        agreeing = sum(line.count(delimiter) == expected for line in data_lines)
        share = agreeing / len(data_lines) if data_lines else 1.0
        scores.append((expected > 0, share >= 0.8, expected, delimiter))
    best = max(scores, key=lambda score: score[:3])
    return (best[3] if best[0] else ","), text


def _sample_lines(text: str) -> list[str]:
    """The first non-blank lines, with quoted values (which may hold anything) cut."""
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS:
        sample = sample[: sample.rfind("\n") + 1]
    unquoted = _QUOTED.sub('""', sample)
    lines = [line for line in unquoted.splitlines() if line.strip()]
    return lines[:_SNIFF_LINES]


def _without_blank_start(text: str) -> tuple[int, str]:
    """How many blank lines open the text, and the text after them.

    Pandas takes the number of columns from the first line, so a blank first line
    would make a file of no columns.
    """
    skipped = 0
    while True:
        line, newline, rest = text.partition("\n")
        if line.strip() or not newline:
            return skipped, text
        skipped, text = skipped + 1, rest


def _without_preamble(text: str, delimiter: str) -> tuple[int, str]:
    """Lines above the header (a report title, a date) and the text below them.

    CRM reports often open with a line or two of their own; the header is the
    first record that fills about as many cells as the widest one nearby.
    """
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    ends: list[int] = []
    filled: list[int] = []
    for record in itertools.islice(reader, _HEADER_SEARCH_ROWS):
        ends.append(reader.line_num)
        filled.append(sum(1 for field in record if field.strip()))
    header = header_index(filled)
    if header == 0:
        return 0, text
    lines = text.split("\n")
    skipped = ends[header - 1]
    return skipped, "\n".join(lines[skipped:])


def header_index(filled: Sequence[int]) -> int:
    """Which of the first rows is the header, from how many cells each fills.

    The first row filling at least 60% of the cells of the fullest row (and two
    or more); rows above it are titles and notes. Without such a row, the first
    row with anything in it.
    """
    fullest = max(filled, default=0)
    wanted = max(2, math.ceil(0.6 * fullest))
    for index, count in enumerate(filled):
        if count >= wanted:
            return index
    return next((index for index, count in enumerate(filled) if count), 0)


def _parse_delimited(text: str, delimiter: str, source: str) -> pd.DataFrame:
    """Every record as text; pandas guesses no types and no missing values."""
    if not text.strip():
        raise InputError(
            f"{source} is empty.",
            hint="Export the accounts again: the file has no header row.",
        )
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            quotechar='"',
            doublequote=True,
            engine="c",
        )
    except pd.errors.ParserError as error:
        raise _ragged_file(error, delimiter, source) from error


def _ragged_file(error: Exception, delimiter: str, source: str) -> FileProblem:
    shown = {"\t": "tab"}.get(delimiter, f"'{delimiter}'")
    ragged = _PANDAS_RAGGED.search(str(error))
    where = (
        f"line {ragged.group(2)} has {ragged.group(3)} values where the header "
        f"has {ragged.group(1)}"
        if ragged
        else f"its layout cannot be read ({error})"
    )
    return FileProblem(
        f"{source} is not a regular {shown}-separated file: {where}.",
        hint=f"A value that contains {shown} or a line break must be in double "
        "quotes; fix that line or export the file again.",
    )


def _clean_text_cells(grid: pd.DataFrame) -> pd.DataFrame:
    """Strip every cell, unwrap ``="0012"``, and make empty cells None.

    Each distinct text is cleaned once: exports repeat the same values (segments,
    owners, Yes/No) down hundreds of thousands of rows.
    """
    cleaned = {}
    for position, column in enumerate(grid.columns):
        codes, distinct = pd.factorize(grid[column])
        # Code -1 (a missing field on a short line) picks the None put last.
        texts = [_clean_text_cell(text) for text in distinct]
        cleaned[position] = np.array([*texts, None], dtype=object)[codes]
    return pd.DataFrame(cleaned, index=grid.index, dtype=object)


def _clean_text_cell(text: str) -> str | None:
    return unwrap_excel_text(text.strip()) or None


# Workbooks.


def _read_workbook(path: Path, sheet: str | None, decimal: str | None) -> RawTable:
    with _open_checked_package(path) as package:
        with _open_calamine(path) as workbook:
            target = _choose_target(workbook, sheet, path.name)
            if target.table is not None:
                cells = _table_cells(workbook, target.table)
            else:
                cells = _sheet_cells(workbook, target.sheet, path)
        _put_error_values(
            cells, _scan_sheet(package, target.sheet, _ERROR_CELLS).errors
        )
    logger.debug("%s: reading %s", path.name, target)

    frame = _clean_workbook_cells(cells.records, len(cells.headers))
    table = _raw_table(
        headers=cells.headers,
        records=frame,
        rows=frame.index.to_numpy(dtype=np.int64) + cells.first_row,
        source=path.name,
        sheet=target.name,
        encoding=None,
        delimiter=None,
        decimal=decimal or ".",
    )
    table.worksheet, table.table = target.sheet, target.table
    return table


def table_from_rows(
    header: Sequence[object],
    rows: Sequence[Sequence[object]],
    source: str,
    first_row: int,
    *,
    sheet: str | None = None,
    decimal: str = ".",
) -> RawTable:
    """A ``RawTable`` from cell values already in memory, as an open workbook has them.

    The ribbon's rebuild reads the Accounts table of the open workbook in one block
    (xlwings) and hands it here, so its cells are cleaned as ``read_table`` cleans
    a saved ``.xlsx``; error values are expected as text such as ``"#N/A"``.

    Args:
        header: the header row's values.
        rows: the records below it, row by row.
        source: the name messages use, such as ``"Book1.xlsx"``.
        first_row: the Excel row number of the first record.
        sheet: the sheet or table the records come from.
        decimal: the decimal mark of numbers typed as text.

    Returns:
        The table, with empty records and empty unnamed columns dropped.
    """
    records = [list(row) for row in rows]
    frame = _clean_workbook_cells(records, len(header))
    return _raw_table(
        headers=list(header),
        records=frame,
        rows=frame.index.to_numpy(dtype=np.int64) + first_row,
        source=source,
        sheet=sheet,
        encoding=None,
        delimiter=None,
        decimal=decimal,
    )


@contextlib.contextmanager
def _open_checked_package(path: Path) -> Iterator[Package]:
    """The workbook's zip package, after the safety checks, with friendly refusals."""
    if not zipfile.is_zipfile(path):
        raise _not_a_workbook(path)

    package = open_package(path)
    try:
        if _office_document(package) is None:
            raise FileProblem(
                f"{path.name} is a zip archive, not an Excel workbook.",
                hint="Save the accounts from Excel as .xlsx, or export them as CSV.",
            )
        yield package
    finally:
        package.close()


def _not_a_workbook(path: Path) -> FileProblem:
    """Say what the file seems to be instead, from its first bytes."""
    with path.open("rb") as stream:
        head = stream.read(2048)
    lowered = head.lower()
    if head.startswith(_OLE_SIGNATURE):
        return FileProblem(
            f"{path.name} is not an .xlsx workbook: it is an old Excel (.xls) "
            "workbook or a password-protected one.",
            hint="Open it in Excel and save it as .xlsx without a password, or as CSV.",
        )
    if b"<html" in lowered or b"<table" in lowered:
        return FileProblem(
            f"{path.name} is a web page (HTML) with an Excel name, as some CRMs "
            "export.",
            hint="Open it in Excel and save it as .xlsx, or export CSV from the CRM.",
        )
    if head and not head.count(0):
        return FileProblem(
            f"{path.name} is a text file, not an Excel workbook.",
            hint="If it is a CSV export, rename it to .csv.",
        )
    return FileProblem(
        f"{path.name} is not an Excel workbook, despite its name.",
        hint="Export it again from the CRM, or save it from Excel as .xlsx.",
    )


@contextlib.contextmanager
def _open_calamine(path: Path) -> Iterator[python_calamine.CalamineWorkbook]:
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(
            str(path), load_tables=True
        )
    except python_calamine.PasswordError as error:
        raise FileProblem(
            f"{path.name} is password-protected.",
            hint="Remove the password in Excel (File > Info) and save it again.",
        ) from error
    except (python_calamine.CalamineError, OSError, ValueError) as error:
        raise FileProblem(
            f"{path.name} cannot be read as a workbook: {error}.",
            hint="Open it in Excel and save it again as .xlsx, or export CSV.",
        ) from error
    try:
        yield workbook
    finally:
        workbook.close()


def _choose_target(
    workbook: python_calamine.CalamineWorkbook, wanted: str | None, source: str
) -> _Target:
    tables = list(workbook.table_names or [])
    if wanted is not None and wanted.strip():
        return _named_target(workbook, tables, wanted, source)

    accounts_tables = [name for name in tables if _is_accounts_name(name)]
    if accounts_tables:
        return _Target(_table_sheet(workbook, accounts_tables[0]), accounts_tables[0])
    for name in workbook.sheet_names:
        if name.casefold() == "accounts":
            return _Target(name)
    return _Target(_first_visible_sheet(workbook))


def _named_target(
    workbook: python_calamine.CalamineWorkbook,
    tables: list[str],
    wanted: str,
    source: str,
) -> _Target:
    # Excel compares sheet and table names without case; a table is the tighter
    # choice when a sheet and a table share the name.
    key = wanted.strip().casefold()
    for table in tables:
        if table.casefold() == key:
            return _Target(_table_sheet(workbook, table), table)
    for name in workbook.sheet_names:
        if name.casefold() == key:
            return _Target(name)

    sheets = ", ".join(f"'{name}'" for name in workbook.sheet_names)
    listed = ", ".join(f"'{name}'" for name in tables) or "none"
    raise InputError(
        f"{source} has no sheet or Excel Table named '{wanted}' "
        f"(sheets: {sheets}; tables: {listed}).",
        hint="Name one of those sheets or tables.",
    )


def _is_accounts_name(name: str) -> bool:
    """Whether ``name`` is one people give an accounts table: ``tblAccounts``."""
    letters = re.sub(r"[^a-z]", "", name.casefold())
    return letters.removeprefix("tbl").removeprefix("table") == "accounts"


def _table_sheet(workbook: python_calamine.CalamineWorkbook, table: str) -> str:
    return workbook.get_table_by_name(table).sheet


def _first_visible_sheet(workbook: python_calamine.CalamineWorkbook) -> str:
    for sheet in workbook.sheets_metadata:
        if (
            sheet.visible == python_calamine.SheetVisibleEnum.Visible
            and sheet.typ == python_calamine.SheetTypeEnum.WorkSheet
        ):
            return sheet.name
    return workbook.sheet_names[0]


def _table_cells(workbook: python_calamine.CalamineWorkbook, name: str) -> _Cells:
    table = workbook.get_table_by_name(name)
    if table.start is None:
        return _Cells(list(table.columns), [], 1, 0)
    first_row, first_column = table.start[0] + 1, table.start[1]
    return _Cells(list(table.columns), table.to_python(), first_row, first_column)


def _sheet_cells(
    workbook: python_calamine.CalamineWorkbook, name: str, path: Path
) -> _Cells:
    """The header row is found by ``header_index``: titles above it are skipped."""
    sheet = workbook.get_sheet_by_name(name)
    cells = sheet.to_python(skip_empty_area=True)
    start = sheet.start
    counts = [sum(map(_has_value, row)) for row in cells[:_HEADER_SEARCH_ROWS]]
    found = header_index(counts) if any(counts) else None
    if start is None or found is None:
        raise InputError(
            f"{path.name}: the sheet '{name}' is empty.",
            hint="Name the sheet or Excel Table that holds the accounts.",
        )

    first_row = start[0] + found + 2
    return _Cells(cells[found], cells[found + 1 :], first_row, start[1])


def _put_error_values(cells: _Cells, errors: dict[str, str]) -> None:
    """Put back the Excel errors (``#N/A``) that calamine reads as empty cells.

    A CSM who sees ``#N/A`` in the cell must not be told that it is blank.
    """
    for reference, error in errors.items():
        row, column = _cell_position(reference)
        index = row + 1 - cells.first_row
        position = column - cells.first_column
        if 0 <= index < len(cells.records) and 0 <= position < len(cells.headers):
            cells.records[index][position] = error


def _has_value(cell: object) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


def _clean_workbook_cells(records: list[list[object]], width: int) -> pd.DataFrame:
    """Cells as the workbook holds them, text stripped, empty text made None."""
    frame = pd.DataFrame(records, columns=range(width), dtype=object)
    for column in frame.columns:
        # Built as object on purpose: pandas would turn None among floats into NaN.
        cleaned = [_clean_workbook_cell(cell) for cell in frame[column]]
        frame[column] = pd.Series(cleaned, index=frame.index, dtype=object)
    return frame


def _clean_workbook_cell(cell: object) -> object:
    if isinstance(cell, str):
        return cell.strip() or None
    return cell


def _table_area(
    workbook: python_calamine.CalamineWorkbook, target: _Target
) -> tuple[int, int, int, int] | None:
    """First row, last row, first column, last column (0-based) of a table."""
    if target.table is None:
        return None

    table = workbook.get_table_by_name(target.table)
    if table.start is None or table.end is None:
        return None
    # The table's start is its first record; its header row is just above.
    return table.start[0] - 1, table.end[0], table.start[1], table.end[1]


# One table shape for both kinds of file.


def _raw_table(
    *,
    headers: list[object],
    records: pd.DataFrame,
    rows: np.ndarray,
    source: str,
    sheet: str | None,
    encoding: str | None,
    delimiter: str | None,
    decimal: str,
) -> RawTable:
    """Drop empty records and empty unnamed columns, and name every column."""
    width = max(len(headers), records.shape[1])
    headers = [*headers, *[None] * (width - len(headers))]
    records = records.set_axis(range(records.shape[1]), axis=1)
    for position in range(records.shape[1], width):
        records[position] = pd.Series([None] * len(records), records.index, object)

    filled_records = ~records.isna().all(axis=1).to_numpy()
    records, rows = records[filled_records], rows[filled_records]
    kept = [
        position
        for position, header in enumerate(headers)
        if _has_value(header) or records[position].notna().any()
    ]
    frame = records[kept].reset_index(drop=True)
    frame.columns = _column_names([headers[position] for position in kept], kept)
    return RawTable(
        frame=frame,
        rows=np.asarray(rows, dtype=np.int64),
        source=source,
        sheet=sheet,
        encoding=encoding,
        delimiter=delimiter,
        decimal=decimal,
    )


def _column_names(headers: list[object], positions: list[int]) -> list[str]:
    """Clean, non-blank, unique header names: "Column 3", "Name (2)"."""
    names: list[str] = []
    taken: set[str] = set()
    for header, position in zip(headers, positions, strict=True):
        name = _header_text(header) or f"Column {position + 1}"
        unique, copy = name, 1
        while unique.casefold() in taken:
            copy += 1
            unique = f"{name} ({copy})"
        taken.add(unique.casefold())
        names.append(unique)
    return names


def _header_text(header: object) -> str:
    """A header as text, without spaces, BOM remnants or surrounding quotes."""
    if header is None:
        return ""
    if isinstance(header, float) and header.is_integer():
        header = int(header)
    if isinstance(header, (datetime.date, datetime.time)):
        header = header.isoformat()

    text = str(header).replace("\ufeff", "").strip()
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def _first_filled_row(frame: pd.DataFrame, source: str) -> int:
    filled = np.flatnonzero(frame.notna().any(axis=1).to_numpy())
    if not len(filled):
        raise InputError(
            f"{source} is empty.",
            hint="Export the accounts again: the file has no header row.",
        )
    return int(filled[0])


# What only the sheet XML tells: formulas without results, error cells.


def _office_document(package: Package) -> str | None:
    """The workbook part named by the package's root relationships."""
    if package.find("_rels/.rels") is None:
        return None
    for relation in package.parse("_rels/.rels"):
        if relation.get("Type") in _OFFICE_DOCUMENT:
            target = (relation.get("Target") or "").lstrip("/")
            if target.lower().endswith(".xml") and package.find(target):
                return target
    return None


def _sheet_part(package: Package, sheet: str) -> str | None:
    """The zip member holding the XML of the sheet named ``sheet``, if it is found."""
    workbook_part = _office_document(package) or "xl/workbook.xml"
    folder = posixpath.dirname(workbook_part)
    rels_part = posixpath.join(folder, "_rels", posixpath.basename(workbook_part))
    if package.find(workbook_part) is None or package.find(rels_part + ".rels") is None:
        return None

    targets = {
        relation.get("Id"): relation.get("Target") or ""
        for relation in package.parse(rels_part + ".rels")
    }
    for element in package.parse(workbook_part).iter():
        if _local_name(element.tag) == "sheet" and element.get("name") == sheet:
            target = targets.get(_relationship_id(element), "")
            if not target.startswith("/"):
                target = posixpath.normpath(posixpath.join(folder, target))
            return package.find(target)
    return None


def _relationship_id(element: object) -> str | None:
    for namespace in _RELATIONSHIP_NS:
        found = element.get(f"{{{namespace}}}id")  # type: ignore[attr-defined]
        if found:
            return found
    return None


@dataclass
class _SheetScan:
    """What calamine cannot tell: formulas without a value, and error cells."""

    uncached: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def _scan_sheet(package: Package, sheet: str, markers: tuple[bytes, ...]) -> _SheetScan:
    """Scan the sheet's XML, only if its bytes hold one of ``markers`` at all.

    The byte search costs a fraction of a parse, and most CRM workbooks have
    neither formulas nor error cells.
    """
    part = _sheet_part(package, sheet)
    if part is None:
        # calamine found the sheet, so the workbook reads; only this extra
        # look at its XML is given up.
        logger.debug("%s: no XML part found for sheet %r", package.path.name, sheet)
        return _SheetScan()
    with package.open(part) as stream:
        if not _holds(stream, markers):
            return _SheetScan()
    with package.open(part) as stream:
        return _parse_sheet(stream, package.path.name)


def _holds(stream: IO[bytes], markers: tuple[bytes, ...]) -> bool:
    tail = b""
    while chunk := stream.read(1 << 20):
        # The tail of the previous chunk catches a marker cut in two.
        window = tail + chunk
        if any(marker in window for marker in markers):
            return True
        tail = chunk[-8:]
    return False


def _parse_sheet(stream: IO[bytes], source: str) -> _SheetScan:
    """Stream a sheet's XML with expat, noting formulas without value and errors.

    The handlers are plain closures, and text is only listened to inside the
    ``<v>`` of a formula or error cell: they run for every element of a sheet
    that can hold millions. A DTD is refused on sight, so no entity is declared.
    """
    scan = _SheetScan()
    cell: list = [None, None, False, None]  # reference, type, formula, value text
    local_names: dict[str, str] = {}
    parser = _safe_expat(source)

    def start(qualified: str, attributes: dict[str, str]) -> None:
        name = local_names.get(qualified)
        if name is None:
            name = local_names[qualified] = qualified.rpartition(":")[2]
        if parser.CharacterDataHandler is not None:
            parser.CharacterDataHandler = None
        if name == "c":
            _note_cell(cell, scan)
            cell[:] = attributes.get("r"), attributes.get("t"), False, None
        elif name == "f":
            cell[2] = True
        elif name == "v" and (cell[2] or cell[1] == "e"):
            # In OOXML a cell's <f> always comes before its <v>.
            parser.CharacterDataHandler = value_text

    def value_text(data: str) -> None:
        if not data.isspace():
            cell[3] = (cell[3] or "") + data

    parser.StartElementHandler = start
    try:
        parser.ParseFile(stream)
    except expat.ExpatError as error:
        raise FileProblem(
            f"{source} is damaged: a sheet is not well-formed XML ({error}).",
            hint="Open it in Excel and save it again.",
        ) from error
    _note_cell(cell, scan)
    return scan


def _note_cell(cell: list, scan: _SheetScan) -> None:
    reference, kind, formula, value = cell
    if kind == "e" and value:
        scan.errors[reference or ""] = value.strip()
    # Excel saves a formula whose result is "" as t="str" with an empty <v>.
    elif formula and not value and kind not in ("str", "inlineStr"):
        scan.uncached.append(reference or "")


def _safe_expat(source: str) -> expat.XMLParserType:
    """An expat parser that refuses any DTD, hence any entity declaration."""

    def refuse(*_: object) -> None:
        raise UnsafeWorkbook(f"{source} is unsafe: a sheet uses a DTD or XML entities.")

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    return parser


def _inside(reference: str, area: tuple[int, int, int, int]) -> bool:
    row, column = _cell_position(reference)
    first_row, last_row, first_column, last_column = area
    return first_row <= row <= last_row and first_column <= column <= last_column


def _cell_position(reference: str) -> tuple[int, int]:
    """Row and column, from 0, of a reference like ``C5``; (-1, -1) if unreadable."""
    found = _CELL_REF.fullmatch(reference)
    if found is None:
        return -1, -1
    return int(found.group(2)) - 1, _column_index(found.group(1))


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


# Paths.


def _check_is_file(path: Path) -> None:
    if path.suffix.lower() == ".xls":
        raise FileProblem(
            f"{path.name} is an old Excel 97-2003 workbook (.xls), which xlapm "
            "does not read.",
            hint="Open it in Excel and save it as .xlsx (Excel Workbook) or CSV.",
        )
    if not path.exists():
        raise FileProblem(f"{path.name} was not found.", hint=f"Check the path: {path}")
    if path.is_dir():
        raise FileProblem(
            f"{path.name} is a folder, not a file.",
            hint="Give the path of a CSV export or an .xlsx workbook.",
        )


def _unsupported_suffix(path: Path) -> FileProblem:
    suffix = path.suffix or "no extension"
    return FileProblem(
        f"{path.name} is not a file type xlapm reads ({suffix}).",
        hint="Use a .csv, .tsv or .txt export, or an .xlsx or .xlsm workbook.",
    )
