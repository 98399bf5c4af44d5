"""Compare two workbook packages part by part.

Untouched parts are compared byte for byte, and also as stored (compressed size
and CRC), since a splice copies them without recompressing. XML parts xlapm edits
are compared element by element in document order, ignoring only the values a
splice is meant to change; each ignored value says why next to it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"

# Parts a splice edits as text; every other part of the person's package must
# come out byte for byte.
EDITED_PARTS = {
    "[content_types].xml",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/styles.xml",
    "xl/sharedstrings.xml",
    "xl/calcchain.xml",
}

# Attributes a splice is meant to change on elements it otherwise keeps.
VOLATILE_ATTRIBUTES = {
    # Collections grow when the fragment's entries are appended.
    "count",
    "uniqueCount",
    # Set on purpose: the rebuilt sheets' formulas carry no computed results.
    "fullCalcOnLoad",
}


def read_parts(path: Path) -> dict[str, bytes]:
    """Return every member of a package, by name."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def stored(path: Path) -> dict[str, tuple[int, int, int]]:
    """Return each member's (CRC, compressed size, size) as stored in the zip."""
    with zipfile.ZipFile(path) as archive:
        return {
            info.filename: (info.CRC, info.compress_size, info.file_size)
            for info in archive.infolist()
        }


def changed_untouched_parts(
    original: Path, result: Path, edited: Iterable[str] = EDITED_PARTS
) -> list[str]:
    """Return the person's parts that are missing or differ in ``result``.

    Parts in ``edited`` (lower-case names) are skipped; compare them with
    ``compare_xml`` instead.
    """
    skip = {name.lower() for name in edited}
    before, after = read_parts(original), read_parts(result)
    before_stored, after_stored = stored(original), stored(result)
    problems = []
    for name, data in before.items():
        if name.lower() in skip:
            continue
        if name not in after:
            problems.append(f"{name}: missing")
        elif after[name] != data:
            problems.append(f"{name}: bytes differ")
        elif after_stored[name] != before_stored[name]:
            problems.append(f"{name}: recompressed")
    return problems


def flatten(element: Element, skip: set[str] = frozenset()) -> list[str]:
    """Return the subtree as one line per element: path, attributes, text.

    Subtrees whose local tag is in ``skip`` are left out; volatile attributes are
    dropped.
    """
    lines: list[str] = []
    _flatten(element, "", skip, lines)
    return lines


def _flatten(element: Element, path: str, skip: set[str], lines: list[str]) -> None:
    local = element.tag.rpartition("}")[2]
    if local in skip:
        return
    here = f"{path}/{element.tag}"
    attributes = sorted(
        (name, value)
        for name, value in element.attrib.items()
        if name not in VOLATILE_ATTRIBUTES
    )
    text = (element.text or "").strip()
    lines.append(f"{here} {attributes} {text!r}")
    for child in element:
        _flatten(child, here, skip, lines)


def parse(data: bytes) -> Element:
    """Parse a part, refusing DTDs (the parts under test come from anywhere)."""
    return SafeET.fromstring(data, forbid_dtd=True)


def compare_xml(expected: bytes, got: bytes, skip: set[str] = frozenset()) -> list[str]:
    """Return the element lines that differ between two XML parts."""
    left, right = flatten(parse(expected), skip), flatten(parse(got), skip)
    if left == right:
        return []
    missing = [line for line in left if line not in right]
    extra = [line for line in right if line not in left]
    return [f"- {line}" for line in missing] + [f"+ {line}" for line in extra]


def children(data: bytes, local: str) -> list[list[str]]:
    """Return the flattened children of the first element named ``local``."""
    root = parse(data)
    container = next((e for e in root.iter() if e.tag == f"{MAIN}{local}"), None)
    if container is None:
        return []
    return [flatten(child) for child in container]


def is_prefix(before: list[list[str]], after: list[list[str]]) -> bool:
    """Tell whether ``after`` starts with every entry of ``before``, in order."""
    return after[: len(before)] == before


# Collections a splice appends to in the parts it edits; what a person had in
# them must stay first, in order.
STYLE_COLLECTIONS = (
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellXfs",
    "dxfs",
    "cellStyleXfs",
    "cellStyles",
)


def lost_from_edited_parts(original: Path, result: Path) -> list[str]:
    """Return what the edited parts of ``result`` lost of ``original``'s entries.

    workbook.xml keeps everything outside its sheet list and names, and every
    one of those (sheets in order, names anywhere); styles and shared strings
    keep their entries first; content types and workbook relationships lose
    nothing.
    """
    before, after = read_parts(original), read_parts(result)
    problems = [
        f"workbook.xml {line}"
        for line in compare_xml(
            before["xl/workbook.xml"],
            after["xl/workbook.xml"],
            skip={"sheets", "definedNames"},
        )
    ]
    if not is_prefix(
        children(before["xl/workbook.xml"], "sheets"),
        children(after["xl/workbook.xml"], "sheets"),
    ):
        problems.append("workbook.xml: the person's sheets are not first, in order")
    new_names = children(after["xl/workbook.xml"], "definedNames")
    problems += [
        f"workbook.xml: name lost {name[0]}"
        for name in children(before["xl/workbook.xml"], "definedNames")
        if name not in new_names
    ]
    for local in STYLE_COLLECTIONS:
        if not is_prefix(
            children(before["xl/styles.xml"], local),
            children(after["xl/styles.xml"], local),
        ):
            problems.append(f"styles.xml: {local} changed")
    if "xl/sharedStrings.xml" in before and not is_prefix(
        children(before["xl/sharedStrings.xml"], "sst"),
        children(after["xl/sharedStrings.xml"], "sst"),
    ):
        problems.append("sharedStrings.xml: strings changed")
    for part in ("[Content_Types].xml", "xl/_rels/workbook.xml.rels"):
        kept = flatten(parse(after[part]))
        problems += [
            f"{part}: lost {line}"
            for line in flatten(parse(before[part]))
            if line not in kept
        ]
    return problems
