"""Styles and shared strings: the fragment's entries are appended to the person's.

The person's entries keep their positions (every ``s="N"`` in their sheets points
at them); the fragment's are matched to an equal entry where one exists, so
rebuilding again and again does not grow ``styles.xml`` or ``sharedStrings.xml``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element

from xlapm.errors import ExcelLimitError, FileProblem
from xlapm.package._xml import (
    MAIN_NS,
    Span,
    apply_edits,
    canonical,
    prefixes,
    scan,
    serialize,
    set_attr,
)
from xlapm.package.safety import parse_xml

_MAIN = f"{{{MAIN_NS}}}"

# The children of <styleSheet>, in the order the schema requires.
_ORDER = (
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
    "tableStyles",
    "colors",
    "extLst",
)

# Ids below 164 are Excel's built-in number formats.
_FIRST_CUSTOM_FORMAT = 164

# Excel's limit on distinct cell formats in one workbook.
MAX_CELL_FORMATS = 64_000

_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
_SHARED_STRING = re.compile(
    rb"<" + _PREFIX + rb"si\b[^>]*?(?:/>|>.*?</" + _PREFIX + rb"si>)", re.DOTALL
)
_SST_START = re.compile(rb"<" + _PREFIX + rb"sst\b[^>]*>")
_COUNT = re.compile(rb'\scount="(\d+)"')
_OWN_DECLARATION = b' xmlns="' + MAIN_NS.encode() + b'"'


@dataclass
class StyleMap:
    """Where the fragment's styles went.

    ``xf[i]`` is the output index of the fragment's cell format ``i``; ``dxf[i]``
    that of its differential format ``i``; ``data`` the new ``styles.xml`` (None
    when nothing had to be added).
    """

    xf: list[int]
    dxf: list[int]
    data: bytes | None


@dataclass
class _Collection:
    """One list of the person's style entries and the fragment entries appended."""

    local: str
    elements: list[Element]
    added: list[Element] = field(default_factory=list)
    keys: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for position, element in enumerate(self.elements):
            self.keys.setdefault(canonical(element), position)

    def index_of(self, element: Element) -> int:
        """Return the position of an entry equal to ``element``, appending it if
        the person's list has none."""
        key = canonical(element)
        if key not in self.keys:
            self.keys[key] = len(self.elements) + len(self.added)
            self.added.append(element)
        return self.keys[key]

    @property
    def total(self) -> int:
        """How many entries the list holds after the merge."""
        return len(self.elements) + len(self.added)


def merge_styles(
    original: bytes, original_root: Element, fragment_root: Element, path: Path
) -> StyleMap:
    """Append the fragment's styles to the person's ``styles.xml``.

    Args:
        original: the person's ``styles.xml``.
        original_root: the same, parsed.
        fragment_root: the fragment's ``styles.xml``, parsed.
        path: the person's workbook, for messages.
    """
    lists = {
        local: _Collection(local, list(_find(original_root, local)))
        for local in ("numFmts", "fonts", "fills", "borders", "cellXfs", "dxfs")
    }
    formats = _map_number_formats(lists["numFmts"], fragment_root)
    parts = {
        local: [
            lists[local].index_of(element) for element in _find(fragment_root, local)
        ]
        for local in ("fonts", "fills", "borders")
    }
    xf = _map_cell_formats(lists["cellXfs"], fragment_root, formats, parts)
    dxf = _map_differential_formats(lists["dxfs"], fragment_root, formats)
    if lists["cellXfs"].total > MAX_CELL_FORMATS:
        raise ExcelLimitError(
            f"{path.name} would hold {lists['cellXfs'].total:,} cell formats; "
            f"Excel allows {MAX_CELL_FORMATS:,}"
        )
    if not any(collection.added for collection in lists.values()):
        return StyleMap(xf, dxf, None)
    data = _render(original, list(lists.values()))
    _verify(data, lists, path)
    return StyleMap(xf, dxf, data)


