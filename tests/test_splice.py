"""Splicing xlapm's sheets into workbooks people made, without losing a part.

The corpus in ``tests/data/xlsx/`` is copied from ``../shared/data/xlsx/`` (see
its README): five workbooks whose parts a plain openpyxl save damages.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from libreoffice import convert, needs_libreoffice
from package_compare import (
    EDITED_PARTS,
    MAIN,
    REL_ID,
    changed_untouched_parts,
    children,
    lost_from_edited_parts,
    parse,
    read_parts,
)

from xlapm.errors import (
    FileProblem,
    OwnershipConflict,
    UnsafeWorkbook,
    WorkbookLocked,
    WouldLoseContent,
)
from xlapm.package import owned_sheets, sheet_names, splice_owned_sheets
from xlapm.package._parts import filter_calc_chain

ROOT = Path(__file__).parent.parent
CORPUS = sorted((Path(__file__).parent / "data" / "xlsx").glob("*.xls*"))

ACCOUNTS = [
    ("Acme", 1_250_000.5, 0.82),
    ("Globex", 98_000.0, 0.12),
    ("Initech", 310_500.75, 0.55),
    ("Umbrella", 45_000.0, 0.91),
]


def make_fragment(
    path: Path,
    *,
    version: int = 1,
    sheets: tuple[str, str] = ("Matrix", "TIER 1"),
    table: str | None = "Accounts",
    marker: bool = True,
    threshold_name: bool = True,
    extra_formula: str | None = None,
) -> Path:
    """Write a fragment the way xlapm's writer does, with every feature the
    splice must carry: a table, a CF rule with a dxf, a scatter chart, a merged
    range, a number format, shared strings, a note, validation, frozen panes,
    a print area, the ownership markers and a workbook-level name."""
    book = xlsxwriter.Workbook(path)
    matrix = book.add_worksheet(sheets[0])
    money = book.add_format({"num_format": '#,##0.00 "USD"', "bold": True})
    alert = book.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
    matrix.write_row(0, 0, ["Account", "ARR", "Adoption"])
    for row, (account, arr, adoption) in enumerate(ACCOUNTS, start=1):
        matrix.write_string(row, 0, f"{account} v{version}")
        matrix.write_number(row, 1, arr * version, money)
        matrix.write_number(row, 2, adoption)
    last = len(ACCOUNTS)
    if table:
        matrix.add_table(
            0,
            0,
            last,
            2,
            {
                "name": table,
                "columns": [
                    {"header": "Account"},
                    {"header": "ARR", "format": money},
                    {"header": "Adoption"},
                ],
            },
        )
    matrix.conditional_format(
        1,
        2,
        last,
        2,
        {"type": "cell", "criteria": "<", "value": 0.3, "format": alert},
    )
    matrix.merge_range("E1:F1", f"Quadrants v{version}", money)
    matrix.write_formula("E3", "=SUM(B2:B5)")
    if extra_formula:
        matrix.write_formula("E4", extra_formula)
    chart = book.add_chart({"type": "scatter"})
    chart.add_series(
        {
            "categories": f"='{sheets[0]}'!$C$2:$C$5",
            "values": f"='{sheets[0]}'!$B$2:$B$5",
        }
    )
    matrix.insert_chart("H2", chart)
    matrix.write_comment("A1", "Accounts of this quarter")
    matrix.data_validation(
        "C2:C5",
        {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1},
    )
    matrix.freeze_panes(1, 0)
    matrix.print_area("A1:F5")
    tier = book.add_worksheet(sheets[1])
    tier.write_row(0, 0, ["Account", "Playbook"])
    tier.write_row(1, 0, [f"Acme v{version}", "One-to-one"])
    tier.autofilter("A1:B2")
    if marker:
        for name in sheets:
            book.define_name(f"'{name}'!_xlapm_owned", '="xlapm"')
    if threshold_name:
        book.define_name("APM_Threshold", f"='{sheets[0]}'!$B${1 + version}")
    book.close()
    return path


def make_person_book(path: Path, build) -> Path:
    """Write a workbook a person made (no ownership marker) with XlsxWriter."""
    book = xlsxwriter.Workbook(path)
    build(book)
    book.close()
    return path


def sheet_content(path: Path, name: str) -> dict[str, tuple]:
    """Return each cell of one sheet as (value, number format, bold, fill)."""
    with warnings.catch_warnings():
        # openpyxl warns about x14 extensions it does not read; irrelevant here.
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(path)
    sheet = book[name]
    return {
        cell.coordinate: (
            cell.value,
            cell.number_format,
            bool(cell.font.b),
            cell.fill.fgColor.rgb if cell.fill.fill_type else None,
        )
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    }


def sheet_features(path: Path, name: str) -> dict[str, object]:
    """Return the sheet-level features the fragment defines, as openpyxl reads
    them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(path)
    sheet = book[name]
    rules = [
        (str(cf.sqref), rule.type, rule.dxf.fill.bgColor.rgb if rule.dxf else None)
        for cf in sheet.conditional_formatting
        for rule in cf.rules
    ]
    return {
        "merged": sorted(str(merged) for merged in sheet.merged_cells.ranges),
        "tables": sorted((t.displayName, t.ref) for t in sheet.tables.values()),
        "rules": rules,
        "validations": [str(v.sqref) for v in sheet.data_validations.dataValidation],
        "freeze": sheet.freeze_panes,
        "charts": len(sheet._charts),
        "print_area": sheet.print_area,
        "comment": sheet["A1"].comment.text if sheet["A1"].comment else None,
    }


def workbook_xml(path: Path) -> bytes:
    """Return a package's xl/workbook.xml."""
    return read_parts(path)["xl/workbook.xml"]


def sheet_part(path: Path, name: str) -> str:
    """Return the part name of sheet ``name``, through the workbook's rels."""
    parts = read_parts(path)
    rels = parse(parts["xl/_rels/workbook.xml.rels"])
    targets = {rel.get("Id"): rel.get("Target") for rel in rels}
    for sheet in parse(parts["xl/workbook.xml"]).iter(f"{MAIN}sheet"):
        if sheet.get("name") == name:
            return "xl/" + targets[sheet.get(REL_ID)]
    raise KeyError(name)


