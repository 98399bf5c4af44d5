"""``xl/workbook.xml``: the sheet list and the defined names, read for editing.

Only the ``<sheets>`` and ``<definedNames>`` blocks and the ``calcPr`` element are
rewritten; every other byte of the part is kept as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from xlapm.errors import FileProblem
from xlapm.package._opc import (
    OFFICE_DOCUMENT,
    STRICT_OFFICE_DOCUMENT,
    Rel,
    read_rels,
)
from xlapm.package._xml import (
    MAIN_NS,
    REL_NS,
    STRICT_MAIN_NS,
    Span,
    apply_edits,
    escape_attr,
    escape_text,
    get_attr,
    is_true,
    prefixes,
    remove_attr,
    scan,
    set_attr,
    split_head,
)
from xlapm.package.limits import sheet_name_key
from xlapm.package.safety import Package

OWNED_MARKER = "_xlapm_owned"
OWNED_VALUE = '"xlapm"'

# A hidden workbook-level name listing the workbook-level names xlapm wrote, so a
# rebuild can tell its own names from a person's.
NAMES_REGISTRY = "_xlapm_names"

_MAIN = f"{{{MAIN_NS}}}"
_STRING_CONSTANT = re.compile(r'"((?:[^"]|"")*)"')

# Excel caps a string constant in a formula at 255 characters.
_MAX_CONSTANT = 255


@dataclass
class Sheet:
    """One ``<sheet>`` entry; ``raw`` is its original text (None when new)."""

    name: str
    sheet_id: int
    rid: str
    state: str = "visible"
    raw: bytes | None = None

    @property
    def key(self) -> str:
        """The name as Excel compares it."""
        return sheet_name_key(self.name)


@dataclass
class Name:
    """One defined name; ``scope`` is a sheet position, None for the workbook."""

    name: str
    scope: int | None
    value: str
    hidden: bool = False
    raw: bytes | None = None
    element: Element | None = None

    @property
    def key(self) -> tuple[str, int | None]:
        """Name and scope as Excel compares them (names ignore case)."""
        return (self.name.lower(), self.scope)


@dataclass
class Workbook:
    """The parsed workbook part of a package."""

    part: str
    data: bytes
    root: Element
    span: Span
    rels: list[Rel]
    sheets: list[Sheet] = field(default_factory=list)
    names: list[Name] = field(default_factory=list)

    @property
    def context(self) -> dict[str, str]:
        """Namespace -> prefix declared on the root element."""
        return prefixes(self.data[self.span.start : self.span.head_end])

    def rel(self, rid: str) -> Rel | None:
        """Return the workbook relationship with id ``rid``."""
        return next((rel for rel in self.rels if rel.rid == rid), None)

    def rels_of(self, rel_type: str) -> list[Rel]:
        """Return the workbook relationships of one type."""
        return [rel for rel in self.rels if rel.type == rel_type]

    def owned(self) -> set[int]:
        """Return the positions of sheets carrying the ownership marker."""
        return {
            name.scope
            for name in self.names
            if name.scope is not None and name.name.lower() == OWNED_MARKER.lower()
        }

    def registered_names(self) -> set[str]:
        """Return (lower-case) the workbook-level names xlapm wrote earlier."""
        for name in self.names:
            if name.scope is None and name.name.lower() == NAMES_REGISTRY.lower():
                # Each constant holds whole names: join them as separate words.
                text = " ".join(_STRING_CONSTANT.findall(name.value))
                return {item.lower() for item in text.split()}
        return set()

    @property
    def date1904(self) -> bool:
        """Whether dates count from 1904 (old Mac workbooks)."""
        properties = self.root.find(f"{_MAIN}workbookPr")
        return properties is not None and is_true(properties.get("date1904"))

    @property
    def structure_locked(self) -> bool:
        """Whether a person protected the workbook structure (no new sheets)."""
        protection = self.root.find(f"{_MAIN}workbookProtection")
        return protection is not None and is_true(protection.get("lockStructure"))

    @property
    def active_tab(self) -> int:
        """The position of the sheet Excel shows first."""
        view = self.root.find(f"{_MAIN}bookViews/{_MAIN}workbookView")
        value = view.get("activeTab", "0") if view is not None else "0"
        return int(value) if value.isdigit() else 0


def load_workbook(package: Package) -> Workbook:
    """Read the workbook part of ``package``.

    Raises:
        FileProblem: the package has no workbook, or one xlapm cannot edit.
    """
    part = _workbook_part(package)
    data = package.read(part)
    root = package.parse(part)
    if root.tag != f"{_MAIN}workbook":
        raise _unsupported(package, root.tag)
    span = scan(data, depth=2)
    workbook = Workbook(part, data, root, span, read_rels(package, part))
    workbook.sheets = _read_sheets(workbook)
    workbook.names = _read_names(workbook, len(workbook.sheets))
    return workbook


def _workbook_part(package: Package) -> str:
    """Return the name of the package's workbook part."""
    for rel in read_rels(package, ""):
        if rel.type == STRICT_OFFICE_DOCUMENT:
            raise FileProblem(
                f"{package.path.name} is saved as Strict Open XML, which xlapm "
                "cannot edit",
                hint="Save it as an ordinary Excel Workbook (.xlsx).",
            )
        if rel.type == OFFICE_DOCUMENT and rel.part:
            found = package.find(rel.part)
            if found is not None:
                return found
    raise FileProblem(f"{package.path.name} is not an Excel workbook (no workbook)")