def _find(root: Element, local: str) -> list[Element]:
    """Return the entries of one style list (empty if the list is absent)."""
    container = root.find(f"{_MAIN}{local}")
    return [] if container is None else list(container)


def _map_number_formats(formats: _Collection, fragment_root: Element) -> dict[int, int]:
    """Return fragment numFmtId -> output numFmtId, appending unknown codes."""
    by_code = {}
    used = set()
    for element in formats.elements:
        number = int(element.get("numFmtId", "0"))
        used.add(number)
        by_code.setdefault(element.get("formatCode", ""), number)
    mapping = {}
    for element in _find(fragment_root, "numFmts"):
        number = int(element.get("numFmtId", "0"))
        code = element.get("formatCode", "")
        if code in by_code:
            mapping[number] = by_code[code]
            continue
        new = _free_format_id(used)
        added = copy.deepcopy(element)
        added.set("numFmtId", str(new))
        formats.added.append(added)
        by_code[code] = mapping[number] = new
    return mapping


def _free_format_id(used: set[int]) -> int:
    """Return an unused custom number format id (and reserve it)."""
    number = max([_FIRST_CUSTOM_FORMAT - 1, *used]) + 1
    used.add(number)
    return number


def _map_cell_formats(
    cell_formats: _Collection,
    fragment_root: Element,
    formats: dict[int, int],
    parts: dict[str, list[int]],
) -> list[int]:
    """Return fragment cellXfs index -> output index."""
    mapping = []
    for position, element in enumerate(_find(fragment_root, "cellXfs")):
        if position == 0:
            # Cells without s="" use format 0 of the person's workbook anyway.
            mapping.append(0)
            continue
        xf = copy.deepcopy(element)
        number = int(xf.get("numFmtId", "0"))
        xf.set("numFmtId", str(formats.get(number, number)))
        for attribute, local in (
            ("fontId", "fonts"),
            ("fillId", "fills"),
            ("borderId", "borders"),
        ):
            xf.set(attribute, str(_pick(parts[local], xf.get(attribute, "0"))))
        # The fragment's named cell styles are not merged: its cells fall back on
        # "Normal" and keep their own fonts, fills and borders.
        xf.set("xfId", "0")
        mapping.append(cell_formats.index_of(xf))
    return mapping


def _pick(mapping: list[int], value: str) -> int:
    """Return the output index for a fragment index, or fail on a broken one."""
    index = int(value)
    if not 0 <= index < len(mapping):
        raise FileProblem(f"the rebuilt sheets refer to missing style {index}")
    return mapping[index]


def _map_differential_formats(
    dxfs: _Collection, fragment_root: Element, formats: dict[int, int]
) -> list[int]:
    """Return fragment dxf index -> output index."""
    mapping = []
    for element in _find(fragment_root, "dxfs"):
        dxf = copy.deepcopy(element)
        for number_format in dxf.iter(f"{_MAIN}numFmt"):
            number = int(number_format.get("numFmtId", "0"))
            number_format.set("numFmtId", str(formats.get(number, number)))
        mapping.append(dxfs.index_of(dxf))
    return mapping


def _render(original: bytes, lists: list[_Collection]) -> bytes:
    """Return ``styles.xml`` with the appended entries and updated counts."""
    root = scan(original, depth=1)
    context = prefixes(original[root.start : root.head_end])
    prefix = context.get(MAIN_NS, "")
    edits = []
    for collection in lists:
        if not collection.added:
            continue
        added = b"".join(serialize(element, context) for element in collection.added)
        span = root.child(collection.local)
        if span is None:
            at = _insert_position(root, collection.local)
            tag = f"{prefix}:{collection.local}" if prefix else collection.local
            text = f'<{tag} count="{collection.total}">'.encode()
            edits.append((at, at, text + added + f"</{tag}>".encode()))
            continue
        head = set_attr(
            original[span.start : span.head_end], "count", str(collection.total)
        )
        if span.self_closing:
            tag = head[1:].split(None, 1)[0].rstrip(b"/>")
            head = head[:-2].rstrip() + b">"
            edits.append((span.start, span.end, head + added + b"</" + tag + b">"))
        else:
            edits.append((span.start, span.head_end, head))
            edits.append((span.close_start, span.close_start, added))
    return apply_edits(original, edits)


