"""Small parts that need renumbering when they move between packages.

Tables (their ``id`` and name are unique across a workbook), VML drawings (their
shape ids are allotted in blocks of 1,024 per drawing across the workbook), the
calculation chain (it lists formula cells by sheet id) and dynamic-array cell
metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xlapm.errors import FileProblem
from xlapm.package._sheets import rename_tables
from xlapm.package._xml import scan, set_attr

_TABLE_DXF = re.compile(
    rb"\s(dataDxfId|headerRowDxfId|totalsRowDxfId|headerRowBorderDxfId|"
    rb'tableBorderDxfId|totalsRowBorderDxfId)="(\d+)"'
)
_CALCULATED = re.compile(
    rb"(<(calculatedColumnFormula|totalsRowFormula)\b[^>/]*>)([^<]*)(</\2>)"
)
_VML_IDMAP = re.compile(rb'(<o:idmap\b[^>]*\bdata=")([^"]*)(")')
_VML_SHAPE_ID = re.compile(rb"_x0000_s(\d+)")
_ANY_IDMAP = re.compile(rb'idmap\b[^>]*\bdata="([^"]*)"')
_CALC_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\b[^>]*>")
_CALC_SHEET = re.compile(rb'\si="(\d+)"')
_METADATA_TYPE = re.compile(rb'<(?:\w+:)?metadataType\b[^>]*\bname="([^"]*)"')
_BLOCK = re.compile(rb"<(?:\w+:)?bk\b.*?</(?:\w+:)?bk>", re.DOTALL)
_RC = re.compile(rb'<(?:\w+:)?rc\b[^>]*\bt="(\d+)"[^>]*\bv="(\d+)"')

# Excel allots VML shape ids in blocks of 1,024, one block list per drawing.
_VML_BLOCK = 1024


@dataclass
class TableFacts:
    """What makes a table unique in a workbook."""

    table_id: int
    name: str
    display_name: str


def table_facts(data: bytes) -> TableFacts:
    """Read a table part's id and names from its root start tag."""
    root = scan(data, depth=0)
    tag = data[root.start : root.head_end]
    return TableFacts(
        table_id=int(_attribute(tag, b"id") or 0),
        name=_attribute(tag, b"name") or "",
        display_name=_attribute(tag, b"displayName") or "",
    )


def _attribute(tag: bytes, name: bytes) -> str | None:
    """Return one attribute's (unescaped enough) value from a start tag."""
    match = re.search(rb"\s" + name + rb'="([^"]*)"', tag)
    return None if match is None else match.group(1).decode()


def remap_table(
    data: bytes,
    table_id: int,
    name: str,
    renames: dict[str, str],
    dxf: list[bytes],
) -> bytes:
    """Return a fragment table part with a new id, name and dxf indices."""
    root = scan(data, depth=0)
    tag = data[root.start : root.head_end]
    tag = set_attr(tag, "id", str(table_id))
    tag = set_attr(tag, "name", name)
    tag = set_attr(tag, "displayName", name)
    data = data[: root.start] + tag + data[root.head_end :]

    def fix_dxf(match: re.Match[bytes]) -> bytes:
        index = int(match.group(2))
        if index >= len(dxf):
            raise FileProblem(f"a rebuilt table refers to missing format {index}")
        return b" " + match.group(1) + b'="' + dxf[index] + b'"'

    data = _TABLE_DXF.sub(fix_dxf, data)
    if renames:
        data = _CALCULATED.sub(
            lambda match: (
                match.group(1)
                + rename_tables(match.group(3).decode(), renames).encode()
                + match.group(4)
            ),
            data,
        )
    return data


def unique_table_name(wanted: str, taken: set[str]) -> str:
    """Return ``wanted``, or a numbered variant, not in ``taken`` (lower-case).

    XlsxWriter's default names ``Table1``, ``Table2`` continue the same series.
    """
    if wanted.lower() not in taken:
        taken.add(wanted.lower())
        return wanted
    default = re.fullmatch(r"Table(\d+)", wanted, re.IGNORECASE)
    number = int(default.group(1)) if default else 1
    while True:
        number += 1
        candidate = f"Table{number}" if default else f"{wanted}_{number}"
        if candidate.lower() not in taken:
            taken.add(candidate.lower())
            return candidate


