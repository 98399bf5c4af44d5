"""Renumber a fragment sheet's references to styles and shared strings, streaming.

A rebuilt sheet can hold 130,000 rows x 15 columns (about 60 MB of XML), so it is
never parsed: the XML is read in chunks cut after a ``</row>``, and one regular
expression rewrites the few attributes that point into workbook-wide tables:

- ``<c s="N">`` (cell format) and ``<c t="s"><v>N</v>`` (shared string),
- ``<c cm="N">`` (cell metadata: dynamic array formulas),
- ``<row s="N">`` and ``<col style="N">`` (row and column formats),
- ``<cfRule dxfId="N">`` (conditional format).

The fragment is XlsxWriter output, whose sheet XML uses no namespace prefixes;
``check_unprefixed`` refuses anything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from xlapm.errors import FileProblem
from xlapm.package._xml import MAIN_NS

_CHUNK = 4 * 1024 * 1024
_ROW_END = b"</row>"

_TAG = re.compile(rb"<(cfRule|col|row|c)(\s[^>]*)?>(?:<v>(\d+)</v>)?")
_SHEET_VIEW = re.compile(rb"<sheetView\b[^>]*>")
_TAB_SELECTED = re.compile(rb'\stabSelected="[^"]*"')
_CELL_STYLE = re.compile(rb'(<c r="[^"]*" s=")(\d+)')
_ROW_STYLE = re.compile(rb'(<row [^>]*? s=")(\d+)')
_SHARED_STRING = re.compile(rb'( t="s"><v>)(\d+)')
_FORMULA = re.compile(rb"(<(f|formula|formula1|formula2)\b[^>/]*>)([^<]*)(</\2>)")
_STRING_LITERAL = re.compile(r'("(?:[^"]|"")*")')


@dataclass
class SheetRemap:
    """The output index of every fragment index a sheet may refer to."""

    xf: list[bytes]
    dxf: list[bytes]
    strings: list[bytes]
    metadata: dict[bytes, bytes] = field(default_factory=dict)
    tab_selected: bool = False
    tables: dict[str, str] = field(default_factory=dict)


def check_unprefixed(head: bytes, part: str) -> None:
    """Refuse a fragment sheet whose elements carry namespace prefixes."""
    marker = f'xmlns="{MAIN_NS}"'.encode()
    if marker not in head:
        raise FileProblem(
            f"the rebuilt sheet {part} was not written by XlsxWriter "
            "(its main namespace is not the default one)"
        )


def remap_sheet(source: IO[bytes], target: IO[bytes], remap: SheetRemap) -> int:
    """Copy one fragment sheet from ``source`` to ``target``, renumbered.

    The part before ``<sheetData>`` (column formats, views) and the part after it
    (conditional formats) are small and go through the general rewrite; the rows
    go through the fast one.

    Returns:
        The number of bytes written.
    """
    replace = _replacer(remap)
    pending = _read_head(source)
    check_unprefixed(pending[:4096], "sheet")
    at = pending.find(b"<sheetData")
    if at < 0:
        return target.write(_rewrite(_rest(pending, source), replace, remap))
    head = _set_tab_selected(pending[:at], remap.tab_selected)
    written = target.write(_rewrite(head, replace, remap))
    pending = pending[at:]
    while True:
        cut = pending.rfind(_ROW_END)
        if cut >= 0:
            cut += len(_ROW_END)
            written += target.write(_rewrite_rows(pending[:cut], replace, remap))
            pending = pending[cut:]
        chunk = source.read(_CHUNK)
        if not chunk:
            break
        pending += chunk
    tail = pending.find(b"</sheetData>")
    if tail > 0:
        written += target.write(_rewrite_rows(pending[:tail], replace, remap))
        pending = pending[tail:]
    return written + target.write(_rewrite(pending, replace, remap))


def _rest(pending: bytes, source: IO[bytes]) -> bytes:
    """Return ``pending`` followed by everything left in ``source``."""
    return pending + source.read()


def _read_head(source: IO[bytes]) -> bytes:
    """Read at least up to ``<sheetData`` (or everything, if it is not there)."""
    pending = source.read(_CHUNK)
    while b"<sheetData" not in pending:
        chunk = source.read(_CHUNK)
        if not chunk:
            break
        pending += chunk
    return pending


def _set_tab_selected(head: bytes, selected: bool) -> bytes:
    """Select the sheet's tab only if it is the workbook's active sheet.

    XlsxWriter selects its first sheet; two selected tabs would open the workbook
    with the sheets grouped, and typing would then change both.
    """

    def fix(match: re.Match[bytes]) -> bytes:
        tag = _TAB_SELECTED.sub(b"", match.group(0))
        if selected:
            tag = tag[: len(b"<sheetView")] + b' tabSelected="1"' + tag[10:]
        return tag

    return _SHEET_VIEW.sub(fix, head, count=1)


def _rewrite(
    text: bytes, replace: Callable[[re.Match[bytes]], bytes], remap: SheetRemap
) -> bytes:
    """The general rewrite: every matched tag through a Python callback."""
    text = _TAG.sub(replace, text)
    if remap.tables:
        text = rename_in_sheet_formulas(text, remap.tables)
    return text


def _rewrite_rows(
    rows: bytes, replace: Callable[[re.Match[bytes]], bytes], remap: SheetRemap
) -> bytes:
    """Rewrite a run of whole rows, fast when the XML has XlsxWriter's shape."""
    if not remap.metadata and not remap.tables:
        fast = _fast_rows(rows, remap)
        if fast is not None:
            return fast
    return _rewrite(rows, replace, remap)