def _unsupported(package: Package, tag: str) -> FileProblem:
    """Return the error for a workbook part xlapm cannot edit."""
    if tag.startswith(f"{{{STRICT_MAIN_NS}}}"):
        return FileProblem(
            f"{package.path.name} is saved as Strict Open XML, which xlapm cannot edit",
            hint="Save it as an ordinary Excel Workbook (.xlsx).",
        )
    return FileProblem(
        f"{package.path.name} is not an .xlsx/.xlsm workbook xlapm can edit "
        "(binary .xlsb workbooks are not supported)"
    )


def _read_sheets(workbook: Workbook) -> list[Sheet]:
    """Return the ``<sheet>`` entries in order."""
    block = workbook.span.child("sheets")
    elements = workbook.root.findall(f"{_MAIN}sheets/{_MAIN}sheet")
    spans = _children(block, "sheet")
    sheets = []
    for element, span in zip(elements, spans, strict=True):
        sheets.append(
            Sheet(
                name=element.get("name", ""),
                sheet_id=int(element.get("sheetId", "0") or 0),
                rid=element.get(f"{{{REL_NS}}}id", ""),
                state=element.get("state", "visible"),
                raw=workbook.data[span.start : span.end],
            )
        )
    return sheets


def _read_names(workbook: Workbook, sheet_count: int) -> list[Name]:
    """Return the defined names in order, with their original text."""
    block = workbook.span.child("definedNames")
    elements = workbook.root.findall(f"{_MAIN}definedNames/{_MAIN}definedName")
    spans = _children(block, "definedName")
    names = []
    for element, span in zip(elements, spans, strict=True):
        scope = element.get("localSheetId")
        names.append(
            Name(
                name=element.get("name", ""),
                scope=int(scope) if scope is not None and scope.isdigit() else None,
                value=element.text or "",
                hidden=is_true(element.get("hidden")),
                raw=workbook.data[span.start : span.end],
                element=element,
            )
        )
    return names


def _children(block: Span | None, local: str) -> list[Span]:
    """Return the spans of the main-namespace children ``local`` of ``block``."""
    if block is None:
        return []
    return [span for span in block.children if span.tag == f"{_MAIN}{local}"]


def sheet_xml(sheet: Sheet, context: dict[str, str]) -> bytes:
    """Return the ``<sheet>`` element for ``sheet``, reusing its original text."""
    if sheet.raw is not None:
        tag, rest = split_head(sheet.raw)
        tag = set_attr(tag, "name", sheet.name)
        if sheet.state == "visible":
            return remove_attr(tag, "state") + rest
        return set_attr(tag, "state", sheet.state) + rest
    element = _qualified("sheet", context)
    r_prefix, declare = _rel_prefix(context)
    state = "" if sheet.state == "visible" else f' state="{sheet.state}"'
    return (
        f'<{element} name="{escape_attr(sheet.name)}" sheetId="{sheet.sheet_id}"'
        f'{state}{declare} {r_prefix}:id="{escape_attr(sheet.rid)}"/>'
    ).encode()


def name_xml(name: Name, context: dict[str, str]) -> bytes:
    """Return the ``<definedName>`` element for ``name``."""
    if name.raw is not None:
        tag, rest = split_head(name.raw)
        if name.scope is None:
            return remove_attr(tag, "localSheetId") + rest
        return set_attr(tag, "localSheetId", str(name.scope)) + rest
    element = _qualified("definedName", context)
    scope = "" if name.scope is None else f' localSheetId="{name.scope}"'
    hidden = ' hidden="1"' if name.hidden else ""
    return (
        f'<{element} name="{escape_attr(name.name)}"{scope}{hidden}>'
        f"{escape_text(name.value)}</{element}>"
    ).encode()