def vml_blocks(data: bytes) -> set[int]:
    """Return the shape-id blocks a VML drawing claims (``o:idmap data``)."""
    blocks = set()
    for match in _ANY_IDMAP.finditer(data):
        for item in re.split(rb"[,\s]+", match.group(1).strip()):
            if item.isdigit():
                blocks.add(int(item))
    return blocks


def remap_vml(data: bytes, used: set[int]) -> bytes:
    """Move a fragment VML drawing's shape ids to blocks not in ``used``.

    Two drawings claiming the same block make Excel mix up their notes and form
    controls; ``used`` gains the blocks taken.
    """
    moves = {}
    for block in sorted(vml_blocks(data)):
        new = 1
        while new in used:
            new += 1
        used.add(new)
        moves[block] = new
    if all(old == new for old, new in moves.items()):
        return data

    def fix_map(match: re.Match[bytes]) -> bytes:
        items = re.split(rb"[,\s]+", match.group(2).strip())
        text = b",".join(str(moves[int(item)]).encode() for item in items if item)
        return match.group(1) + text + match.group(3)

    def fix_shape(match: re.Match[bytes]) -> bytes:
        number = int(match.group(1))
        block, offset = divmod(number, _VML_BLOCK)
        new = moves.get(block, block) * _VML_BLOCK + offset
        return b"_x0000_s" + str(new).encode()

    return _VML_SHAPE_ID.sub(fix_shape, _VML_IDMAP.sub(fix_map, data))


def filter_calc_chain(data: bytes, sheet_ids: set[int]) -> bytes | None:
    """Drop the calculation-chain entries of the sheets with ``sheet_ids``.

    An entry without ``i`` belongs to the sheet of the entry before it, so the
    first entry kept after a dropped run gets its ``i`` written out. Returns the
    part unchanged when nothing belongs to those sheets, and None when nothing is
    left (the part is then dropped; Excel rebuilds the chain).
    """
    current = None
    last_kept = None
    kept = 0
    changed = False

    def fix(match: re.Match[bytes]) -> bytes:
        nonlocal current, last_kept, kept, changed
        tag = match.group(0)
        own = _CALC_SHEET.search(tag)
        if own is not None:
            current = int(own.group(1))
        if current in sheet_ids:
            changed = True
            return b""
        if own is None and last_kept != current and current is not None:
            tag = set_attr(tag, "i", str(current))
        last_kept = current
        kept += 1
        return tag

    result = _CALC_CELL.sub(fix, data)
    if not changed:
        return data
    return result if kept else None


def dynamic_array_index(data: bytes) -> bytes | None:
    """Return the ``cm`` value that marks a dynamic array formula in a metadata
    part, or None if the part defines none."""
    types = [match.group(1) for match in _METADATA_TYPE.finditer(data)]
    if b"XLDAPR" not in types:
        return None
    type_number = types.index(b"XLDAPR") + 1
    future = re.search(
        rb'<(?:\w+:)?futureMetadata\b[^>]*\bname="XLDAPR".*?</(?:\w+:)?futureMetadata>',
        data,
        re.DOTALL,
    )
    if future is None:
        return None
    dynamic = [
        position
        for position, block in enumerate(_BLOCK.findall(future.group(0)))
        if b'fDynamic="1"' in block and b'fCollapsed="1"' not in block
    ]
    cells = re.search(
        rb"<(?:\w+:)?cellMetadata\b.*?</(?:\w+:)?cellMetadata>", data, re.DOTALL
    )
    if not dynamic or cells is None:
        return None
    for position, block in enumerate(_BLOCK.findall(cells.group(0)), start=1):
        rc = _RC.search(block)
        if rc and int(rc.group(1)) == type_number and int(rc.group(2)) in dynamic:
            return str(position).encode()
    return None