def _fast_rows(rows: bytes, remap: SheetRemap) -> bytes | None:
    """Renumber styles and shared strings without a Python call per cell.

    ``re.split`` with two groups puts every number at positions 2, 5, 8...;
    mapping those through the index tables runs in C. The counts of ``s="`` and
    ``t="s"`` are checked afterwards: any attribute the patterns missed (another
    attribute order, or such text inside a string) sends the rows to the general
    rewrite instead. ``<`` and ``>`` are always escaped in XlsxWriter's text, so a
    match is always a real tag.
    """
    styles = rows.count(b' s="')
    text, found = _substitute(_CELL_STYLE, rows, remap.xf)
    if found != styles:
        text, in_rows = _substitute(_ROW_STYLE, text, remap.xf)
        if found + in_rows != styles:
            return None
    strings = text.count(b' t="s"')
    if strings:
        text, found = _substitute(_SHARED_STRING, text, remap.strings)
        if found != strings:
            return None
    return text


def _substitute(
    pattern: re.Pattern[bytes], text: bytes, table: list[bytes]
) -> tuple[bytes, int]:
    """Replace each number the pattern's second group catches by ``table[n]``."""
    parts = pattern.split(text)
    numbers = parts[2::3]
    try:
        parts[2::3] = map(table.__getitem__, map(int, numbers))
    except IndexError as error:
        raise FileProblem(
            "a rebuilt sheet refers to a style or string it does not define"
        ) from error
    return b"".join(parts), len(numbers)


def _replacer(remap: SheetRemap) -> Callable[[re.Match[bytes]], bytes]:
    """Return the callback that rewrites one matched start tag."""
    xf, dxf, strings, metadata = remap.xf, remap.dxf, remap.strings, remap.metadata

    def replace(match: re.Match[bytes]) -> bytes:
        name, attributes, value = match.groups()
        if attributes is None:
            return match.group(0)
        if name == b"c":
            attributes = _swap(attributes, b' s="', xf)
            if metadata and b' cm="' in attributes:
                attributes = _swap_map(attributes, b' cm="', metadata)
            if value is None:
                return b"<c" + attributes + b">"
            if b' t="s"' in attributes:
                value = _lookup(strings, value, "shared string")
            return b"<c" + attributes + b"><v>" + value + b"</v>"
        if name == b"row":
            attributes = _swap(attributes, b' s="', xf)
        elif name == b"col":
            attributes = _swap(attributes, b' style="', xf)
        else:
            attributes = _swap(attributes, b' dxfId="', dxf)
        tail = b"" if value is None else b"<v>" + value + b"</v>"
        return b"<" + name + attributes + b">" + tail

    return replace


def _swap(attributes: bytes, key: bytes, table: list[bytes]) -> bytes:
    """Replace the number in ``key"N"`` with ``table[N]``."""
    start = attributes.find(key)
    if start < 0:
        return attributes
    start += len(key)
    end = attributes.index(b'"', start)
    new = _lookup(table, attributes[start:end], key.strip(b' ="').decode())
    return attributes[:start] + new + attributes[end:]


def _swap_map(attributes: bytes, key: bytes, table: dict[bytes, bytes]) -> bytes:
    """Replace the value in ``key"N"`` through a mapping."""
    start = attributes.find(key) + len(key)
    end = attributes.index(b'"', start)
    old = attributes[start:end]
    if old not in table:
        raise FileProblem(f"a rebuilt sheet refers to unknown cell metadata {old!r}")
    return attributes[:start] + table[old] + attributes[end:]


def _lookup(table: list[bytes], number: bytes, what: str) -> bytes:
    """Return ``table[number]``, or fail on a fragment that refers past its end."""
    index = int(number)
    if index >= len(table):
        raise FileProblem(f"a rebuilt sheet refers to missing {what} {index}")
    return table[index]


def rename_in_sheet_formulas(text: bytes, renames: dict[str, str]) -> bytes:
    """Rename tables inside the formulas of sheet XML (cells, CF, validation)."""

    def fix(match: re.Match[bytes]) -> bytes:
        formula = match.group(3).decode("utf-8")
        new = rename_tables(formula, renames)
        return match.group(1) + new.encode("utf-8") + match.group(4)

    return _FORMULA.sub(fix, text)


def rename_tables(formula: str, renames: dict[str, str]) -> str:
    """Rename structured references ``Old[...]`` in one formula.

    ``renames`` maps lower-case old names to new names; text inside string
    literals is left alone.
    """
    pattern = _table_pattern(tuple(renames))
    pieces = _STRING_LITERAL.split(formula)
    for position in range(0, len(pieces), 2):
        pieces[position] = pattern.sub(
            lambda match: renames[match.group(1).lower()], pieces[position]
        )
    return "".join(pieces)


def _table_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """Match any of ``names`` used as a table in a structured reference."""
    choices = "|".join(re.escape(name) for name in sorted(names, key=len)[::-1])
    return re.compile(rf"(?<![\w.\\])({choices})(?=\[)", re.IGNORECASE)
