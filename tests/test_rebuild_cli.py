"""End to end: ``xlapm rebuild`` on workbooks people made, compared part by part.

Each workbook of the corpus holds one thing a person makes and a plain openpyxl
save loses (a text box, a form button, VBA, a ribbon, threaded comments...), plus
an Accounts sheet. After ``xlapm rebuild`` every part outside xlapm's own sheets
is byte for byte as it was, the owned sheets classify the accounts, and
LibreOffice opens the result. The five shared workbooks are copies of
``../shared/data/xlsx/`` (see its README).
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from click.testing import CliRunner, Result
from libreoffice import convert_all, needs_libreoffice
from package_compare import (
    EDITED_PARTS,
    MAIN,
    REL_ID,
    changed_untouched_parts,
    lost_from_edited_parts,
    parse,
    read_parts,
)
from xlsxwriter.worksheet import Worksheet

from xlapm.cli import main
from xlapm.package import make_sheet_names, owned_sheets, sheet_names
from xlapm.package._opc import PackageWriter
from xlapm.package.safety import open_package
from xlapm.package.splice import splice_owned_sheets

ROOT = Path(__file__).parent.parent
SHARED = sorted((Path(__file__).parent / "data" / "xlsx").glob("*.xls*"))

HEADER = ["Account ID", "Account Name", "CSM", "ARR", "Adoption"]
ACCOUNTS = [
    ("A-001", "Acme", "Ana Lee", 1_250_000, 0.82),
    ("A-002", "Globex", "Bo Chen", 98_000, 0.12),
    ("A-003", "Initech", "Ana Lee", 310_500, 0.35),
    ("A-004", "Umbrella", "Bo Chen", 45_000, 0.91),
    ("A-005", "Hooli", "Ana Lee", 880_000, 0.77),
    ("A-006", "Stark", "Bo Chen", 520_000, 0.20),
    ("A-007", "Wayne", "Ana Lee", 60_000, 0.30),
    ("A-008", "Wonka", "Bo Chen", 30_000, 0.95),
]
QUADRANTS = ["TIER 1", "INVEST", "RAMP", "MAINTAIN"]
# By the default thresholds, the medians: ARR 204,250 and adoption 56%.
BY_MEDIAN = {
    "TIER 1": {"Acme", "Hooli"},
    "INVEST": {"Initech", "Stark"},
    "RAMP": {"Globex", "Wayne"},
    "MAINTAIN": {"Umbrella", "Wonka"},
}
APPENDED = [
    "Matrix",
    "Summary",
    *QUADRANTS,
    "Playbooks",
    "Settings",
    "Team",
    "Ana Lee",
    "Bo Chen",
    "Data Issues",
]
OWNED = [name for name in APPENDED if name != "Settings"]


def run(*args: str | Path) -> Result:
    """Run ``xlapm`` in-process."""
    return CliRunner().invoke(main, [str(arg) for arg in args])


def folder_listing(folder: Path) -> list[str]:
    """Return the names of the files in ``folder``, sorted."""
    return sorted(path.name for path in folder.iterdir())


def read_book(path: Path) -> openpyxl.Workbook:
    """Open a result with openpyxl for reading values back."""
    with warnings.catch_warnings():
        # openpyxl warns about parts it does not read (x14 rules, VML shapes);
        # only values are read here.
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path)


def quadrant_members(path: Path) -> dict[str, set[str]]:
    """Return the account names listed in each quadrant sheet's table."""
    book = read_book(path)
    members = {}
    for quadrant in QUADRANTS:
        sheet = book[quadrant]
        (table,) = sheet.tables.values()
        rows = sheet[table.ref]
        column = [cell.value for cell in rows[0]].index("Account")
        members[quadrant] = {
            row[column].value for row in rows[1:] if row[column].value is not None
        }
    return members


def summary_counts(path: Path) -> dict[str, int]:
    """Return the Accounts column of Summary's table by quadrant."""
    sheet = read_book(path)["Summary"]
    rows = sheet[sheet.tables["ByQuadrant"].ref]
    return {row[0].value: row[1].value for row in rows[1:]}


def check_owned_content(path: Path, expected: dict[str, set[str]]) -> None:
    """The quadrant sheets list the expected accounts, and the Summary's counts
    add up to every account."""
    assert quadrant_members(path) == expected
    counts = summary_counts(path)
    assert counts == {**{q: len(expected[q]) for q in QUADRANTS}, "UNSCORED": 0}
    assert sum(counts.values()) == len(ACCOUNTS)


def sheet_part(path: Path, name: str) -> str:
    """Return the part name of sheet ``name``, through the workbook's rels."""
    return _sheet_parts(read_parts(path))[name]


def _sheet_parts(parts: dict[str, bytes]) -> dict[str, str]:
    rels = parse(parts["xl/_rels/workbook.xml.rels"])
    targets = {rel.get("Id"): rel.get("Target") for rel in rels}
    return {
        sheet.get("name"): _resolve("xl/workbook.xml", targets[sheet.get(REL_ID)])
        for sheet in parse(parts["xl/workbook.xml"]).iter(f"{MAIN}sheet")
    }


