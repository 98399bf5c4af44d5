"""The splice itself: plan every change (raising conflicts first), then write.

``Splicer.plan`` reads both packages and decides every part of the output: which
of the person's parts are copied raw, which are edited as text, which are dropped,
and under which names the fragment's parts go in. Nothing is written until the
plan is complete, so a conflict never leaves a half-written file behind.
``Splicer.write`` then streams the output zip.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from xlapm.errors import (
    FileProblem,
    OwnershipConflict,
    WorkbookLocked,
    WouldLoseContent,
)
from xlapm.package._opc import (
    CALC_CHAIN,
    CHARTSHEET,
    OFFICE_REL,
    RELS_TYPE,
    SHARED_STRINGS,
    SHARED_STRINGS_TYPE,
    SHEET_METADATA,
    STYLES,
    THEME,
    WORKSHEET,
    ContentTypes,
    PackageWriter,
    Rel,
    edit_rels,
    free_part_name,
    free_rid,
    read_rels,
    relative,
    rels_name,
    render_rels,
)
from xlapm.package._parts import (
    dynamic_array_index,
    filter_calc_chain,
    remap_table,
    remap_vml,
    table_facts,
    unique_table_name,
    vml_blocks,
)
from xlapm.package._sheets import SheetRemap, remap_sheet, rename_tables
from xlapm.package._styles import merge_strings, merge_styles
from xlapm.package._workbook import (
    NAMES_REGISTRY,
    OWNED_MARKER,
    OWNED_VALUE,
    Name,
    Sheet,
    Workbook,
    load_workbook,
    registry_value,
    render_workbook,
)
from xlapm.package.limits import sheet_name_key
from xlapm.package.safety import Package

log = logging.getLogger(__name__)

TABLE_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
PIVOT_CACHE_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml."
    "pivotCacheDefinition+xml"
)
SLICER_CACHE_TYPE = "application/vnd.ms-excel.slicerCache+xml"
STYLES_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
METADATA_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"
)

# Relationship kinds XlsxWriter never writes: on an owned sheet they can only be
# a person's additions, which replacing the sheet would drop.
PERSON_KINDS = {
    "threadedComment": "a threaded comment",
    "pivotTable": "a pivot table",
    "slicer": "a slicer",
    "timeline": "a timeline",
    "control": "an ActiveX control",
    "ctrlProp": "a form control",
    "oleObject": "an embedded object",
    "package": "an embedded document",
    "queryTable": "a query table",
    "customProperty": "custom properties",
    "webextension": "an add-in part",
}

# Workbook-level parts of a fragment that can be merged.
_FRAGMENT_WORKBOOK_KINDS = {
    WORKSHEET,
    STYLES,
    SHARED_STRINGS,
    THEME,
    SHEET_METADATA,
    CALC_CHAIN,
}

_REVISIONS = f"{OFFICE_REL}/revisionHeaders"

_PIVOT_SOURCE = re.compile(rb'<(?:\w+:)?worksheetSource\b[^>]*\bname="([^"]*)"')

# Where a kept part can refer to a sheet by name: formulas (cells, validation,
# conditional formats, charts, x14 extensions), the cells form controls are
# linked to (VML and ctrlProps), hyperlink locations and the source range of a
# pivot cache.
_FORMULA_TEXT = re.compile(
    rb"<(?:[\w.-]+:)?(f|formula|formula1|formula2|FmlaLink|FmlaRange|FmlaTxbx)"
    rb"\b[^>/]*>([^<]*)</"
)
_LOCATION = re.compile(rb'\s(?:location|fmlaLink|fmlaRange|fmlaTxbx)="([^"]*)"')
_PIVOT_SHEET = re.compile(rb'<(?:\w+:)?worksheetSource\b[^>]*\bsheet="([^"]*)"')
_QUOTED_SHEET = re.compile(r"'((?:[^']|'')+)'!")
_PLAIN_SHEET = re.compile(r"(?<![\w.'\]\\])([^\W\d][\w.]*(?::[^\W\d][\w.]*)?)!")
_STRING_LITERAL = re.compile(r'"(?:[^"]|"")*"')
_XML_ENTITIES = {"&apos;": "'", "&quot;": '"', "&lt;": "<", "&gt;": ">"}

# Parts a splice rewrites itself, or that cannot name a sheet in a formula.
_NOT_SCANNED = re.compile(
    r"^(\[content_types\]\.xml|docprops/.*|.*\.rels|.*/(styles|sharedstrings|"
    r"calcchain|workbook|theme\d*|metadata)\.xml)$"
)


@dataclass
class SpliceReport:
    """What a splice did.

    Attributes:
        target: the workbook written.
        replaced: owned sheets rebuilt in place.
        added: sheets appended at the end.
        removed: owned sheets taken out because the rebuild no longer writes
            them.
        dropped: what the new workbook no longer holds (old parts of the replaced
            sheets, names scoped to them, calculation-chain entries), in words.
        renamed_tables: fragment tables renamed because a person's table or name
            already used the name (old name -> new name).
        kept_names: names a person scoped to a replaced sheet, kept on the new one.
        backup: where the previous version was kept, if asked.
    """

    target: Path
    replaced: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    renamed_tables: dict[str, str] = field(default_factory=dict)
    kept_names: list[str] = field(default_factory=list)
    backup: Path | None = None


@dataclass
class NewPart:
    """A part of the output that comes from the fragment.

    ``kind`` is ``raw`` (copied compressed), ``bytes`` (``data`` written) or
    ``sheet`` (streamed through ``remap``).
    """

    name: str
    kind: str
    source: str | None = None
    data: bytes | None = None
    remap: SheetRemap | None = None


class Splicer:
    """Plans the splice (raising any conflict first), then writes it."""

    def __init__(
        self,
        book: Package,
        piece: Package,
        target: Path,
        force: bool,
        remove: Iterable[str] = (),
    ):
        self.book = book
        self.piece = piece
        self.force = force
        self.remove = list(remove)
        self.workbook = load_workbook(book)
        self.fragment = load_workbook(piece)
        self.types = ContentTypes(book)
        self.fragment_types = ContentTypes(piece)
        self.report = SpliceReport(target=target)
        self.removed: set[str] = set()
        self.edited: dict[str, bytes] = {}
        self.new_parts: list[NewPart] = []
        self.overrides: dict[str, str] = {}
        self.used_names = {name.lower() for name in book.names}
        self.workbook_rels_remove: set[str] = set()
        self.workbook_rels_retarget: dict[str, str] = {}
        self.workbook_rels_add: list[Rel] = []
        self.used_rids = {rel.rid for rel in self.workbook.rels}
        self.table_renames: dict[str, str] = {}
        self.losses: list[str] = []
        self._closure: list[str] | None = None

    # -- planning ---------------------------------------------------------------

    def plan(self) -> None:
        """Work out every change; raise conflicts before anything is written."""
        self._check_workbooks()
        self._match_sheets()
        self._find_removed_parts()
        self._plan_tables()
        self._plan_names()
        self._check_table_references()
        self._check_sheet_references()
        self._raise_losses()
        self._plan_styles_and_strings()
        self._plan_metadata()
        self._plan_fragment_parts()
        self._plan_calc_chain()
        self._plan_package_parts()

    def _check_workbooks(self) -> None:
        """Refuse combinations the splice cannot make right."""
        name = self.book.path.name
        if self.workbook.date1904 != self.fragment.date1904:
            raise FileProblem(
                f"{name} counts dates from {self._epoch(self.workbook)} but the "
                f"rebuilt sheets count from {self._epoch(self.fragment)}; dates "
                "would move by four years",
                hint="Write the rebuilt sheets with the workbook's date system "
                "(XlsxWriter option 'date_1904').",
            )
        if self.workbook.rels_of(_REVISIONS):
            raise FileProblem(
                f"{name} is a shared workbook (legacy sharing with change history); "
                "xlapm cannot rebuild sheets in it",
                hint="Turn off Share Workbook (Review tab), save, then rebuild.",
            )
        for rel in self.fragment.rels:
            if rel.type == CHARTSHEET:
                # Excel scopes names to worksheets only, so a chart sheet cannot
                # carry the ownership marker (and openpyxl fails on one that does).
                raise FileProblem(
                    "the rebuilt sheets include a chart sheet, which xlapm cannot "
                    f"mark as its own in {name}",
                    hint="Place the chart on a worksheet instead.",
                )
            if rel.type not in _FRAGMENT_WORKBOOK_KINDS:
                raise FileProblem(
                    f"the rebuilt sheets use {rel.kind} parts, which xlapm cannot "
                    f"merge into {name}"
                )

    @staticmethod
    def _epoch(workbook: Workbook) -> int:
        """Return the year a workbook's date serials count from."""
        return 1904 if workbook.date1904 else 1900

    def _match_sheets(self) -> None:
        """Decide, for each fragment sheet, which sheet it replaces or that it is
        appended; a person's sheet of the same name is a conflict."""
        positions = {
            sheet.key: index for index, sheet in enumerate(self.workbook.sheets)
        }
        self.removed_sheets = self._sheets_to_remove(positions)
        # Sheets after a removed one move up; ``moved`` maps old to new positions.
        self.moved: dict[int, int] = {}
        self.sheets = []
        for index, s in enumerate(self.workbook.sheets):
            if index in self.removed_sheets:
                self.workbook_rels_remove.add(s.rid)
                continue
            self.moved[index] = len(self.sheets)
            self.sheets.append(Sheet(s.name, s.sheet_id, s.rid, s.state, s.raw))
        self.position: dict[int, int] = {}
        self.replaced: dict[int, int] = {}
        for index, sheet in enumerate(self.fragment.sheets):
            found = positions.get(sheet.key)
            if found is None:
                self._append_sheet(index, sheet)
            else:
                self._replace_sheet(index, sheet, found)
        self._check_sheet_list()
        self.active_tab = self.move_view("activeTab", self.workbook.active_tab)

    def _sheets_to_remove(self, positions: dict[str, int]) -> set[int]:
        """Return the positions of the sheets in ``remove``; each must be owned
        and not also in the fragment."""
        owned = self.workbook.owned()
        fragment = {sheet.key for sheet in self.fragment.sheets}
        found = set()
        for name in self.remove:
            index = positions.get(sheet_name_key(name))
            if index is None:
                raise OwnershipConflict(
                    f"{self.book.path.name} has no sheet {name!r} to remove"
                )
            if index not in owned:
                raise OwnershipConflict(
                    f"Sheet {self.workbook.sheets[index].name!r} in "
                    f"{self.book.path.name} was made by a person; xlapm removes "
                    "only sheets it made"
                )
            if sheet_name_key(name) in fragment:
                raise ValueError(f"sheet {name!r} is both rebuilt and removed")
            found.add(index)
        self.report.removed = [
            sheet.name
            for index, sheet in enumerate(self.workbook.sheets)
            if index in found
        ]
        return found

    def _check_sheet_list(self) -> None:
        """Refuse to add or remove sheets when the structure is protected, or to
        leave no sheet Excel can show."""
        if not any(sheet.state == "visible" for sheet in self.sheets):
            raise FileProblem(f"{self.book.path.name} would have no visible sheet left")
        if not self.workbook.structure_locked:
            return
        for verb, names in (
            ("add", self.report.added),
            ("remove", self.report.removed),
        ):
            if names:
                raise WorkbookLocked(
                    f"{self.book.path.name} has its structure protected, so xlapm "
                    f"cannot {verb} the sheets {', '.join(names)}",
                    hint="Unprotect it (Review > Protect Workbook), then rebuild.",
                )

    def move_view(self, attribute: str, old: int) -> int:
        """Return the new value of a workbook view's ``activeTab`` or
        ``firstSheet`` once sheets are removed.

        A removed active sheet hands over to the next visible sheet (else the
        last visible one before it): Excel refuses to open on a hidden sheet.
        """
        if old in self.moved:
            return self.moved[old]
        start = sum(1 for index in self.moved if index < old)
        if attribute != "activeTab":
            return min(start, len(self.sheets) - 1)
        visible = [
            position
            for position, sheet in enumerate(self.sheets)
            if sheet.state == "visible"
        ]
        after = [position for position in visible if position >= start]
        return after[0] if after else visible[-1]

    def _replace_sheet(self, index: int, sheet: Sheet, found: int) -> None:
        """Put fragment sheet ``index`` in place of owned sheet ``found``."""
        if found not in self.workbook.owned():
            raise OwnershipConflict(
                f"Sheet {self.workbook.sheets[found].name!r} in "
                f"{self.book.path.name} was made by a person; rename it or move "
                "it, then rebuild",
                hint=f"xlapm writes a sheet named {sheet.name!r}.",
            )
        self.replaced[index] = found
        self.position[index] = self.moved[found]
        self.sheets[self.moved[found]].name = sheet.name
        self.sheets[self.moved[found]].state = sheet.state
        self.report.replaced.append(sheet.name)

    def _append_sheet(self, index: int, sheet: Sheet) -> None:
        """Add fragment sheet ``index`` after the last sheet."""
        next_id = max([entry.sheet_id for entry in self.sheets] + [0]) + 1
        self.position[index] = len(self.sheets)
        self.sheets.append(
            Sheet(sheet.name, next_id, free_rid(self.used_rids), sheet.state)
        )
        self.report.added.append(sheet.name)

    def _sheet_part(self, workbook: Workbook, sheet: Sheet) -> Rel:
        """Return the workbook relationship of ``sheet``."""
        rel = workbook.rel(sheet.rid)
        if rel is None or rel.part is None:
            raise FileProblem(f"sheet {sheet.name!r} has no part in its workbook")
        return rel

    def _find_removed_parts(self) -> None:
        """Mark the parts only the replaced sheets reach; note a person's
        content among them."""
        replaced = {
            self.workbook.sheets[found].name: self._sheet_part(
                self.workbook, self.workbook.sheets[found]
            )
            for found in [*self.replaced.values(), *sorted(self.removed_sheets)]
        }
        stop = {rel.part.lower() for rel in replaced.values() if rel.part}
        root = [("", rel) for rel in read_rels(self.book, "")]
        kept, _ = self._reach(root, stop)
        dropped, edges = self._reach(list(replaced.items()))
        self.removed = {part for part in dropped if part not in kept}
        for part in list(self.removed):
            rels = self.book.find(rels_name(part))
            if rels is not None:
                self.removed.add(rels.lower())
        # The fragment's parts may take the freed names, so that rebuilding again
        # and again keeps the same part names.
        self.used_names -= self.removed
        for sheet, rel in edges:
            lost = rel.part is not None and rel.part.lower() in self.removed
            if lost and rel.kind in PERSON_KINDS:
                self.losses.append(
                    f"Sheet {sheet!r} has {PERSON_KINDS[rel.kind]} ({rel.part}) "
                    "that the rebuild would drop"
                )

    def _reach(
        self,
        start: list[tuple[str, Rel]],
        stop: frozenset[str] | set[str] = frozenset(),
    ) -> tuple[set[str], list[tuple[str, Rel]]]:
        """Walk relationships from ``start`` without entering ``stop``.

        Each start relationship carries a label (the replaced sheet it belongs
        to) that its descendants inherit. Returns the parts reached and the
        labelled relationships walked.
        """
        seen: set[str] = set()
        pending = list(start)
        edges = []
        while pending:
            label, rel = pending.pop()
            edges.append((label, rel))
            if rel.part is None:
                continue
            key = rel.part.lower()
            if key in stop:
                continue
            if key in seen or self.book.find(rel.part) is None:
                continue
            seen.add(key)
            children = read_rels(self.book, rel.part)
            pending.extend((label, child) for child in children)
        return seen, edges

    def _plan_tables(self) -> None:
        """Give the fragment's tables ids and names unique in the workbook."""
        self.kept_tables = []
        self.removed_tables = []
        for key in self._parts_of_type(TABLE_TYPE):
            facts = table_facts(self.book.read(key))
            (
                self.removed_tables if key.lower() in self.removed else self.kept_tables
            ).append(facts)
        taken = {t.name.lower() for t in self.kept_tables}
        taken |= {t.display_name.lower() for t in self.kept_tables}
        taken |= {name.name.lower() for name in self.workbook.names}
        next_id = max([t.table_id for t in self.kept_tables] + [0]) + 1
        self.table_plan: dict[str, tuple[int, str]] = {}
        for part in self._fragment_tables():
            facts = table_facts(self.piece.read(part))
            new_name = unique_table_name(facts.display_name, taken)
            if new_name != facts.display_name:
                self.table_renames[facts.display_name.lower()] = new_name
                self.report.renamed_tables[facts.display_name] = new_name
            self.table_plan[part.lower()] = (next_id, new_name)
            next_id += 1

    def _parts_of_type(self, content_type: str) -> list[str]:
        """Return the original's members whose content type is ``content_type``."""
        return [name for name in self.book.names if self.types.of(name) == content_type]

    def _fragment_tables(self) -> list[str]:
        """Return the fragment's table parts reached from its sheets, in order."""
        return [
            part
            for part in self._fragment_closure()
            if self.fragment_types.of(part) == TABLE_TYPE
        ]

    def _fragment_closure(self) -> list[str]:
        """Return every fragment part reached from its sheets (sheets first)."""
        if self._closure is None:
            self._closure = self._walk_fragment()
        return self._closure

    def _walk_fragment(self) -> list[str]:
        """Walk the fragment's relationships from its sheets, breadth first."""
        order: list[str] = []
        seen: set[str] = set()
        pending = [
            self._sheet_part(self.fragment, sheet).part
            for sheet in self.fragment.sheets
        ]
        while pending:
            part = pending.pop(0)
            if part is None or part.lower() in seen or self.piece.find(part) is None:
                continue
            seen.add(part.lower())
            order.append(self.piece.find(part))
            pending.extend(
                rel.part for rel in read_rels(self.piece, part) if not rel.external
            )
        return order

    def _plan_names(self) -> None:
        """Build the output's defined names: the person's, then the fragment's."""
        replaced_positions = set(self.replaced.values())
        fragment_names = [self._fragment_name(name) for name in self.fragment.names]
        fragment_names += self._missing_markers(fragment_names)
        redefined = {name.key for name in fragment_names}
        global_names = {
            name.name.lower(): name for name in fragment_names if name.scope is None
        }
        registry = self.workbook.registered_names()
        names: list[Name] = []
        for original in self.workbook.names:
            is_registry = original.name.lower() == NAMES_REGISTRY.lower()
            if is_registry and original.scope is None:
                continue
            if original.scope in self.removed_sheets:
                self._drop_removed_sheet_name(original)
                continue
            name = self._moved(original)
            if original.scope in replaced_positions:
                if self._is_xlapm_setup(name) or name.key in redefined:
                    if name.key not in redefined:
                        self.report.dropped.append(f"name {self._describe(name)}")
                    continue
                self.report.kept_names.append(self._describe(name))
            elif name.scope is None and name.name.lower() in global_names:
                names.append(self._take_over(name, global_names, registry))
                continue
            names.append(name)
        placed = {name.key for name in names}
        names += [name for name in fragment_names if name.key not in placed]
        if global_names or registry:
            listed = registry | set(global_names)
            names.append(Name(NAMES_REGISTRY, None, registry_value(listed), True))
        self._check_global_names(global_names)
        self.names = names

    def _moved(self, name: Name) -> Name:
        """Return a person's name with its sheet scope renumbered for the sheets
        removed before it (a scope past the last sheet is kept as it was)."""
        if name.scope is None or self.moved.get(name.scope, name.scope) == name.scope:
            return name
        return dataclasses.replace(name, scope=self.moved[name.scope])

    def _drop_removed_sheet_name(self, name: Name) -> None:
        """Drop a name scoped to a removed sheet; a person's one is a loss."""
        sheet = self.workbook.sheets[name.scope or 0].name
        described = f"'{sheet}'!{name.name}"
        if self._is_xlapm_setup(name):
            return
        self.losses.append(
            f"Name {described} belongs to sheet {sheet!r}, which the rebuild removes"
        )

    def _fragment_name(self, name: Name) -> Name:
        """Return a fragment name placed in the output (scope, tables, marker)."""
        scope = None if name.scope is None else self.position[name.scope]
        value = name.value
        if self.table_renames:
            value = rename_tables(value, self.table_renames)
        if name.name.lower() == OWNED_MARKER.lower():
            return Name(OWNED_MARKER, scope, OWNED_VALUE, hidden=True)
        return Name(name.name, scope, value, name.hidden)

    def _missing_markers(self, names: list[Name]) -> list[Name]:
        """Return markers for every fragment sheet when the fragment marks none.

        A fragment that marks some of its sheets marks exactly those it owns:
        the others (Settings) belong to the person from their first day.
        """
        if any(name.name.lower() == OWNED_MARKER.lower() for name in names):
            return []
        return [
            Name(OWNED_MARKER, position, OWNED_VALUE, hidden=True)
            for position in sorted(self.position.values())
        ]

    @staticmethod
    def _is_xlapm_setup(name: Name) -> bool:
        """Tell whether a name on a replaced sheet is sheet set-up xlapm rewrites
        (print area, print titles, filter range) or its marker."""
        lowered = name.name.lower()
        return lowered.startswith("_xlnm.") or lowered == OWNED_MARKER.lower()

    def _describe(self, name: Name) -> str:
        """Return a name as a person reads it: ``'Matrix'!Print_Area``."""
        if name.scope is None or name.scope >= len(self.sheets):
            return repr(name.name)
        return f"'{self.sheets[name.scope].name}'!{name.name}"

    def _take_over(
        self, name: Name, fragment_names: dict[str, Name], registry: set[str]
    ) -> Name:
        """Return the fragment's version of a workbook-level name, or raise if
        the existing one is a person's."""
        new = fragment_names[name.name.lower()]
        if name.name.lower() not in registry and name.value != new.value:
            raise OwnershipConflict(
                f"Name {name.name!r} in {self.book.path.name} was made by a person; "
                "rename it, then rebuild",
                hint="xlapm defines a workbook-level name with the same name.",
            )
        return new

    def _check_global_names(self, fragment_names: dict[str, Name]) -> None:
        """Refuse a fragment workbook-level name equal to a person's table name."""
        for table in self.kept_tables:
            for label in {table.name, table.display_name}:
                if label.lower() in fragment_names:
                    raise OwnershipConflict(
                        f"Table {label!r} in {self.book.path.name} was made by a "
                        "person; rename it, then rebuild",
                        hint="xlapm defines a name with the same name.",
                    )

    def _check_table_references(self) -> None:
        """Note a person's formula, name, pivot table or slicer that uses a table
        the rebuild removes without writing it again."""
        final = {name.lower() for _, name in self.table_plan.values()}
        gone = {
            table.display_name.lower(): table.display_name
            for table in self.removed_tables
            if table.display_name.lower() not in final
        }
        if gone:
            pattern = re.compile(
                rb"(?<![\w.])("
                + b"|".join(re.escape(name.encode()) for name in gone.values())
                + rb")\[",
                re.IGNORECASE,
            )
            self._scan_names(pattern)
            self._scan_parts(pattern, set(gone))
        self._scan_slicers({table.table_id for table in self.removed_tables})

    def _scan_names(self, pattern: re.Pattern[bytes]) -> None:
        """Note names whose formula uses a removed table (``Table[Column]``)."""
        for name in self.names:
            match = pattern.search(name.value.encode())
            if match:
                self.losses.append(
                    f"Name {self._describe(name)} uses table "
                    f"{match.group(1).decode()!r}, which the rebuild removes"
                )

    def _scan_parts(self, pattern: re.Pattern[bytes], gone: set[str]) -> None:
        """Note kept sheets whose formulas, and pivot caches whose source, use a
        removed table."""
        kept_sheets = [
            self._sheet_part(self.workbook, sheet).part
            for index, sheet in enumerate(self.workbook.sheets)
            if index not in self.replaced.values() and index not in self.removed_sheets
        ]
        for part in kept_sheets:
            if part and pattern.search(self.book.read(part)):
                self.losses.append(f"part {part} uses a table that the rebuild removes")
        for part in self._parts_of_type(PIVOT_CACHE_TYPE):
            sources = _PIVOT_SOURCE.findall(self.book.read(part))
            if any(source.decode().lower() in gone for source in sources):
                self.losses.append(
                    f"pivot cache {part} reads a table that the rebuild removes"
                )

    def _check_sheet_references(self) -> None:
        """Note a person's name, formula, chart, hyperlink or pivot cache that
        refers to a sheet the rebuild removes; xlapm's own names go quietly."""
        if not self.removed_sheets:
            return
        gone = {
            self.workbook.sheets[index].key: self.workbook.sheets[index].name
            for index in self.removed_sheets
        }
        registry = self.workbook.registered_names()
        kept = []
        for name in self.names:
            sheet = _first_sheet_named(name.value, gone)
            if sheet is None:
                kept.append(name)
            elif name.scope is None and name.name.lower() in registry:
                self.report.dropped.append(f"name {name.name!r}")
            else:
                kept.append(name)
                self.losses.append(
                    f"Name {self._describe(name)} refers to sheet {sheet!r}, which "
                    "the rebuild removes"
                )
        self.names = kept
        for part in self.book.names:
            if part.lower() in self.removed or _NOT_SCANNED.match(part.lower()):
                continue
            sheet = self._part_refers_to(part, gone)
            if sheet is not None:
                self.losses.append(
                    f"{self._part_label(part)} refers to sheet {sheet!r}, which the "
                    "rebuild removes"
                )

    def _part_refers_to(self, part: str, gone: dict[str, str]) -> str | None:
        """Return the removed sheet one kept XML part refers to, if any."""
        if not part.lower().endswith((".xml", ".vml")):
            return None
        data = self.book.read(part)
        lowered = data.lower()
        # Most parts never mention the sheets: skip them before any parsing.
        # bytes.lower() folds ASCII only, so other names are always looked for.
        if not any(not key.isascii() or key.encode() in lowered for key in gone):
            return None
        for match in _PIVOT_SHEET.finditer(data):
            sheet = gone.get(sheet_name_key(_unescape(match.group(1))))
            if sheet is not None:
                return sheet
        texts = [match.group(2) for match in _FORMULA_TEXT.finditer(data)]
        texts += [match.group(1) for match in _LOCATION.finditer(data)]
        for text in texts:
            sheet = _first_sheet_named(_unescape(text), gone)
            if sheet is not None:
                return sheet
        return None

    def _part_label(self, part: str) -> str:
        """Return a kept part as a person reads it: ``Sheet 'Notes'`` for a
        worksheet, the part name otherwise."""
        for sheet in self.workbook.sheets:
            rel = self.workbook.rel(sheet.rid)
            if rel is not None and rel.part and rel.part.lower() == part.lower():
                return f"Sheet {sheet.name!r}"
        return f"Part {part}"

    def _scan_slicers(self, table_ids: set[int]) -> None:
        """Note slicers that filter a table the rebuild removes."""
        pattern = re.compile(rb'tableId="(\d+)"')
        for part in self._parts_of_type(SLICER_CACHE_TYPE):
            if part.lower() in self.removed:
                continue
            for match in pattern.finditer(self.book.read(part)):
                if int(match.group(1)) in table_ids:
                    self.losses.append(
                        f"slicer {part} filters a table that the rebuild removes"
                    )

    def _raise_losses(self) -> None:
        """Stop unless forced when a person's content would be lost."""
        if not self.losses:
            return
        if not self.force:
            raise WouldLoseContent(
                f"Rebuilding {self.book.path.name} would lose: {self.losses[0]}"
                + (
                    f" (and {len(self.losses) - 1} more)"
                    if len(self.losses) > 1
                    else ""
                ),
                hint="Move it off the xlapm sheet, or rebuild with force.",
            )
        self.report.dropped.extend(f"forced: {loss}" for loss in self.losses)

    def _plan_styles_and_strings(self) -> None:
        """Merge styles and shared strings; keep the index maps for the sheets."""
        fragment_styles = self._workbook_part(self.fragment, STYLES)
        original_styles = self._workbook_part(self.workbook, STYLES)
        if fragment_styles is None:
            raise FileProblem("the rebuilt sheets have no styles part")
        fragment_root = self.piece.parse(fragment_styles)
        if original_styles is None:
            count = len(fragment_root.findall(".//{*}cellXfs/{*}xf"))
            dxfs = len(fragment_root.findall(".//{*}dxfs/{*}dxf"))
            self.xf, self.dxf = list(range(count)), list(range(dxfs))
            self._add_workbook_part(
                "xl/styles.xml", STYLES, STYLES_TYPE, self.piece.read(fragment_styles)
            )
        else:
            merged = merge_styles(
                self.book.read(original_styles),
                self.book.parse(original_styles),
                fragment_root,
                self.book.path,
            )
            self.xf, self.dxf = merged.xf, merged.dxf
            if merged.data is not None:
                self.edited[original_styles.lower()] = merged.data
        self._plan_strings()

    def _plan_strings(self) -> None:
        """Append the fragment's shared strings to the person's table."""
        fragment_strings = self._workbook_part(self.fragment, SHARED_STRINGS)
        self.strings: list[int] = []
        if fragment_strings is None:
            return
        original_strings = self._workbook_part(self.workbook, SHARED_STRINGS)
        original = (
            None if original_strings is None else self.book.read(original_strings)
        )
        merged = merge_strings(original, self.piece.read(fragment_strings))
        self.strings = merged.index
        if original_strings is None:
            self._add_workbook_part(
                "xl/sharedStrings.xml",
                SHARED_STRINGS,
                SHARED_STRINGS_TYPE,
                merged.data or b"",
            )
        elif merged.data is not None:
            self.edited[original_strings.lower()] = merged.data

    def _workbook_part(self, workbook: Workbook, rel_type: str) -> str | None:
        """Return the stored name of a workbook-level part, or None."""
        package = self.book if workbook is self.workbook else self.piece
        for rel in workbook.rels_of(rel_type):
            if rel.part and package.find(rel.part):
                return package.find(rel.part)
        return None

    def _add_workbook_part(
        self, wanted: str, rel_type: str, content_type: str, data: bytes
    ) -> None:
        """Add a new workbook-level part with its relationship and content type."""
        name = free_part_name(wanted, self.used_names)
        self.new_parts.append(NewPart(name, "bytes", data=data))
        self.workbook_rels_add.append(
            Rel(
                free_rid(self.used_rids),
                rel_type,
                relative(self.workbook.part, name),
                False,
                name,
            )
        )
        if self.types.needs_override(name, content_type):
            self.overrides[name] = content_type

    def _plan_metadata(self) -> None:
        """Carry dynamic-array cell metadata (``cm="1"``) over to the output."""
        self.metadata: dict[bytes, bytes] = {}
        fragment_part = self._workbook_part(self.fragment, SHEET_METADATA)
        if fragment_part is None:
            return
        fragment_data = self.piece.read(fragment_part)
        wanted = dynamic_array_index(fragment_data)
        original_part = self._workbook_part(self.workbook, SHEET_METADATA)
        if original_part is None:
            self._add_workbook_part(
                "xl/metadata.xml", SHEET_METADATA, METADATA_TYPE, fragment_data
            )
            return
        existing = dynamic_array_index(self.book.read(original_part))
        if wanted is None or existing is None:
            raise FileProblem(
                f"the rebuilt sheets use dynamic array formulas, but the cell "
                f"metadata of {self.book.path.name} has no entry for them"
            )
        if existing != wanted:
            self.metadata = {wanted: existing}

    def _plan_fragment_parts(self) -> None:
        """Name every fragment part in the output and prepare its content."""
        self.part_names: dict[str, str] = {}
        # Replaced sheets first, so that they keep their own part names.
        order = sorted(
            range(len(self.fragment.sheets)), key=lambda i: i not in self.replaced
        )
        for index in order:
            sheet = self.fragment.sheets[index]
            self._place_sheet(index, self._sheet_part(self.fragment, sheet))
        for part in self._fragment_closure():
            if part.lower() not in self.part_names:
                self.part_names[part.lower()] = free_part_name(part, self.used_names)
        blocks = self._vml_blocks_in_use()
        for part in self._fragment_closure():
            self._prepare_part(part, blocks)

    def _place_sheet(self, index: int, rel: Rel) -> None:
        """Name a fragment sheet's part: the replaced sheet's own name if free."""
        part = self.piece.find(rel.part)
        found = self.replaced.get(index)
        name = None
        if found is not None:
            old = self._sheet_part(self.workbook, self.workbook.sheets[found])
            free = old.part.lower() not in self.used_names
            if free and old.part.lower() in self.removed and old.type == rel.type:
                name = self.book.find(old.part) or old.part
                self.used_names.add(name.lower())
            else:
                name = free_part_name(part, self.used_names)
                self._retarget_sheet(found, rel, name)
        else:
            name = free_part_name(part, self.used_names)
            output = self.sheets[self.position[index]]
            self.workbook_rels_add.append(
                Rel(
                    output.rid,
                    rel.type,
                    relative(self.workbook.part, name),
                    False,
                    name,
                )
            )
        self.part_names[part.lower()] = name

    def _retarget_sheet(self, found: int, rel: Rel, name: str) -> None:
        """Point a replaced sheet's relationship at a new part name."""
        sheet = self.sheets[found]
        old = self.workbook.rel(sheet.rid)
        if old is not None and old.type == rel.type:
            self.workbook_rels_retarget[sheet.rid] = relative(self.workbook.part, name)
            return
        # A worksheet replaced by a chartsheet (or back) needs a new relationship.
        self.workbook_rels_remove.add(sheet.rid)
        sheet.rid = free_rid(self.used_rids)
        self.workbook_rels_add.append(
            Rel(sheet.rid, rel.type, relative(self.workbook.part, name), False, name)
        )

    def _vml_blocks_in_use(self) -> set[int]:
        """Return the VML shape-id blocks the kept drawings claim."""
        used: set[int] = set()
        for name in self.book.names:
            if name.lower().endswith(".vml") and name.lower() not in self.removed:
                used |= vml_blocks(self.book.read(name))
        return used

    def _prepare_part(self, part: str, blocks: set[int]) -> None:
        """Queue one fragment part (and its rels) for the output."""
        name = self.part_names[part.lower()]
        content_type = self.fragment_types.of(part)
        if content_type is None:
            raise FileProblem(f"the rebuilt part {part} has no content type")
        if self.types.needs_override(name, content_type):
            self.overrides[name] = content_type
        self.new_parts.append(self._new_part(part, name, content_type, blocks))
        rels = read_rels(self.piece, part)
        if rels:
            self._prepare_rels(name, rels)

    def _new_part(
        self, part: str, name: str, content_type: str, blocks: set[int]
    ) -> NewPart:
        """Return how one fragment part is written."""
        sheet = self._fragment_sheet_at(part)
        if sheet is not None:
            return NewPart(name, "sheet", source=part, remap=self._remap_for(sheet))
        if content_type == TABLE_TYPE:
            table_id, table_name = self.table_plan[part.lower()]
            data = remap_table(
                self.piece.read(part),
                table_id,
                table_name,
                self.table_renames,
                self._numbers(self.dxf),
            )
            return NewPart(name, "bytes", data=data)
        if part.lower().endswith(".vml"):
            return NewPart(name, "bytes", data=remap_vml(self.piece.read(part), blocks))
        return NewPart(name, "raw", source=part)

    def _fragment_sheet_at(self, part: str) -> int | None:
        """Return the fragment sheet index whose part is ``part``."""
        for index, sheet in enumerate(self.fragment.sheets):
            rel = self._sheet_part(self.fragment, sheet)
            if rel.part.lower() == part.lower():
                return index
        return None

    def _remap_for(self, index: int) -> SheetRemap:
        """Return the renumbering for fragment sheet ``index``."""
        return SheetRemap(
            xf=self._numbers(self.xf),
            dxf=self._numbers(self.dxf),
            strings=self._numbers(self.strings),
            metadata=self.metadata,
            tab_selected=self.position[index] == self.active_tab,
            tables=self.table_renames,
        )

    @staticmethod
    def _numbers(mapping: list[int]) -> list[bytes]:
        """Return an index map as the bytes written into XML."""
        return [str(number).encode() for number in mapping]

    def _prepare_rels(self, name: str, rels: list[Rel]) -> None:
        """Queue the rels part of output part ``name``, targets moved."""
        moved = []
        for rel in rels:
            target = rel.target
            if not rel.external and rel.part is not None:
                new = self.part_names.get(rel.part.lower())
                if new is None:
                    raise FileProblem(f"the rebuilt part {rel.part} is missing")
                target = relative(name, new)
            moved.append(Rel(rel.rid, rel.type, target, rel.external, None))
        rels_part = rels_name(name)
        self.used_names.add(rels_part.lower())
        self.new_parts.append(NewPart(rels_part, "bytes", data=render_rels(moved)))
        if self.types.needs_override(rels_part, RELS_TYPE):
            self.overrides[rels_part] = RELS_TYPE

    def _plan_calc_chain(self) -> None:
        """Drop the calculation-chain entries of the replaced and removed sheets."""
        chain = self._workbook_part(self.workbook, CALC_CHAIN)
        if chain is None or not (self.replaced or self.removed_sheets):
            return
        gone = [*self.replaced.values(), *self.removed_sheets]
        sheet_ids = {self.workbook.sheets[index].sheet_id for index in gone}
        data = self.book.read(chain)
        filtered = filter_calc_chain(data, sheet_ids)
        if filtered is data:
            return
        if filtered is None:
            # Nothing left: the part goes; Excel builds a new chain on loading.
            self.removed.add(chain.lower())
            for rel in self.workbook.rels_of(CALC_CHAIN):
                self.workbook_rels_remove.add(rel.rid)
            return
        self.edited[chain.lower()] = filtered
        self.report.dropped.append(
            "calculation-chain entries of the replaced and removed sheets"
        )

    def _plan_package_parts(self) -> None:
        """Rewrite workbook.xml, its relationships and the content types."""
        workbook = self.workbook
        self.edited[workbook.part.lower()] = render_workbook(
            workbook,
            self.sheets,
            self.names,
            move_view=self.move_view if self.removed_sheets else None,
        )
        rels_part = self.book.find(rels_name(workbook.part))
        if rels_part is None:
            raise FileProblem(f"{self.book.path.name} has no workbook relationships")
        self.edited[rels_part.lower()] = edit_rels(
            self.book.read(rels_part),
            self.workbook_rels_remove,
            self.workbook_rels_retarget,
            self.workbook_rels_add,
        )
        reused = {part.name.lower() for part in self.new_parts}
        gone = sorted(
            self.book.find(part) or part for part in self.removed if part not in reused
        )
        self.report.dropped[:0] = [f"part {name}" for name in gone]
        self.edited[ContentTypes.PART.lower()] = self.types.render(
            set(gone), self.overrides
        )

    # -- writing ------------------------------------------------------------------

    def write(self, temp: Path) -> None:
        """Write the planned workbook to ``temp``."""
        writer = PackageWriter(temp)
        try:
            self._write_original_members(writer)
            for part in self.new_parts:
                self._write_new_part(writer, part)
            writer.archive.comment = self.book.archive.comment
        finally:
            writer.close()

    def _write_original_members(self, writer: PackageWriter) -> None:
        """Copy the person's members: raw when untouched, edited text otherwise."""
        for info in self.book.infos:
            key = info.filename.lower()
            if key in self.removed:
                continue
            if key in self.edited:
                writer.write(info.filename, self.edited[key], like=info)
            else:
                writer.copy_raw(self.book, info.filename)

    def _write_new_part(self, writer: PackageWriter, part: NewPart) -> None:
        """Write one part that comes from the fragment."""
        if part.kind == "raw":
            writer.copy_raw(self.piece, part.source, as_name=part.name)
        elif part.kind == "bytes":
            writer.write(part.name, part.data or b"")
        else:
            large = self.piece.info(part.source).file_size > 1024**3
            with (
                self.piece.open(part.source) as source,
                writer.stream(part.name, large) as target,
            ):
                remap_sheet(source, target, part.remap)


def _unescape(data: bytes) -> str:
    """Return XML character data or an attribute value as text."""
    text = data.decode("utf-8", "replace")
    for entity, char in _XML_ENTITIES.items():
        text = text.replace(entity, char)
    return text.replace("&amp;", "&")


def _first_sheet_named(formula: str, gone: dict[str, str]) -> str | None:
    """Return the first sheet of ``gone`` (key -> name) that ``formula`` refers
    to: ``'Ana Lee'!A1``, ``Movements!A1`` or a 3-D ``Sheet1:Movements!A1``.

    String constants are skipped; a reference into another workbook
    (``[1]Sheet1!A1``) is not to this workbook's sheet.
    """
    code = _STRING_LITERAL.sub('""', formula)
    quoted = [match.group(1) for match in _QUOTED_SHEET.finditer(code)]
    found = [reference.replace("''", "'") for reference in quoted]
    found += [match.group(1) for match in _PLAIN_SHEET.finditer(code)]
    for reference in found:
        if "[" in reference:
            continue
        for sheet in reference.split(":"):
            name = gone.get(sheet_name_key(sheet))
            if name is not None:
                return name
    return None