def registry_value(names: set[str]) -> str:
    """Return the formula text listing ``names`` in string constants of at most
    255 characters each."""
    chunks: list[str] = []
    for item in sorted(names):
        if chunks and len(chunks[-1]) + len(item) + 1 <= _MAX_CONSTANT:
            chunks[-1] += " " + item
        else:
            chunks.append(item)
    return "&".join(f'"{chunk}"' for chunk in chunks) or '""'


def _qualified(local: str, context: dict[str, str]) -> str:
    """Return ``local`` with the prefix the workbook part uses for its namespace."""
    prefix = context.get(MAIN_NS, "")
    return f"{prefix}:{local}" if prefix else local


def _rel_prefix(context: dict[str, str]) -> tuple[str, str]:
    """Return the relationships prefix and, if the root lacks it, a declaration."""
    prefix = context.get(REL_NS)
    if prefix:
        return prefix, ""
    return "r", f' xmlns:r="{REL_NS}"'


def render_workbook(
    workbook: Workbook,
    sheets: list[Sheet],
    names: list[Name],
    move_view: Callable[[str, int], int] | None = None,
) -> bytes:
    """Return workbook.xml with new sheet and name lists and a full recalc flag.

    ``fullCalcOnLoad`` makes Excel recalculate once on opening: the rebuilt sheets
    carry no computed results for their formulas, and a person's formulas that read
    the rebuilt sheets still hold results computed from the old figures.
    ``move_view`` renumbers each window's ``activeTab`` and ``firstSheet`` when
    sheets were removed (Excel repairs a workbook whose views point past the last
    sheet).
    """
    context = workbook.context
    data = workbook.data
    span = workbook.span
    edits = []
    if move_view is not None:
        edits += _view_edits(data, span, move_view)

    block = span.child("sheets")
    sheets_text = b"".join(sheet_xml(sheet, context) for sheet in sheets)
    if block is None:
        raise FileProblem("the workbook part has no sheet list")
    edits.append(_replace_content(data, block, sheets_text, context))

    names_text = b"".join(name_xml(name, context) for name in names)
    names_block = span.child("definedNames")
    calc = span.child("calcPr")
    calc_text = b"" if calc is not None else _new_calc(context)
    if names_block is not None:
        edits.append(_replace_content(data, names_block, names_text, context))
        if calc_text:
            edits.append((names_block.end, names_block.end, calc_text))
    else:
        element = _qualified("definedNames", context).encode()
        text = b"<" + element + b">" + names_text + b"</" + element + b">"
        at = _names_position(span)
        edits.append((at, at, (text if names else b"") + calc_text))
    if calc is not None:
        tag = set_attr(data[calc.start : calc.head_end], "fullCalcOnLoad", "1")
        edits.append((calc.start, calc.head_end, tag))
    return apply_edits(data, edits)


def _view_edits(
    data: bytes, span: Span, move_view: Callable[[str, int], int]
) -> list[tuple[int, int, bytes]]:
    """Return the edits that renumber the sheet positions of every window."""
    views = span.child("bookViews")
    edits = []
    for view in _children(views, "workbookView"):
        tag = original = data[view.start : view.head_end]
        for attribute in ("activeTab", "firstSheet"):
            # Both default to the first sheet when absent.
            value = get_attr(tag, attribute) or "0"
            if not value.isdigit():
                continue
            moved = move_view(attribute, int(value))
            if moved != int(value):
                tag = set_attr(tag, attribute, str(moved))
        if tag != original:
            edits.append((view.start, view.head_end, tag))
    return edits


def _replace_content(
    data: bytes, block: Span, content: bytes, context: dict[str, str]
) -> tuple[int, int, bytes]:
    """Return the edit that gives ``block`` the children ``content``."""
    if not block.self_closing:
        return (block.head_end, block.close_start, content)
    head = data[block.start : block.head_end - 2].rstrip() + b">"
    tag = _qualified(block.local, context).encode()
    return (block.start, block.end, head + content + b"</" + tag + b">")


def _new_calc(context: dict[str, str]) -> bytes:
    """Return a ``calcPr`` element asking for a full recalculation on load."""
    return f'<{_qualified("calcPr", context)} fullCalcOnLoad="1"/>'.encode()


def _names_position(span: Span) -> int:
    """Return where a new ``definedNames`` block goes: after the sheet list and
    the optional ``functionGroups`` and ``externalReferences`` (schema order)."""
    position = 0
    for child in span.children:
        if child.local in ("sheets", "functionGroups", "externalReferences"):
            position = child.end
    return position