def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def owned_parts(path: Path) -> set[str]:
    """Return (lower-case) every part reached from the owned sheets."""
    parts = read_parts(path)
    by_sheet = _sheet_parts(parts)
    pending = [by_sheet[name] for name in owned_sheets(path)]
    found: set[str] = set()
    while pending:
        part = pending.pop()
        if part.lower() in found or part not in parts:
            continue
        found.add(part.lower())
        folder, base = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", f"{base}.rels")
        if rels in parts:
            found.add(rels.lower())
            pending += [
                _resolve(part, rel.get("Target"))
                for rel in parse(parts[rels])
                if rel.get("TargetMode") != "External"
            ]
    return found


def write_accounts(book: xlsxwriter.Workbook, *, table: bool = False) -> Worksheet:
    """Add the person's Accounts sheet, as a plain range or an Excel Table."""
    sheet = book.add_worksheet("Accounts")
    sheet.write_row(0, 0, HEADER)
    for row, account in enumerate(ACCOUNTS, start=1):
        sheet.write_row(row, 0, account)
    if table:
        sheet.add_table(
            0,
            0,
            len(ACCOUNTS),
            len(HEADER) - 1,
            {"name": "Accounts", "columns": [{"header": h} for h in HEADER]},
        )
    return sheet


def tiny_png() -> bytes:
    """Return a 2 x 2 red PNG, made here so that no image file is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def vba_project(folder: Path) -> Path:
    """Return the vbaProject.bin of the shared openpyxl_vba-test.xlsm."""
    source = next(path for path in SHARED if path.suffix == ".xlsm")
    target = folder / "vbaProject.bin"
    if not target.exists():
        with zipfile.ZipFile(source) as archive:
            target.write_bytes(archive.read("xl/vbaProject.bin"))
    return target


# The corpus. Each builder writes one person's workbook into a folder.


def _person_book(
    folder: Path, name: str, build: Callable[[xlsxwriter.Workbook], None]
) -> Path:
    path = folder / name
    book = xlsxwriter.Workbook(path)
    build(book)
    book.close()
    return path


def text_box(folder: Path) -> Path:
    def build(book: xlsxwriter.Workbook) -> None:
        notes = book.add_worksheet("Notes")
        notes.insert_textbox("B2", "Call Acme before the renewal", {"width": 300})
        write_accounts(book)

    return _person_book(folder, "text_box.xlsx", build)


def form_button(folder: Path) -> Path:
    def build(book: xlsxwriter.Workbook) -> None:
        book.add_vba_project(str(vba_project(folder)))
        notes = book.add_worksheet("Notes")
        notes.insert_button("B2", {"macro": "say_hello", "caption": "Hello"})
        write_accounts(book)

    return _person_book(folder, "form_button.xlsm", build)


def image(folder: Path) -> Path:
    def build(book: xlsxwriter.Workbook) -> None:
        sheet = write_accounts(book)
        sheet.insert_image("H2", "logo.png", {"image_data": io.BytesIO(tiny_png())})

    return _person_book(folder, "image.xlsx", build)


def chart(folder: Path) -> Path:
    def build(book: xlsxwriter.Workbook) -> None:
        write_accounts(book)
        mine = book.add_chart({"type": "column"})
        mine.add_series(
            {
                "name": "ARR",
                "categories": "=Accounts!$B$2:$B$9",
                "values": "=Accounts!$D$2:$D$9",
            }
        )
        book.add_worksheet("My chart").insert_chart("B2", mine)

    return _person_book(folder, "chart.xlsx", build)


def comments(folder: Path) -> Path:
    def build(book: xlsxwriter.Workbook) -> None:
        sheet = write_accounts(book)
        sheet.write_comment("B2", "Renewal in May", {"author": "Ana Lee"})
        sheet.write_comment("D3", "Discount agreed", {"author": "Bo Chen"})

    return _person_book(folder, "comments.xlsx", build)


def data_validation(folder: Path) -> Path:
    def build(book: xlsxwriter.Workbook) -> None:
        sheet = write_accounts(book)
        sheet.data_validation(
            "E2:E9",
            {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1},
        )
        sheet.data_validation(
            "C2:C9", {"validate": "list", "source": ["Ana Lee", "Bo Chen"]}
        )

    return _person_book(folder, "data_validation.xlsx", build)


def conditional_format(folder: Path) -> Path:
    def build(book: xlsxwriter.Workbook) -> None:
        sheet = write_accounts(book)
        sheet.conditional_format("D2:D9", {"type": "3_color_scale"})
        red = book.add_format({"bg_color": "#FFC7CE"})
        sheet.conditional_format(
            "E2:E9",
            {"type": "cell", "criteria": "<", "value": 0.3, "format": red},
        )

    return _person_book(folder, "conditional_format.xlsx", build)


def defined_names(folder: Path) -> Path:
    """The accounts as an Excel Table, with names of the person's on it."""

    def build(book: xlsxwriter.Workbook) -> None:
        write_accounts(book, table=True)
        book.define_name("TotalARR", "=SUM(Accounts[ARR])")
        book.define_name("'Accounts'!FirstCSM", "=Accounts!$C$2")

    return _person_book(folder, "defined_names.xlsx", build)