@pytest.fixture
def fragments(tmp_path: Path) -> tuple[Path, Path]:
    """Two versions of the fragment: a first rebuild and the next one."""
    return (
        make_fragment(tmp_path / "fragment1.xlsx", version=1),
        make_fragment(tmp_path / "fragment2.xlsx", version=2),
    )


def check_person_parts_kept(original: Path, result: Path) -> None:
    """Assert every part of ``original`` is in ``result`` as it was, and the
    edited parts only gained entries."""
    assert changed_untouched_parts(original, result) == []
    assert lost_from_edited_parts(original, result) == []


def check_fragment_content(fragment: Path, result: Path) -> None:
    """Assert the owned sheets of ``result`` hold what the fragment holds."""
    for name in ("Matrix", "TIER 1"):
        assert sheet_content(result, name) == sheet_content(fragment, name)
        assert sheet_features(result, name) == sheet_features(fragment, name)
    assert owned_sheets(result)[-2:] == ["Matrix", "TIER 1"]


@pytest.mark.parametrize("book", CORPUS, ids=lambda path: path.name)
def test_splices_keep_every_part_a_person_made(
    book: Path, fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    """A first splice appends the owned sheets, a second one replaces them; both
    keep every other part byte for byte (VBA, customUI, drawings, threaded
    comments, persons, x14 extensions, query tables, connections...)."""
    first, second = tmp_path / f"first-{book.name}", tmp_path / f"second-{book.name}"

    report = splice_owned_sheets(book, fragments[0], first)
    assert (report.replaced, report.added) == ([], ["Matrix", "TIER 1"])
    assert sheet_names(first) == sheet_names(book) + ["Matrix", "TIER 1"]
    check_person_parts_kept(book, first)
    check_fragment_content(fragments[0], first)

    report = splice_owned_sheets(first, fragments[1], second)
    assert (report.replaced, report.added) == (["Matrix", "TIER 1"], [])
    assert report.dropped == []
    assert sheet_names(second) == sheet_names(first)
    check_person_parts_kept(book, second)
    check_fragment_content(fragments[1], second)

    # Replaced in place: same part names, sheet ids and relationship ids.
    assert set(read_parts(second)) == set(read_parts(first))
    old = children(workbook_xml(first), "sheets")
    assert children(workbook_xml(second), "sheets") == old


@needs_libreoffice
@pytest.mark.libreoffice
@pytest.mark.parametrize("book", CORPUS, ids=lambda path: path.name)
def test_libreoffice_opens_the_result_and_keeps_the_marker(
    book: Path, fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    """LibreOffice converts the spliced workbook without error, shows the
    fragment's values, and its own save keeps the ownership markers, so the
    next rebuild replaces the sheets again."""
    spliced = tmp_path / f"spliced-{book.name}"
    splice_owned_sheets(book, fragments[0], spliced)
    splice_owned_sheets(spliced, fragments[1], spliced)

    converted = convert(spliced, tmp_path / "converted")

    values = sheet_content(converted, "Matrix")
    assert values["A2"][0] == "Acme v2"
    assert values["B2"][0] == pytest.approx(2_500_001.0)
    assert sheet_content(converted, "TIER 1")["A2"][0] == "Acme v2"
    assert owned_sheets(converted) == ["Matrix", "TIER 1"]
    again = tmp_path / "again.xlsx"
    report = splice_owned_sheets(converted, fragments[0], again)
    assert report.replaced == ["Matrix", "TIER 1"]
    assert sheet_content(again, "Matrix")["A2"][0] == "Acme v1"


def test_a_person_sheet_with_an_owned_name_stops_the_rebuild(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    """Excel compares sheet names ignoring case, so "matrix" is "Matrix"."""
    book = make_person_book(
        tmp_path / "book.xlsx",
        lambda b: b.add_worksheet("matrix").write("A1", "my notes"),
    )
    before = book.read_bytes()

    with pytest.raises(OwnershipConflict) as raised:
        splice_owned_sheets(book, fragments[0], book)

    assert str(raised.value) == (
        "Sheet 'matrix' in book.xlsx was made by a person; rename it or move it, "
        "then rebuild"
    )
    assert book.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "book.xlsx",
        "fragment1.xlsx",
        "fragment2.xlsx",
    ]


def test_a_person_name_with_an_xlapm_name_stops_the_rebuild(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    def build(book: xlsxwriter.Workbook) -> None:
        book.add_worksheet("Data").write("A1", 5)
        book.define_name("APM_Threshold", "=Data!$A$1")

    book = make_person_book(tmp_path / "book.xlsx", build)

    with pytest.raises(OwnershipConflict) as raised:
        splice_owned_sheets(book, fragments[0], tmp_path / "out.xlsx")

    assert str(raised.value) == (
        "Name 'APM_Threshold' in book.xlsx was made by a person; rename it, "
        "then rebuild"
    )
    assert not (tmp_path / "out.xlsx").exists()


def test_xlapm_workbook_names_are_taken_over_on_the_next_rebuild(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    """APM_Threshold points elsewhere in version 2; it is xlapm's (listed in the
    hidden _xlapm_names registry), so it is replaced, not a conflict."""
    book = make_person_book(
        tmp_path / "book.xlsx", lambda b: b.add_worksheet("Data").write("A1", 1)
    )
    splice_owned_sheets(book, fragments[0], book)
    splice_owned_sheets(book, fragments[1], book)

    names = parse(workbook_xml(book)).find(f"{MAIN}definedNames")
    values = {(n.get("name"), n.get("localSheetId")): n.text for n in names}
    assert values[("APM_Threshold", None)] == "'Matrix'!$B$3"
    assert values[("_xlapm_names", None)] == '"apm_threshold"'
    markers = [n for n in names if n.get("name") == "_xlapm_owned"]
    assert [(n.get("localSheetId"), n.get("hidden"), n.text) for n in markers] == [
        ("1", "1", '"xlapm"'),
        ("2", "1", '"xlapm"'),
    ]


def test_markers_are_added_when_the_fragment_lacks_them(tmp_path: Path) -> None:
    fragment = make_fragment(tmp_path / "fragment.xlsx", marker=False)
    book = make_person_book(
        tmp_path / "book.xlsx", lambda b: b.add_worksheet("Data").write("A1", 1)
    )

    splice_owned_sheets(book, fragment, book)

    assert owned_sheets(book) == ["Matrix", "TIER 1"]


def test_a_fragment_table_named_like_a_person_table_is_renamed(
    tmp_path: Path,
) -> None:
    """Excel refuses two tables of one name; formulas follow the new name."""

    def build(book: xlsxwriter.Workbook) -> None:
        sheet = book.add_worksheet("Data")
        sheet.write_row(0, 0, ["Name", "Value"])
        sheet.write_row(1, 0, ["x", 1])
        sheet.add_table(0, 0, 1, 1, {"name": "Accounts"})

    book = make_person_book(tmp_path / "book.xlsx", build)
    fragment = make_fragment(
        tmp_path / "fragment.xlsx", extra_formula="=SUM(Accounts[ARR])"
    )

    report = splice_owned_sheets(book, fragment, book)

    assert report.renamed_tables == {"Accounts": "Accounts_2"}
    parts = read_parts(book)
    tables = [
        parse(data)
        for name, data in sorted(parts.items())
        if name.startswith("xl/tables/")
    ]
    assert [(t.get("id"), t.get("displayName")) for t in tables] == [
        ("1", "Accounts"),
        ("2", "Accounts_2"),
    ]
    matrix = sheet_content(book, "Matrix")
    assert matrix["E4"][0] == "=SUM(Accounts_2[ARR])"


def test_table_ids_and_names_stay_unique_in_a_workbook_with_ten_tables(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    book = next(path for path in CORPUS if "TableRange" in path.name)
    result = tmp_path / "result.xlsx"

    splice_owned_sheets(book, fragments[0], result)
    splice_owned_sheets(result, fragments[1], result)

    tables = [
        parse(data)
        for name, data in read_parts(result).items()
        if name.startswith("xl/tables/table")
    ]
    ids = [t.get("id") for t in tables]
    names = [t.get("displayName").lower() for t in tables]
    assert len(tables) == 11
    assert len(set(ids)) == len(ids) and len(set(names)) == len(names)


def mark_owned(source: Path, target: Path, position: int) -> Path:
    """Copy a workbook, marking sheet ``position`` as xlapm's (as if an earlier
    rebuild had written it)."""
    name = (
        f'<definedNames><definedName name="_xlapm_owned" '
        f'localSheetId="{position}" hidden="1">"xlapm"</definedName>'
        "</definedNames>"
    )
    return rewrite_member(
        source,
        target,
        "xl/workbook.xml",
        lambda data: data.replace(b"</sheets>", b"</sheets>" + name.encode(), 1),
    )


def rewrite_member(source: Path, target: Path, member: str, change) -> Path:
    """Copy a zip package with one member's bytes changed."""
    with (
        zipfile.ZipFile(source) as old,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            data = old.read(info)
            new.writestr(info, change(data) if info.filename == member else data)
    return target


def test_a_person_thread_on_an_owned_sheet_is_not_dropped_silently(
    tmp_path: Path,
) -> None:
    threaded = next(path for path in CORPUS if "threaded" in path.name)
    book = mark_owned(threaded, tmp_path / "book.xlsx", 0)
    fragment = make_fragment(tmp_path / "fragment.xlsx", sheets=("File", "Other"))
    before = book.read_bytes()

    with pytest.raises(WouldLoseContent) as raised:
        splice_owned_sheets(book, fragment, book)

    assert str(raised.value) == (
        "Rebuilding book.xlsx would lose: Sheet 'File' has a threaded comment "
        "(xl/threadedComments/threadedComment1.xml) that the rebuild would drop"
    )
    assert book.read_bytes() == before

    report = splice_owned_sheets(book, fragment, book, force=True)
    parts = read_parts(book)
    assert "xl/threadedComments/threadedComment1.xml" not in parts
    assert "xl/persons/person.xml" in parts
    assert any(line.startswith("forced: Sheet 'File'") for line in report.dropped)


def test_a_person_formula_on_a_removed_table_is_not_broken_silently(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    def build(book: xlsxwriter.Workbook) -> None:
        book.add_worksheet("Notes").write_formula("A1", "=SUM(Accounts[ARR])")

    book = make_person_book(tmp_path / "book.xlsx", build)
    splice_owned_sheets(book, fragments[0], book)
    without_table = make_fragment(tmp_path / "no-table.xlsx", table=None)

    with pytest.raises(WouldLoseContent) as raised:
        splice_owned_sheets(book, without_table, book)

    assert "uses a table that the rebuild removes" in str(raised.value)
    report = splice_owned_sheets(book, without_table, book, force=True)
    assert report.replaced == ["Matrix", "TIER 1"]


def test_calc_chain_loses_only_the_replaced_sheets_entries(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    """Excel repairs a workbook whose calcChain lists a cell without a formula,
    so the replaced sheets' entries go; the person's stay as they were."""
    source = next(path for path in CORPUS if "NewStyle" in path.name)
    first = tmp_path / "first.xlsx"
    splice_owned_sheets(source, fragments[0], first)
    assert (
        read_parts(first)["xl/calcChain.xml"] == read_parts(source)["xl/calcChain.xml"]
    )
    # As if Excel had saved it: Matrix (sheetId 2) now has a chain entry.
    chained = rewrite_member(
        first,
        tmp_path / "chained.xlsx",
        "xl/calcChain.xml",
        lambda data: data.replace(b"</calcChain>", b'<c r="E3" i="2"/></calcChain>'),
    )

    splice_owned_sheets(chained, fragments[1], chained)

    assert (
        read_parts(chained)["xl/calcChain.xml"]
        == read_parts(source)["xl/calcChain.xml"]
    )


def test_filter_calc_chain_keeps_sheet_ids_right() -> None:
    chain = (
        b'<calcChain xmlns="x"><c r="A1" i="1"/><c r="A2"/><c r="B1" i="2"/>'
        b'<c r="B2"/><c r="C1" i="3" l="1"/></calcChain>'
    )

    assert filter_calc_chain(chain, {2}) == (
        b'<calcChain xmlns="x"><c r="A1" i="1"/><c r="A2"/>'
        b'<c r="C1" i="3" l="1"/></calcChain>'
    )
    assert filter_calc_chain(chain, {9}) is chain
    assert filter_calc_chain(chain, {1, 2, 3}) is None


def test_vml_shape_ids_do_not_collide_with_a_person_drawing(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    """The person's note drawing claims block 1 (shapes 1025...); the fragment's
    note drawing must move to another block."""
    source = next(path for path in CORPUS if "threaded" in path.name)
    result = tmp_path / "result.xlsx"

    splice_owned_sheets(source, fragments[0], result)

    parts = read_parts(result)
    blocks = {
        name: re.findall(rb'idmap[^>]*data="([^"]*)"', data)
        for name, data in parts.items()
        if name.endswith(".vml")
    }
    assert blocks == {
        "xl/drawings/vmlDrawing1.vml": [b"1"],
        "xl/drawings/vmlDrawing2.vml": [b"2"],
    }
    assert b"_x0000_s2049" in parts["xl/drawings/vmlDrawing2.vml"]


def test_only_the_active_sheet_tab_is_selected(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    """XlsxWriter selects its first sheet; two selected tabs open grouped."""
    result = tmp_path / "result.xlsx"
    splice_owned_sheets(CORPUS[0], fragments[0], result)

    selected = [
        name
        for name, data in read_parts(result).items()
        if name.startswith("xl/worksheets/sheet") and b'tabSelected="1"' in data
    ]
    # Only the person's own sheet, the workbook's active tab.
    assert selected == ["xl/worksheets/sheet1.xml"]


def test_rebuilding_again_does_not_grow_styles_or_strings(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    result = tmp_path / "result.xlsx"
    splice_owned_sheets(CORPUS[-1], fragments[0], result)
    splice_owned_sheets(result, fragments[1], result)
    once = read_parts(result)

    splice_owned_sheets(result, fragments[1], result)

    again = read_parts(result)
    assert again["xl/styles.xml"] == once["xl/styles.xml"]
    assert again["xl/sharedStrings.xml"] == once["xl/sharedStrings.xml"]


def test_a_workbook_without_shared_strings_gets_the_fragment_table(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    source = next(path for path in CORPUS if "61652" in path.name)
    assert "xl/sharedStrings.xml" not in read_parts(source)
    result = tmp_path / "result.xlsx"

    splice_owned_sheets(source, fragments[0], result)

    parts = read_parts(result)
    assert (
        parts["xl/sharedStrings.xml"]
        == read_parts(fragments[0])["xl/sharedStrings.xml"]
    )
    assert b"sharedStrings" in parts["xl/_rels/workbook.xml.rels"]


def test_owned_sheets_and_sheet_names(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    book = make_person_book(
        tmp_path / "book.xlsx", lambda b: b.add_worksheet("Data").write("A1", 1)
    )
    assert owned_sheets(book) == []

    splice_owned_sheets(book, fragments[0], book)

    assert sheet_names(book) == ["Data", "Matrix", "TIER 1"]
    assert owned_sheets(book) == ["Matrix", "TIER 1"]


def test_protected_structure_refuses_new_sheets(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    source = make_person_book(
        tmp_path / "plain.xlsx", lambda b: b.add_worksheet("Data").write("A1", 1)
    )
    book = rewrite_member(
        source,
        tmp_path / "book.xlsx",
        "xl/workbook.xml",
        lambda data: data.replace(
            b"<bookViews>", b'<workbookProtection lockStructure="1"/><bookViews>'
        ),
    )

    with pytest.raises(WorkbookLocked, match="has its structure protected"):
        splice_owned_sheets(book, fragments[0], book)


def test_a_1904_workbook_is_refused(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    book = make_person_book(tmp_path / "book.xlsx", lambda b: b.add_worksheet("D"))
    book = rewrite_member(
        book,
        tmp_path / "mac.xlsx",
        "xl/workbook.xml",
        lambda data: data.replace(b"<workbookPr ", b'<workbookPr date1904="1" '),
    )

    with pytest.raises(FileProblem) as raised:
        splice_owned_sheets(book, fragments[0], book)

    assert str(raised.value) == (
        "mac.xlsx counts dates from 1904 but the rebuilt sheets count from 1900; "
        "dates would move by four years"
    )


HOSTILE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE workbook [<!ENTITY lol "lol">]>'
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    b'2006/main">&lol;</workbook>'
)


@pytest.mark.parametrize("which", ["original", "fragment"])
def test_hostile_xml_is_refused(
    which: str, fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    clean = CORPUS[0] if which == "original" else fragments[0]
    hostile = rewrite_member(
        clean,
        tmp_path / f"hostile-{which}.xlsx",
        "xl/workbook.xml",
        lambda data: HOSTILE,
    )
    pair = (hostile, fragments[0]) if which == "original" else (CORPUS[0], hostile)

    with pytest.raises(UnsafeWorkbook) as raised:
        splice_owned_sheets(*pair, tmp_path / "out.xlsx")

    assert str(raised.value) == (
        f"hostile-{which}.xlsx is unsafe: part xl/workbook.xml declares a DTD "
        "(XML entities are refused)"
    )
    assert not (tmp_path / "out.xlsx").exists()


def test_a_dtd_in_any_part_is_refused(tmp_path: Path) -> None:
    """Even a part xlapm would only copy: OPC forbids DTDs in every part."""
    hostile = rewrite_member(
        CORPUS[0], tmp_path / "book.xlsm", "docProps/core.xml", lambda data: HOSTILE
    )

    with pytest.raises(UnsafeWorkbook, match="part docProps/core.xml declares a DTD"):
        owned_sheets(hostile)


def test_not_a_workbook_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.xlsx"
    text.write_text("Account,ARR\n")
    encrypted = tmp_path / "secret.xlsx"
    encrypted.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)

    with pytest.raises(UnsafeWorkbook) as raised:
        owned_sheets(text)
    assert str(raised.value) == (
        "notes.xlsx is not an Excel workbook: it is not a zip package"
    )
    with pytest.raises(UnsafeWorkbook, match="^secret.xlsx is password-protected"):
        owned_sheets(encrypted)


def test_a_zip_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/blank.bin", b"\0" * (60 * 1024 * 1024))

    with pytest.raises(
        UnsafeWorkbook,
        match="^bomb.xlsx looks like a zip bomb: part xl/media/blank.bin expands",
    ):
        owned_sheets(bomb)

    import xlapm.package.safety as safety

    monkeypatch.setattr(safety, "MAX_TOTAL_UNCOMPRESSED", 1000)
    with pytest.raises(UnsafeWorkbook, match="expands to [0-9,]+ bytes, more than"):
        owned_sheets(CORPUS[0])


# A large rebuild: 3 sheets of 130,000 rows x 15 columns.

LARGE_ROWS = 130_000
LARGE_SHEETS = ("Matrix", "TIER 1", "INVEST")

_ROW = (
    '<row r="%d" spans="1:15"><c r="A%d" t="s"><v>%d</v></c>'
    '<c r="B%d" t="s"><v>%d</v></c><c r="C%d" s="1"><v>%.1f</v></c>'
    '<c r="D%d" s="2"><v>%.2f</v></c>'
    + "".join(f'<c r="{col}%d"><v>%d</v></c>' for col in "EFGHIJKLMNO")
    + "</row>"
)


def make_large_fragment(path: Path, rows: int = LARGE_ROWS) -> Path:
    """Write a fragment of three big sheets quickly: XlsxWriter writes the small
    workbook (styles, names, markers), the rows are generated in its exact XML
    form (XlsxWriter itself needs about 15 s per such sheet)."""
    template = path.with_name("large-template.xlsx")
    book = xlsxwriter.Workbook(template)
    money = book.add_format({"num_format": "#,##0", "bold": True})
    share = book.add_format({"num_format": "0.0%"})
    for name in LARGE_SHEETS:
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, ["Account", "Tier"])
        sheet.write(1, 2, 1, money)
        sheet.write(1, 3, 0.5, share)
        book.define_name(f"'{name}'!_xlapm_owned", '="xlapm"')
    book.close()
    tiers = ["TIER 1", "INVEST", "RAMP", "MAINTAIN"]
    strings = ["Account", "Tier", *tiers] + [f"Account {r}" for r in range(rows)]
    sst = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="'
        'http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="'
        f'{len(strings)}" uniqueCount="{len(strings)}">'
        + "".join(f"<si><t>{text}</t></si>" for text in strings)
        + "</sst>"
    ).encode()
    with (
        zipfile.ZipFile(template) as old,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as new,
    ):
        for info in old.infolist():
            if info.filename.startswith("xl/worksheets/sheet"):
                new.writestr(info.filename, _large_sheet(rows))
            elif info.filename == "xl/sharedStrings.xml":
                new.writestr(info.filename, sst)
            else:
                new.writestr(info, old.read(info))
    return path


def _large_sheet(rows: int) -> bytes:
    """Return the XML of one big sheet, as XlsxWriter would write it."""
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
        '"http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http:'
        '//schemas.openxmlformats.org/officeDocument/2006/relationships"><dimension'
        f' ref="A1:O{rows + 1}"/><sheetViews><sheetView workbookViewId="0"/>'
        '</sheetViews><sheetFormatPr defaultRowHeight="15"/><sheetData>'
        '<row r="1" spans="1:15"><c r="A1" t="s"><v>0</v></c>'
        '<c r="B1" t="s"><v>1</v></c></row>'
    )
    body = "".join(
        _ROW
        % (
            r,
            r,
            6 + r - 2,
            r,
            2 + r % 4,
            r,
            r * 10.5,
            r,
            (r % 100) / 100,
            *[number for c in range(11) for number in (r, r + c)],
        )
        for r in range(2, rows + 2)
    )
    tail = (
        '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" '
        'bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
    )
    return (head + body + tail).encode()


@pytest.fixture(scope="module")
def large_fragment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("large")
    return make_large_fragment(folder / "large.xlsx")


def test_a_large_rebuild_takes_seconds(large_fragment: Path, tmp_path: Path) -> None:
    """3 sheets x 130,000 rows x 15 columns, spliced twice (append, replace)."""
    book = tmp_path / CORPUS[-1].name
    shutil.copy(CORPUS[-1], book)

    started = time.perf_counter()
    splice_owned_sheets(book, large_fragment, book)
    splice_owned_sheets(book, large_fragment, book)
    seconds = time.perf_counter() - started

    assert seconds < 120
    assert changed_untouched_parts(CORPUS[-1], book) == []
    parts = read_parts(book)
    strings = parse(parts["xl/sharedStrings.xml"])
    styles = parse(parts["xl/styles.xml"]).find(f"{MAIN}cellXfs")
    last = LARGE_ROWS + 1
    for name in LARGE_SHEETS:
        data = parts[sheet_part(book, name)]
        cell = re.search(rb'<c r="A%d" t="s"><v>(\d+)</v>' % last, data)
        assert strings[int(cell.group(1))].find(f"{MAIN}t").text == (
            f"Account {LARGE_ROWS - 1}"
        )
        money = re.search(rb'<c r="C%d" s="(\d+)"' % last, data)
        assert styles[int(money.group(1))].get("applyNumberFormat") == "1"


def test_a_killed_splice_leaves_the_workbook_as_it_was(
    large_fragment: Path, tmp_path: Path
) -> None:
    """kill -9 in the middle of writing: the workbook is untouched; the temporary
    file left behind is removed by the next write to the same workbook."""
    book = tmp_path / "book.xlsx"
    shutil.copy(CORPUS[-1], book)
    before = book.read_bytes()
    code = (
        "from pathlib import Path\n"
        "from xlapm.package import splice_owned_sheets\n"
        f"splice_owned_sheets(Path({str(book)!r}), Path({str(large_fragment)!r}), "
        f"Path({str(book)!r}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        temp = _wait_for_temp(tmp_path, writer)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()

    assert book.read_bytes() == before
    assert temp.exists()

    splice_owned_sheets(book, make_fragment(tmp_path / "small.xlsx"), book)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx", "small.xlsx"]
    assert owned_sheets(book) == ["Matrix", "TIER 1"]


def _wait_for_temp(folder: Path, writer: subprocess.Popen) -> Path:
    """Wait until the writer's temporary file holds a few MB."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert writer.poll() is None, "the splice finished before it was killed"
        for path in folder.glob(".book.xlsx.*.tmp"):
            if path.stat().st_size > 2 * 1024 * 1024:
                return path
        time.sleep(0.05)
    raise AssertionError("the splice never started writing")


def prefix_main_namespace(source: Path, target: Path) -> Path:
    """Copy an XlsxWriter workbook, writing its SpreadsheetML with an ``x:``
    prefix, as the Open XML SDK and some .NET tools do."""
    main = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    prefixed = main.replace(b"xmlns=", b"xmlns:x=")
    parts = ("xl/workbook.xml", "xl/styles.xml", "xl/sharedStrings.xml")
    with (
        zipfile.ZipFile(source) as old,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            data = old.read(info)
            if info.filename in parts or info.filename.startswith("xl/worksheets/"):
                data = data.replace(main, prefixed)
                data = re.sub(rb"<(/?)([A-Za-z]\w*)(?=[\s/>])", rb"<\1x:\2", data)
            new.writestr(info, data)
    return target


def test_a_workbook_with_prefixed_spreadsheetml(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    """Appended entries declare their own namespace where the person's parts
    use a prefix for it; rebuilding again still reuses them."""

    def build(book: xlsxwriter.Workbook) -> None:
        sheet = book.add_worksheet("Data")
        sheet.write("A1", "person text")
        sheet.write("A2", 5, book.add_format({"bold": True}))

    plain = make_person_book(tmp_path / "plain.xlsx", build)
    book = prefix_main_namespace(plain, tmp_path / "book.xlsx")

    splice_owned_sheets(book, fragments[0], book)
    splice_owned_sheets(book, fragments[1], book)
    once = read_parts(book)["xl/sharedStrings.xml"]
    splice_owned_sheets(book, fragments[1], book)

    assert read_parts(book)["xl/sharedStrings.xml"] == once
    assert sheet_content(book, "Data") == {
        "A1": ("person text", "General", False, None),
        "A2": (5, "General", True, None),
    }
    check_fragment_content(fragments[1], book)


def test_images_links_buttons_and_dynamic_arrays_carry_over(
    tmp_path: Path,
) -> None:
    png = tmp_path / "dot.png"
    png.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e1cd1f1a"
            "0000000049454e44ae426082"
        )
    )
    fragment = tmp_path / "fragment.xlsx"
    book = xlsxwriter.Workbook(fragment)
    sheet = book.add_worksheet("Matrix")
    sheet.write_url("A1", "https://example.com/playbooks", string="Playbooks")
    sheet.insert_image("C3", png)
    sheet.write_column("F1", [3, 1, 2])
    sheet.write_dynamic_array_formula("E1", "=SORT(F1:F3)")
    sheet.insert_button("H2", {"macro": "rebuild", "caption": "Rebuild"})
    book.define_name("'Matrix'!_xlapm_owned", '="xlapm"')
    book.close()
    result = tmp_path / "result.xlsm"

    splice_owned_sheets(CORPUS[0], fragment, result)
    splice_owned_sheets(result, fragment, result)

    parts = read_parts(result)
    assert changed_untouched_parts(CORPUS[0], result) == []
    types = parse(parts["[Content_Types].xml"])
    overrides = {e.get("PartName"): e.get("ContentType") for e in types}
    assert overrides["/xl/media/image1.png"] == "image/png"
    assert overrides["/xl/metadata.xml"].endswith("sheetMetadata+xml")
    matrix = parts[sheet_part(result, "Matrix")]
    assert b'<c r="E1" cm="1">' in matrix
    rels = parts[
        sheet_part(result, "Matrix").replace("sheets/", "sheets/_rels/") + ".rels"
    ]
    assert b'Target="https://example.com/playbooks" TargetMode="External"' in rels
    vml = next(
        data
        for name, data in parts.items()
        if name.endswith(".vml") and b"rebuild" in data
    )
    assert re.findall(rb'idmap[^>]*data="([^"]*)"', vml) == [b"2"]


def test_a_chart_sheet_in_the_fragment_is_refused(tmp_path: Path) -> None:
    fragment = tmp_path / "fragment.xlsx"
    book = xlsxwriter.Workbook(fragment)
    book.add_worksheet("Matrix").write_column("A1", [1, 2])
    chart = book.add_chart({"type": "column"})
    chart.add_series({"values": "='Matrix'!$A$1:$A$2"})
    book.add_chartsheet("Chart").set_chart(chart)
    book.close()

    with pytest.raises(FileProblem, match="include a chart sheet"):
        splice_owned_sheets(CORPUS[0], fragment, tmp_path / "out.xlsm")


def test_a_person_names_on_and_into_owned_sheets_are_kept(
    fragments: tuple[Path, Path], tmp_path: Path
) -> None:
    """Excel keeps references by sheet name, so a person's name pointing into
    an owned sheet, or scoped to one, survives the rebuild untouched."""
    book = make_person_book(
        tmp_path / "plain.xlsx", lambda b: b.add_worksheet("Data").write("A1", 1)
    )
    splice_owned_sheets(book, fragments[0], book)
    mine = (
        b"<definedName name=\"MyTotal\">'Matrix'!$B$2:$B$5</definedName>"
        b'<definedName name="MyPick" localSheetId="1">\'Matrix\'!$A$2'
        b"</definedName>"
    )
    named = rewrite_member(
        book,
        tmp_path / "book.xlsx",
        "xl/workbook.xml",
        lambda data: data.replace(b"</definedNames>", mine + b"</definedNames>"),
    )

    report = splice_owned_sheets(named, fragments[1], named)

    assert report.kept_names == ["'Matrix'!MyPick"]
    text = workbook_xml(named)
    assert b"<definedName name=\"MyTotal\">'Matrix'!$B$2:$B$5</definedName>" in text
    assert (
        b'<definedName name="MyPick" localSheetId="1">\'Matrix\'!$A$2'
        b"</definedName>" in text
    )


# Removing the owned sheets a rebuild no longer writes.

CALC_CHAIN_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"
)


def make_rebuilt_book(path: Path, *, person_formula: str | None = None) -> Path:
    """Write a workbook as an earlier rebuild left it: the person's Data and
    Notes around xlapm's "Ana Lee" (a CSM sheet with a table, a note and a
    print area) and Matrix; Notes is the active sheet and has names of its own."""
    book = xlsxwriter.Workbook(path)
    for name in ("Data", "Ana Lee", "Notes", "Matrix"):
        book.add_worksheet(name).write("A1", f"{name} text")
    data, ana, notes, matrix = book.worksheets()
    data.write_formula("B1", person_formula or "=1+1")
    ana.write_row(2, 0, ["Account", "ARR"])
    ana.write_row(3, 0, ["Acme", 100])
    ana.add_table("A3:B4", {"name": "CSM_Ana_Lee"})
    ana.write_comment("A1", "xlapm's note")
    ana.print_area("A1:B4")
    notes.write_comment("A1", "the person's note")
    notes.print_area("A1:B2")
    notes.activate()
    book.define_name("'Notes'!MyPick", "='Notes'!$A$1")
    book.define_name("MyTotal", "=Data!$A$1")
    for name in ("Ana Lee", "Matrix"):
        book.define_name(f"'{name}'!_xlapm_owned", '="xlapm"')
    book.close()
    return add_calc_chain(path, [(2, 1), (3, 2), (4, 1)])


def add_calc_chain(path: Path, entries: list[tuple[int, int]]) -> Path:
    """Give a package a calcChain listing B1 of the sheets with these ids,
    as Excel's save would (``(sheet id, count)`` pairs)."""
    cells = "".join(
        f'<c r="B{row}" i="{sheet}"/>'
        for sheet, count in entries
        for row in range(1, count + 1)
    )
    chain = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain '
        f'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{cells}'
        "</calcChain>"
    ).encode()
    rel = (
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/>'
    )
    override = (
        f'<Override PartName="/xl/calcChain.xml" ContentType="{CALC_CHAIN_TYPE}"/>'
    ).encode()
    staged = path.with_name(f"staged-{path.name}")
    with (
        zipfile.ZipFile(path) as old,
        zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", rel + b"</Relationships>")
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", override + b"</Types>")
            new.writestr(info, data)
        new.writestr("xl/calcChain.xml", chain)
    staged.replace(path)
    return path


def names_of(path: Path) -> dict[tuple[str, str | None], str]:
    """Return the defined names of a workbook: (name, localSheetId) -> formula."""
    names = parse(workbook_xml(path)).find(f"{MAIN}definedNames")
    return {(n.get("name"), n.get("localSheetId")): n.text for n in names}


def matrix_only_fragment(path: Path) -> Path:
    """A fragment with only the Matrix sheet, as the next rebuild writes it."""
    book = xlsxwriter.Workbook(path)
    book.add_worksheet("Matrix").write("A1", "Matrix v2")
    book.define_name("'Matrix'!_xlapm_owned", '="xlapm"')
    book.close()
    return path


ANA_PARTS = {
    "xl/worksheets/sheet2.xml",
    "xl/worksheets/_rels/sheet2.xml.rels",
    "xl/tables/table1.xml",
    "xl/comments1.xml",
    "xl/drawings/vmlDrawing1.vml",
}


def test_a_stale_owned_sheet_goes_with_its_parts_names_and_chain_entries(
    tmp_path: Path,
) -> None:
    """The sheets after it move up: names scoped to them, the active tab and
    the calcChain follow; every part of the person's stays byte for byte."""
    book = make_rebuilt_book(tmp_path / "book.xlsx")
    result = tmp_path / "result.xlsx"

    report = splice_owned_sheets(
        book, matrix_only_fragment(tmp_path / "f.xlsx"), result, remove=["ana lee"]
    )

    assert (report.replaced, report.added, report.removed) == (
        ["Matrix"],
        [],
        ["Ana Lee"],
    )
    assert sheet_names(result) == ["Data", "Notes", "Matrix"]
    assert owned_sheets(result) == ["Matrix"]
    parts = read_parts(result)
    assert ANA_PARTS.isdisjoint(parts)
    assert "/xl/tables/table1.xml" not in parts["[Content_Types].xml"].decode()
    assert b"sheet2.xml" not in parts["xl/_rels/workbook.xml.rels"]
    assert names_of(result) == {
        ("MyTotal", None): "Data!$A$1",
        ("MyPick", "1"): "'Notes'!$A$1",
        ("_xlnm.Print_Area", "1"): "Notes!$A$1:$B$2",
        ("_xlapm_owned", "2"): '"xlapm"',
    }
    view = parse(parts["xl/workbook.xml"]).find(f"{MAIN}bookViews/{MAIN}workbookView")
    assert view.get("activeTab") == "1"
    chain = parse(parts["xl/calcChain.xml"])
    assert [(c.get("r"), c.get("i")) for c in chain] == [("B1", "3"), ("B2", "3")]
    # Matrix is rebuilt, Ana Lee's parts are gone: all else is as it was.
    rebuilt = {"xl/worksheets/sheet4.xml", "xl/calcchain.xml"}
    changed = changed_untouched_parts(book, result, EDITED_PARTS | rebuilt)
    assert sorted(changed) == sorted(f"{name}: missing" for name in ANA_PARTS)
    assert sheet_content(result, "Notes")["A1"][0] == "Notes text"
    assert sheet_content(result, "Matrix")["A1"][0] == "Matrix v2"


def test_the_active_sheet_removed_hands_over_to_the_next_visible_one(
    tmp_path: Path,
) -> None:
    book = make_rebuilt_book(tmp_path / "book.xlsx")
    ana_active = rewrite_member(
        book,
        tmp_path / "active.xlsx",
        "xl/workbook.xml",
        lambda data: data.replace(b'activeTab="2"', b'activeTab="1"'),
    )

    splice_owned_sheets(
        ana_active,
        matrix_only_fragment(tmp_path / "f.xlsx"),
        ana_active,
        remove=["Ana Lee"],
    )

    view = parse(workbook_xml(ana_active)).find(f"{MAIN}bookViews/{MAIN}workbookView")
    assert sheet_names(ana_active)[int(view.get("activeTab"))] == "Notes"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "Notes",
            "Sheet 'Notes' in book.xlsx was made by a person; xlapm removes only "
            "sheets it made",
        ),
        ("Bo Chen", "book.xlsx has no sheet 'Bo Chen' to remove"),
    ],
)
def test_only_owned_sheets_can_be_removed(
    name: str, message: str, tmp_path: Path
) -> None:
    book = make_rebuilt_book(tmp_path / "book.xlsx")
    before = book.read_bytes()

    with pytest.raises(OwnershipConflict) as raised:
        splice_owned_sheets(
            book, matrix_only_fragment(tmp_path / "f.xlsx"), book, remove=[name]
        )

    assert str(raised.value) == message
    assert book.read_bytes() == before


@pytest.mark.parametrize(
    ("formula", "loss"),
    [
        ("='Ana Lee'!B4*2", "Sheet 'Data' refers to sheet 'Ana Lee'"),
        ("=SUM(Data:'Ana Lee'!A1)", "Sheet 'Data' refers to sheet 'Ana Lee'"),
        ("=SUM(CSM_Ana_Lee[ARR])", "part xl/worksheets/sheet1.xml uses a table"),
    ],
)
def test_a_person_formula_on_a_removed_sheet_is_not_broken_silently(
    formula: str, loss: str, tmp_path: Path
) -> None:
    book = make_rebuilt_book(tmp_path / "book.xlsx", person_formula=formula)
    fragment = matrix_only_fragment(tmp_path / "f.xlsx")
    before = book.read_bytes()

    with pytest.raises(WouldLoseContent) as raised:
        splice_owned_sheets(book, fragment, book, remove=["Ana Lee"])

    assert str(raised.value).startswith(f"Rebuilding book.xlsx would lose: {loss}")
    assert book.read_bytes() == before
    report = splice_owned_sheets(book, fragment, book, force=True, remove=["Ana Lee"])
    assert report.removed == ["Ana Lee"]
    assert sheet_content(book, "Data")["B1"][0] == formula


def test_a_person_name_on_or_into_a_removed_sheet_is_not_lost_silently(
    tmp_path: Path,
) -> None:
    """A name scoped to the sheet would vanish; one pointing into it would
    break. A string constant that merely mentions the sheet is no reference."""
    book = make_rebuilt_book(tmp_path / "book.xlsx")
    mine = (
        b'<definedName name="AnaPick" localSheetId="1">\'Ana Lee\'!$A$1'
        b"</definedName><definedName name=\"AnaTotal\">'Ana Lee'!$B$4"
        b'</definedName><definedName name="Label">"\'Ana Lee\'!A1"</definedName>'
    )
    named = rewrite_member(
        book,
        tmp_path / "named.xlsx",
        "xl/workbook.xml",
        lambda data: data.replace(b"</definedNames>", mine + b"</definedNames>"),
    )
    fragment = matrix_only_fragment(tmp_path / "f.xlsx")

    with pytest.raises(WouldLoseContent) as raised:
        splice_owned_sheets(named, fragment, named, remove=["Ana Lee"])

    assert str(raised.value) == (
        "Rebuilding named.xlsx would lose: Name 'Ana Lee'!AnaPick belongs to "
        "sheet 'Ana Lee', which the rebuild removes (and 1 more)"
    )
    report = splice_owned_sheets(named, fragment, named, force=True, remove=["Ana Lee"])
    assert (
        "forced: Name 'AnaTotal' refers to sheet 'Ana Lee', which the rebuild "
        "removes" in report.dropped
    )
    names = names_of(named)
    assert ("AnaPick", "1") not in names
    assert names[("AnaTotal", None)] == "'Ana Lee'!$B$4"
    assert names[("Label", None)] == "\"'Ana Lee'!A1\""


def test_a_protected_structure_stops_a_removal(tmp_path: Path) -> None:
    book = make_rebuilt_book(tmp_path / "book.xlsx")
    locked = rewrite_member(
        book,
        tmp_path / "locked.xlsx",
        "xl/workbook.xml",
        lambda data: data.replace(
            b"<bookViews>", b'<workbookProtection lockStructure="1"/><bookViews>'
        ),
    )

    with pytest.raises(WorkbookLocked) as raised:
        splice_owned_sheets(
            locked,
            matrix_only_fragment(tmp_path / "f.xlsx"),
            locked,
            remove=["Ana Lee"],
        )

    assert str(raised.value) == (
        "locked.xlsx has its structure protected, so xlapm cannot remove the "
        "sheets Ana Lee"
    )


@needs_libreoffice
@pytest.mark.libreoffice
def test_libreoffice_opens_a_workbook_after_a_removal(tmp_path: Path) -> None:
    book = make_rebuilt_book(tmp_path / "book.xlsx")
    splice_owned_sheets(
        book, matrix_only_fragment(tmp_path / "f.xlsx"), book, remove=["Ana Lee"]
    )

    converted = convert(book, tmp_path / "converted")

    assert sheet_names(converted) == ["Data", "Notes", "Matrix"]
    assert owned_sheets(converted) == ["Matrix"]
    assert sheet_content(converted, "Data")["B1"][0] == "=1+1"


def test_the_names_registry_keeps_every_name_across_its_chunks(
    tmp_path: Path,
) -> None:
    """The hidden list of xlapm's workbook names is cut into 255-character
    string constants; reading it back must not glue two names together, or the
    next rebuild would take xlapm's own names for a person's."""
    fragment = tmp_path / "fragment.xlsx"
    book = xlsxwriter.Workbook(fragment)
    book.add_worksheet("Matrix").write("A1", 1)
    wanted = {f"apm_setting_number_{index:02d}" for index in range(30)}
    for name in sorted(wanted):
        book.define_name(name, "=Matrix!$A$1")
    book.define_name("'Matrix'!_xlapm_owned", '="xlapm"')
    book.close()
    person = make_person_book(
        tmp_path / "book.xlsx", lambda b: b.add_worksheet("Data").write("A1", 1)
    )
    splice_owned_sheets(person, fragment, person)

    again = make_fragment(tmp_path / "again.xlsx", sheets=("Matrix", "TIER 1"))
    splice_owned_sheets(person, again, person)

    registry = names_of(person)[("_xlapm_names", None)]
    listed = " ".join(re.findall(r'"([^"]*)"', registry)).split()
    assert sorted(listed) == sorted(wanted | {"apm_threshold"})


def test_a_control_linked_to_a_removed_sheet_is_not_broken_silently(
    tmp_path: Path,
) -> None:
    """A note or form control on the person's Notes sheet linked to a cell of
    Ana's sheet (``x:FmlaLink`` in its VML drawing)."""
    book = make_rebuilt_book(tmp_path / "book.xlsx")
    linked = rewrite_member(
        book,
        tmp_path / "linked.xlsx",
        "xl/drawings/vmlDrawing2.vml",
        lambda data: data.replace(
            b"</x:ClientData>",
            b"<x:FmlaLink>'Ana Lee'!$A$1</x:FmlaLink></x:ClientData>",
            1,
        ),
    )

    with pytest.raises(WouldLoseContent) as raised:
        splice_owned_sheets(
            linked,
            matrix_only_fragment(tmp_path / "f.xlsx"),
            linked,
            remove=["Ana Lee"],
        )

    assert str(raised.value) == (
        "Rebuilding linked.xlsx would lose: Part xl/drawings/vmlDrawing2.vml refers "
        "to sheet 'Ana Lee', which the rebuild removes"
    )