def _insert_position(root: Span, local: str) -> int:
    """Return where a missing style list goes to keep the schema's order."""
    later = _ORDER[_ORDER.index(local) + 1 :]
    for child in root.children:
        if child.local in later:
            return child.start
    return root.close_start


def _verify(data: bytes, lists: dict[str, _Collection], path: Path) -> None:
    """Check that the edited part parses and holds every entry."""
    root = parse_xml(data, "xl/styles.xml", path)
    for local, collection in lists.items():
        if len(_find(root, local)) != collection.total:
            raise FileProblem(
                f"{path.name}: merging the styles lost entries of {local}"
            )


@dataclass
class StringMap:
    """Where the fragment's shared strings went.

    ``index[i]`` is the output index of the fragment's string ``i``; ``data`` the
    new ``sharedStrings.xml`` (None when unchanged).
    """

    index: list[int]
    data: bytes | None


def merge_strings(original: bytes | None, fragment: bytes) -> StringMap:
    """Append the fragment's shared strings to the person's table.

    A string already in the person's table (same XML) is reused, so repeated
    rebuilds do not grow the table. With no table in the person's workbook, the
    fragment's table is used as it is.
    """
    fragment_items = _SHARED_STRING.findall(fragment)
    if original is None:
        return StringMap(list(range(len(fragment_items))), fragment)
    start = _SST_START.search(original)
    if start is None:
        raise FileProblem("the shared strings part has no <sst> element")
    items = _SHARED_STRING.findall(original, start.end())
    known: dict[bytes, int] = {}
    for position, item in enumerate(items):
        known.setdefault(item.replace(_OWN_DECLARATION, b"", 1), position)
    default_ns = prefixes(start.group(0)).get(MAIN_NS) == ""
    added: list[bytes] = []
    index = []
    for item in fragment_items:
        if item not in known:
            known[item] = len(items) + len(added)
            added.append(item if default_ns else _declare_main(item))
        index.append(known[item])
    if not added:
        return StringMap(index, None)
    return StringMap(index, _append_strings(original, start, items, added, fragment))


def _declare_main(item: bytes) -> bytes:
    """Give a fragment ``<si>`` its own default namespace, for a table whose root
    uses a prefix for the main namespace (``<x:sst xmlns:x=...>``)."""
    return b"<si" + _OWN_DECLARATION + item[3:]


def _append_strings(
    original: bytes,
    start: re.Match[bytes],
    items: list[bytes],
    added: list[bytes],
    fragment: bytes,
) -> bytes:
    """Return the person's table with ``added`` at its end and fresh counts."""
    head = start.group(0)
    total = len(items) + len(added)
    references = _count(head, len(items)) + _count(
        _SST_START.search(fragment).group(0),  # type: ignore[union-attr]
        len(added),
    )
    head = set_attr(head, "uniqueCount", str(total))
    head = set_attr(head, "count", str(max(references, total)))
    body = b"".join(added)
    if head.endswith(b"/>"):
        tag = head[1:].split(None, 1)[0].rstrip(b"/>")
        opened = head[:-2].rstrip() + b">"
        return (
            original[: start.start()]
            + opened
            + body
            + b"</"
            + tag
            + b">"
            + (original[start.end() :])
        )
    close = original.rindex(b"</")
    return (
        original[: start.start()]
        + head
        + original[start.end() : close]
        + body
        + original[close:]
    )


def _count(head: bytes, fallback: int) -> int:
    """Return the ``count`` attribute of an ``<sst>`` start tag."""
    match = _COUNT.search(head)
    return int(match.group(1)) if match else fallback