def vba(folder: Path) -> Path:
    def build(book: xlsxwriter.Workbook) -> None:
        book.add_vba_project(str(vba_project(folder)))
        book.set_vba_name("ThisWorkbook")
        write_accounts(book)

    return _person_book(folder, "vba.xlsm", build)


CUSTOM_UI = (
    b'<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">'
    b'<ribbon><tabs><tab id="accounts" label="Accounts"><group id="tools" '
    b'label="Tools"><button id="hello" label="Hello" onAction="say_hello" '
    b'size="large" imageMso="HappyFace"/></group></tab></tabs></ribbon></customUI>'
)


def custom_ui(folder: Path) -> Path:
    """A copy of the VBA workbook given a ribbon tab, by editing its zip."""
    source = vba(folder)
    target = folder / "custom_ui.xlsm"
    rel = (
        b'<Relationship Id="rIdUI" Type="http://schemas.microsoft.com/office/2006/'
        b'relationships/ui/extensibility" Target="customUI/customUI.xml"/>'
    )
    with (
        zipfile.ZipFile(source) as old,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "_rels/.rels":
                data = data.replace(b"</Relationships>", rel + b"</Relationships>")
            new.writestr(info, data)
        new.writestr("customUI/customUI.xml", CUSTOM_UI)
    return target


def properties(folder: Path) -> Path:
    def build(book: xlsxwriter.Workbook) -> None:
        book.set_properties(
            {
                "title": "EMEA portfolio",
                "author": "Ana Lee",
                "company": "Acme Success",
                "keywords": "renewals, QBR",
            }
        )
        book.set_custom_property("Region", "EMEA")
        book.set_custom_property("Renewals", 12)
        write_accounts(book)

    return _person_book(folder, "properties.xlsx", build)


def with_spliced_accounts(source: Path) -> Callable[[Path], Path]:
    """Return a builder giving a copy of a shared workbook an Accounts sheet.

    An openpyxl save would damage these workbooks, so the sheet goes in through
    the splice (which copies every existing part raw), and its ownership marker
    is then taken out of workbook.xml, every other member again copied raw: the
    sheet is the person's from then on.
    """

    def build(folder: Path) -> Path:
        fragment = _person_book(folder, "accounts.xlsx", write_accounts)
        target = folder / source.name
        splice_owned_sheets(source, fragment, target)
        fragment.unlink()
        return without_markers(target)

    return build


def without_markers(path: Path) -> Path:
    """Remove the ownership markers from workbook.xml, copying the rest raw."""
    marker = re.compile(rb'<definedName name="_xlapm_owned"[^>]*>[^<]*</definedName>')

    def unmark(data: bytes) -> bytes:
        return marker.sub(b"", data).replace(b"<definedNames></definedNames>", b"")

    return edit_member(path, "xl/workbook.xml", unmark)


def edit_member(path: Path, member: str, change: Callable[[bytes], bytes]) -> Path:
    """Give one member of a package new bytes, copying every other member raw
    (as stored), so only that member differs."""
    staged = path.with_name(f"staged-{path.name}")
    with open_package(path) as package:
        writer = PackageWriter(staged)
        try:
            for info in package.infos:
                if info.filename == member:
                    writer.write(member, change(package.read(member)), like=info)
                else:
                    writer.copy_raw(package, info.filename)
        finally:
            writer.close()
    staged.replace(path)
    return path


CORPUS: dict[str, Callable[[Path], Path]] = {
    "text_box": text_box,
    "form_button": form_button,
    "image": image,
    "chart": chart,
    "comments": comments,
    "data_validation": data_validation,
    "conditional_format": conditional_format,
    "defined_names": defined_names,
    "vba": vba,
    "custom_ui": custom_ui,
    "properties": properties,
    **{path.stem: with_spliced_accounts(path) for path in SHARED},
}


@dataclass
class Rebuilt:
    """One corpus workbook, rebuilt once and then again."""

    prepared: Path
    first: Path
    second: Path
    outputs: tuple[Result, Result]


_REBUILT: dict[str, Rebuilt] = {}


def rebuilt(case: str, factory: pytest.TempPathFactory) -> Rebuilt:
    """Build one corpus workbook and rebuild it twice (once per test session)."""
    if case not in _REBUILT:
        folder = factory.mktemp(case)
        prepared = CORPUS[case](folder)
        first = folder / f"first-{prepared.name}"
        second = folder / f"second-{prepared.name}"
        shutil.copy(prepared, first)
        one = run("rebuild", first)
        shutil.copy(first, second)
        two = run("rebuild", second)
        _REBUILT[case] = Rebuilt(prepared, first, second, (one, two))
    return _REBUILT[case]


@pytest.fixture(scope="module", params=sorted(CORPUS))
def corpus_book(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Rebuilt:
    """Each corpus workbook, rebuilt twice."""
    return rebuilt(request.param, tmp_path_factory)


def test_the_shared_workbooks_get_accounts_without_losing_a_part(
    tmp_path: Path,
) -> None:
    """The route used to give the shared workbooks an Accounts sheet keeps their
    own parts byte for byte, so what the rebuild keeps is theirs."""
    for source in SHARED:
        folder = tmp_path / source.stem
        folder.mkdir()
        prepared = with_spliced_accounts(source)(folder)

        assert changed_untouched_parts(source, prepared) == []
        assert lost_from_edited_parts(source, prepared) == []
        assert sheet_names(prepared) == [*sheet_names(source), "Accounts"]
        assert owned_sheets(prepared) == []


def test_the_first_rebuild_adds_xlapm_sheets_and_keeps_every_person_part(
    corpus_book: Rebuilt,
) -> None:
    one, _ = corpus_book.outputs
    prepared, first = corpus_book.prepared, corpus_book.first

    assert one.exit_code == 0, one.output
    assert one.stdout.endswith(f"Rebuilt 12 sheets in {first}\n")
    assert sheet_names(first) == [*sheet_names(prepared), *APPENDED]
    assert owned_sheets(first) == OWNED
    assert changed_untouched_parts(prepared, first) == []
    assert lost_from_edited_parts(prepared, first) == []
    check_owned_content(first, BY_MEDIAN)


def test_a_second_rebuild_replaces_only_owned_sheets(corpus_book: Rebuilt) -> None:
    """Settings belongs to the person after the first rebuild: it comes out of
    the second one byte for byte, like every other part outside owned sheets."""
    _, two = corpus_book.outputs
    first, second = corpus_book.first, corpus_book.second

    assert two.exit_code == 0, two.output
    assert two.stdout.endswith(f"Rebuilt 11 sheets in {second}\n")
    assert sheet_names(second) == sheet_names(first)
    assert owned_sheets(second) == OWNED
    assert changed_untouched_parts(corpus_book.prepared, second) == []
    assert (
        changed_untouched_parts(first, second, EDITED_PARTS | owned_parts(first)) == []
    )
    assert sheet_part(second, "Settings").lower() not in owned_parts(second)
    assert lost_from_edited_parts(first, second) == []
    check_owned_content(second, BY_MEDIAN)


@needs_libreoffice
@pytest.mark.libreoffice
def test_libreoffice_opens_every_rebuilt_workbook(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """One LibreOffice run opens the whole corpus after its second rebuild and
    saves it again with the rebuilt sheets in it."""
    books = [rebuilt(case, tmp_path_factory).second for case in sorted(CORPUS)]

    assert convert_all(books, tmp_path) == []

    for index, book in enumerate(books):
        converted = tmp_path / "out" / f"{index:04d}_{book.stem}.xlsx"
        assert sheet_names(converted)[-len(APPENDED) :] == APPENDED
        assert quadrant_members(converted) == BY_MEDIAN


# A person's edits to Settings are what the next rebuild uses.


def set_cells(path: Path, sheet: str, values: dict[str, str | float]) -> Path:
    """Type values into cells of one sheet by editing its XML, as a person
    would in Excel; every other member is copied raw."""

    def type_in(data: bytes) -> bytes:
        for ref, value in values.items():
            data = _set_cell(data, ref, value)
        return data

    return edit_member(path, sheet_part(path, sheet), type_in)


def _set_cell(data: bytes, ref: str, value: str | float) -> bytes:
    cell = re.compile(rb'<c r="%s"( s="\d+")?[^>]*?(?:/>|>.*?</c>)' % ref.encode())
    match = cell.search(data)
    assert match is not None, ref
    style = match.group(1) or b""
    if isinstance(value, str):
        new = b'<c r="%s"%s t="inlineStr"><is><t>%s</t></is></c>' % (
            ref.encode(),
            style,
            value.encode(),
        )
    else:
        new = b'<c r="%s"%s><v>%s</v></c>' % (ref.encode(), style, repr(value).encode())
    return data[: match.start()] + new + data[match.end() :]


def test_a_threshold_edited_in_settings_drives_the_next_rebuild(
    tmp_path: Path,
) -> None:
    """Revenue threshold rule 'value' at 50,000: Globex and Wayne become high
    revenue, RAMP empties; the edited Settings sheet stays as typed."""
    book = text_box(tmp_path)
    assert run("rebuild", book).exit_code == 0
    set_cells(book, "Settings", {"B8": "value", "B9": 50_000.0})
    edited = read_parts(book)[sheet_part(book, "Settings")]

    result = run("rebuild", book)

    assert result.exit_code == 0, result.output
    assert "Thresholds: revenue fixed = $50,000" in result.stdout
    check_owned_content(
        book,
        {
            "TIER 1": {"Acme", "Hooli"},
            "INVEST": {"Initech", "Stark", "Globex", "Wayne"},
            "RAMP": set(),
            "MAINTAIN": {"Umbrella", "Wonka"},
        },
    )
    assert read_parts(book)[sheet_part(book, "Settings")] == edited


# Stale owned sheets.


def test_a_csm_without_accounts_loses_their_sheet(tmp_path: Path) -> None:
    """All of Ana's accounts move to Bo: her sheet goes, the person's parts stay,
    and the names after it follow the sheets that moved up."""
    book = text_box(tmp_path)
    assert run("rebuild", book).exit_code == 0
    before = tmp_path / "before.xlsx"
    shutil.copy(book, before)
    set_cells(book, "Accounts", {f"C{row}": "Bo Chen" for row in range(2, 10)})
    moved = tmp_path / "moved.xlsx"
    shutil.copy(book, moved)

    result = run("rebuild", book)

    assert result.exit_code == 0, result.output
    assert "Removed sheets xlapm no longer writes: Ana Lee\n" in result.stdout
    assert "Ana Lee" not in sheet_names(book)
    assert owned_sheets(book) == [name for name in OWNED if name != "Ana Lee"]
    assert changed_untouched_parts(moved, book, EDITED_PARTS | owned_parts(moved)) == []
    check_owned_content(book, BY_MEDIAN)
    team = read_book(book)["Team"]
    assert [row[0] for row in team.iter_rows(min_row=6, values_only=True)] == [
        "Bo Chen"
    ]


def test_a_person_formula_on_a_stale_sheet_stops_the_rebuild(tmp_path: Path) -> None:
    """The person's Notes read Ana's sheet; once her accounts move, removing it
    would break the formula, so only --force goes ahead."""

    def build(book: xlsxwriter.Workbook) -> None:
        write_accounts(book)
        book.add_worksheet("Notes").write_formula("A1", "='Ana Lee'!A1")

    book = _person_book(tmp_path, "book.xlsx", build)
    assert run("rebuild", book).exit_code == 0
    set_cells(book, "Accounts", {f"C{row}": "Bo Chen" for row in range(2, 10)})
    before = book.read_bytes()

    result = run("rebuild", book)

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: Rebuilding book.xlsx would lose: Sheet 'Notes' refers to sheet "
        "'Ana Lee', which the rebuild removes\n"
        "Hint: Move it off the xlapm sheet, or rebuild with force.\n"
    )
    assert book.read_bytes() == before
    forced = run("rebuild", book, "--force")
    assert forced.exit_code == 0, forced.output
    assert "Ana Lee" not in sheet_names(book)
    assert read_book(book)["Notes"]["A1"].value == "='Ana Lee'!A1"


# Refusals: the file stays as it was.


def simple_book(folder: Path, *extra: str) -> Path:
    """A person's workbook: Accounts, then sheets named ``extra``."""

    def build(book: xlsxwriter.Workbook) -> None:
        write_accounts(book)
        for name in extra:
            book.add_worksheet(name).write("A1", "the person's notes")

    return _person_book(folder, "book.xlsx", build)


def test_a_person_sheet_named_matrix_stops_the_rebuild(tmp_path: Path) -> None:
    book = simple_book(tmp_path, "Matrix")
    before = book.read_bytes()

    result = run("rebuild", book)

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: Sheet 'Matrix' in book.xlsx was made by a person; rename it or "
        "move it, then rebuild\n"
        "Hint: xlapm writes a sheet named 'Matrix'.\n"
    )
    assert book.read_bytes() == before
    assert folder_listing(tmp_path) == ["book.xlsx"]


@pytest.mark.parametrize("with_header", [True, False], ids=["header", "no-sheet"])
def test_a_workbook_without_accounts_is_refused(
    with_header: bool, tmp_path: Path
) -> None:
    def build(book: xlsxwriter.Workbook) -> None:
        if with_header:
            book.add_worksheet("Accounts").write_row(0, 0, HEADER)
        else:
            book.add_worksheet("Notes").write("A1", "Ideas for the QBR")

    book = _person_book(tmp_path, "book.xlsx", build)
    before = book.read_bytes()

    result = run("rebuild", book)

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: book.xlsx has no accounts below its header row.\n"
        "Hint: Paste or export at least one account, then run again.\n"
    )
    assert book.read_bytes() == before
    assert folder_listing(tmp_path) == ["book.xlsx"]


def test_a_read_only_workbook_is_refused(tmp_path: Path) -> None:
    book = simple_book(tmp_path)
    before = book.read_bytes()
    book.chmod(stat.S_IRUSR | stat.S_IRGRP)
    try:
        result = run("rebuild", book)
    finally:
        book.chmod(stat.S_IRUSR | stat.S_IWUSR)

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: book.xlsx is read-only, so it cannot be replaced\n"
        "Hint: Clear the read-only flag, or write to another file.\n"
    )
    assert book.read_bytes() == before
    assert folder_listing(tmp_path) == ["book.xlsx"]


def test_a_workbook_open_in_excel_is_refused(tmp_path: Path) -> None:
    book = simple_book(tmp_path)
    before = book.read_bytes()
    (tmp_path / "~$book.xlsx").write_bytes(b"\x05Ana Lee")

    result = run("rebuild", book)

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: book.xlsx is open in Excel (its lock file ~$book.xlsx exists); "
        "close it in Excel first\n"
        "Hint: If Excel is closed, delete ~$book.xlsx and try again.\n"
    )
    assert book.read_bytes() == before
    assert folder_listing(tmp_path) == ["book.xlsx", "~$book.xlsx"]


def test_backup_keeps_the_previous_bytes(tmp_path: Path) -> None:
    book = simple_book(tmp_path)
    assert run("rebuild", book).exit_code == 0
    previous = book.read_bytes()

    result = run("rebuild", book, "--backup")

    assert result.exit_code == 0, result.output
    backup = tmp_path / "book.bak.xlsx"
    assert result.stdout.endswith(f"Previous version kept as {backup}\n")
    assert backup.read_bytes() == previous
    assert book.read_bytes() != previous
    assert owned_sheets(book) == OWNED


HOSTILE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">]>'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'extended-properties">&lol;</Properties>'
)


def test_a_part_with_a_dtd_is_refused(tmp_path: Path) -> None:
    book = edit_member(simple_book(tmp_path), "docProps/app.xml", lambda _: HOSTILE)
    before = book.read_bytes()

    result = run("rebuild", book)

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: book.xlsx is unsafe: part docProps/app.xml declares a DTD "
        "(XML entities are refused)\n"
    )
    assert book.read_bytes() == before
    assert folder_listing(tmp_path) == ["book.xlsx"]


# Interrupted saves.


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            OSError(28, "No space left on device"),
            "Error: Could not save book.xlsx: No space left on device; the "
            "workbook is as it was.\n"
            "Hint: Fix the cause (free disk space, reconnect the drive), then run "
            "again.\n",
        ),
        (RuntimeError("a bug"), ""),
        (KeyboardInterrupt(), "\nAborted!\n"),
    ],
    ids=["disk-full", "bug", "ctrl-c"],
)
def test_a_failure_during_the_save_leaves_the_workbook_as_it_was(
    error: BaseException,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The failure strikes while the rebuilt sheets stream into the new file."""
    book = simple_book(tmp_path, "Notes")
    assert run("rebuild", book).exit_code == 0
    before = book.read_bytes()

    def broken(source: object, target: object, remap: object) -> int:
        target.write(b"<worksheet>half a sheet")  # type: ignore[attr-defined]
        raise error

    monkeypatch.setattr("xlapm.package._plan.remap_sheet", broken)
    result = run("rebuild", book)

    assert result.exit_code == 1
    assert result.stderr == message
    assert book.read_bytes() == before
    assert folder_listing(tmp_path) == ["book.xlsx"]


LARGE = 60_000


def write_large_book(path: Path) -> Path:
    """A person's workbook of 60,000 accounts over four CSMs."""
    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet("Accounts")
    sheet.write_row(0, 0, HEADER)
    csms = ["Ana Lee", "Bo Chen", "Cy Dore", "Di Eng"]
    for row in range(1, LARGE + 1):
        sheet.write_row(
            row,
            0,
            [
                f"A-{row:06d}",
                f"Account {row}",
                csms[row % 4],
                1_000 + (row * 7_919) % 1_000_000,
                (row * 31 % 100) / 100,
            ],
        )
    book.close()
    return path


def test_a_killed_rebuild_leaves_the_workbook_as_it_was(tmp_path: Path) -> None:
    """kill -9 while the new file is being written: the workbook is untouched,
    and the next rebuild clears the temporary file left behind."""
    book = write_large_book(tmp_path / "book.xlsx")
    before = book.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen(
        [sys.executable, "-m", "xlapm", "rebuild", str(book), "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        temp = _wait_for_temp(tmp_path, writer)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.communicate()

    assert book.read_bytes() == before
    assert temp.exists()

    result = run("rebuild", book, "--quiet")

    assert result.exit_code == 0, result.output
    assert folder_listing(tmp_path) == ["book.xlsx"]
    assert owned_sheets(book)[-1] == "Data Issues"


def _wait_for_temp(folder: Path, writer: subprocess.Popen) -> Path:
    """Wait until the writer's temporary file beside the workbook appears."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert writer.poll() is None, "the rebuild finished before it was killed"
        for path in folder.glob(".book.xlsx.*.tmp"):
            if path.stat().st_size > 0:
                return path
        time.sleep(0.005)
    raise AssertionError("the rebuild never started writing")


# Data never becomes code.

INJECTIONS = [
    '=HYPERLINK("http://x","y")',
    "+1 Partners",
    "-2 Corp",
    "@SUM(A1)",
    "\t=1+2",
    "\r\n=3+4",
]
# What reading keeps of each: text cells are trimmed of the spaces, tabs and
# line breaks around them (core/reading.py), never turned into formulas.
KEPT = [text.strip() for text in INJECTIONS]
TEXT_COLUMNS = ["Account ID", "Account Name", "CSM", "Region"]


def injection_book(folder: Path) -> Path:
    """Six accounts whose every text column holds formula-like text."""

    def build(book: xlsxwriter.Workbook) -> None:
        sheet = book.add_worksheet("Accounts")
        sheet.write_row(0, 0, [*TEXT_COLUMNS, "ARR", "Adoption"])
        for row in range(6):
            for col in range(len(TEXT_COLUMNS)):
                sheet.write_string(row + 1, col, INJECTIONS[(row + col) % 6])
            sheet.write_number(row + 1, 4, 100_000 * (row + 1))
            sheet.write_number(row + 1, 5, (row + 1) / 7)

    return _person_book(folder, "book.xlsx", build)


def test_formula_like_text_comes_back_as_text_in_every_owned_sheet(
    tmp_path: Path,
) -> None:
    book = injection_book(tmp_path)

    result = run("rebuild", book)

    assert result.exit_code == 0, result.output
    parts = read_parts(book)
    by_sheet = _sheet_parts(parts)
    owned = owned_sheets(book)
    for name in owned:
        formulas = re.findall(rb"<f[^>]*>([^<]*)</f>", parts[by_sheet[name]])
        hits = [
            f
            for f in formulas
            if re.search(rb"HYPERLINK|SUM\(A1|Partners|Corp|1\+2|3\+4", f)
        ]
        assert hits == [], name
    values = read_book(book)
    texts = {
        cell.value
        for name in owned
        for row in values[name].iter_rows()
        for cell in row
        if cell.data_type == "s"
    }
    for text in KEPT:
        assert text in texts
        assert any(value.startswith(f"{text}\n$") for value in texts)  # stickies
    listed: dict[str, list[str]] = {"Account": [], "Account ID": [], "CSM": []}
    for quadrant in QUADRANTS:
        sheet = values[quadrant]
        (table,) = sheet.tables.values()
        rows = [[cell.value for cell in row] for row in sheet[table.ref]]
        for header, found in listed.items():
            column = rows[0].index(header)
            found += [row[column] for row in rows[1:] if row[column] is not None]
    assert {header: sorted(found) for header, found in listed.items()} == {
        header: sorted(KEPT) for header in listed
    }
    csm_sheets = make_sheet_names(KEPT, taken=["Accounts", *APPENDED])
    assert [name for name in owned if name in csm_sheets] == sorted(csm_sheets)
    assert '=HYPERLINK("http---x","y")' in csm_sheets


def test_formula_like_text_in_an_export_stays_text_in_the_owned_accounts_sheet(
    tmp_path: Path,
) -> None:
    """Through ``snapshot --accounts`` the extra Region column lands in xlapm's
    own Accounts sheet: still text, cell for cell."""
    export = tmp_path / "export.csv"
    lines = [",".join([*TEXT_COLUMNS, "ARR", "Adoption"])]
    for row in range(4):
        texts = [INJECTIONS[(row + col) % 4] for col in range(len(TEXT_COLUMNS))]
        quoted = ['"' + text.replace('"', '""') + '"' for text in texts]
        lines.append(",".join([*quoted, str(100_000 * (row + 1)), "0.5"]))
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    book = _person_book(tmp_path, "book.xlsx", lambda b: b.add_worksheet("Notes"))

    result = run("snapshot", book, "--quarter", "2024Q4", "--accounts", export)

    assert result.exit_code == 0, result.output
    sheet = read_book(book)["Accounts"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    for col, name in enumerate(TEXT_COLUMNS):
        got = [row[header.index(name)] for row in rows[1:]]
        assert got == [INJECTIONS[(row + col) % 4] for row in range(4)], name
    part = read_parts(book)[sheet_part(book, "Accounts")]
    assert re.findall(rb"<f[^>]*>[^<]*(?:HYPERLINK|SUM\(A1)", part) == []


# Formulas saved without their results.


def formula_book(folder: Path) -> Path:
    """An Accounts sheet whose ARR and Adoption are formulas, saved by openpyxl
    (which stores no results)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Accounts"
    sheet.append(HEADER)
    for account_id, name, csm, arr, adoption in ACCOUNTS:
        sheet.append([account_id, name, csm, f"={arr}*1", f"={adoption * 100:g}/100"])
    path = folder / "book.xlsx"
    book.save(path)
    return path


def test_formulas_without_results_are_refused_with_a_hint(tmp_path: Path) -> None:
    book = formula_book(tmp_path)
    before = book.read_bytes()

    result = run("rebuild", book)

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: book.xlsx, sheet 'Accounts': 16 formulas have no saved result "
        "(D2, E2, D3, E3, D4 …), so their values are unknown.\n"
        "Hint: Open and save the workbook in Excel, or run again with "
        "--recalculate (uses LibreOffice).\n"
    )
    assert book.read_bytes() == before
    assert folder_listing(tmp_path) == ["book.xlsx"]


@needs_libreoffice
@pytest.mark.libreoffice
def test_recalculate_computes_them_and_keeps_the_person_formulas(
    tmp_path: Path,
) -> None:
    book = formula_book(tmp_path)
    prepared = tmp_path / "prepared.xlsx"
    shutil.copy(book, prepared)

    result = run("rebuild", book, "--recalculate")

    assert result.exit_code == 0, result.output
    check_owned_content(book, BY_MEDIAN)
    assert changed_untouched_parts(prepared, book) == []
    accounts = read_book(book)["Accounts"]
    assert (accounts["D2"].value, accounts["E2"].value) == ("=1250000*1", "=82/100")


# Excel's limits, met through the command line.


@pytest.mark.parametrize(
    ("quadrant", "message"),
    [
        (
            "Grow/Keep",
            "Error: Sheet name 'Grow/Keep' is not allowed: it contains /; Excel "
            "forbids [ ] : * ? / \\ in sheet names\n"
            "Hint: Choose another sheet name.\n",
        ),
        (
            "Top accounts we must never lose!",
            "Error: Sheet name 'Top accounts we must never lose!' is not allowed: "
            "Excel allows at most 31 characters\n"
            "Hint: Choose another sheet name.\n",
        ),
        (
            "matrix",
            "Error: Sheet name 'matrix' is used twice (also as 'Matrix'); Excel "
            "needs every sheet name to differ, ignoring case\n"
            "Hint: Choose another name; quadrant names must differ from the names "
            "of xlapm's other sheets.\n",
        ),
    ],
    ids=["slash", "too-long", "clash"],
)
def test_a_quadrant_name_excel_refuses_stops_the_rebuild(
    quadrant: str, message: str, tmp_path: Path
) -> None:
    book = simple_book(tmp_path)
    config = tmp_path / "apm.toml"
    config.write_text(f'[quadrants.tier1]\nname = "{quadrant}"\n', encoding="utf-8")
    before = book.read_bytes()

    result = run("rebuild", book, "--config", config)

    assert result.exit_code == 1
    assert result.stderr == message
    assert book.read_bytes() == before
    assert folder_listing(tmp_path) == ["apm.toml", "book.xlsx"]


def test_an_account_name_longer_than_a_cell_stops_the_rebuild(
    tmp_path: Path,
) -> None:
    """Excel, openpyxl and XlsxWriter all cut such text, so the 40,000
    characters go into the shared strings by editing the package."""

    def build(book: xlsxwriter.Workbook) -> None:
        sheet = write_accounts(book)
        sheet.write_string(3, 1, "PLACEHOLDER")

    book = _person_book(tmp_path, "book.xlsx", build)
    edit_member(
        book,
        "xl/sharedStrings.xml",
        lambda data: data.replace(b"PLACEHOLDER", b"Initech " + b"x" * 39_992),
    )
    before = book.read_bytes()

    result = run("rebuild", book)

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: book.xlsx, sheet 'Accounts', row 4, column 'Account Name': the "
        "text starting 'Initech xxxxxxxxxxxx' has 40,000 characters; an Excel "
        "cell holds at most 32,767.\n"
        "Hint: Shorten that value, then run again.\n"
    )
    assert book.read_bytes() == before
    assert folder_listing(tmp_path) == ["book.xlsx"]


def test_csm_names_that_clean_to_one_sheet_name_get_a_counter(
    tmp_path: Path,
) -> None:
    """ "Ana/Lee" and "Ana:Lee" both clean to "Ana-Lee"; the second CSM's sheet
    is "Ana-Lee (2)", each with its own accounts."""

    def build(book: xlsxwriter.Workbook) -> None:
        sheet = write_accounts(book)
        for row in range(1, 9):
            sheet.write_string(row, 2, "Ana/Lee" if row % 2 else "Ana:Lee")

    book = _person_book(tmp_path, "book.xlsx", build)

    result = run("rebuild", book)

    assert result.exit_code == 0, result.output
    assert owned_sheets(book)[-3:] == ["Ana-Lee", "Ana-Lee (2)", "Data Issues"]
    values = read_book(book)
    for sheet, csm in (("Ana-Lee", "Ana/Lee"), ("Ana-Lee (2)", "Ana:Lee")):
        assert values[sheet]["A1"].value.startswith(f"{csm} — 4 accounts")
