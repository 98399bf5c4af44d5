"""Replacing a workbook in one step, or not at all."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from xlapm.errors import WorkbookLocked
from xlapm.package import atomic_replace, owned_sheets, splice_owned_sheets
from xlapm.package.atomic import backup_path, remove_stale_temps

CORPUS = Path(__file__).parent / "data" / "xlsx"


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A workbook-like file with known bytes."""
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"the person's workbook")
    return path


def folder_names(path: Path) -> list[str]:
    """Return the names in the folder of ``path``."""
    return sorted(item.name for item in path.parent.iterdir())


def test_the_target_gets_the_new_content(book: Path) -> None:
    result = atomic_replace(book, lambda temp: temp.write_bytes(b"new"))

    assert result is None
    assert book.read_bytes() == b"new"
    assert folder_names(book) == ["book.xlsx"]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failure_while_writing_leaves_the_target_untouched(
    book: Path, error: BaseException
) -> None:
    def write(temp: Path) -> None:
        temp.write_bytes(b"half a workb")
        raise error

    with pytest.raises(type(error)):
        atomic_replace(book, write)

    assert book.read_bytes() == b"the person's workbook"
    assert folder_names(book) == ["book.xlsx"]


def test_a_failing_splice_leaves_the_workbook_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure strikes while the rebuilt sheet is being streamed out."""
    import xlsxwriter

    book = tmp_path / "book.xlsx"
    book.write_bytes((CORPUS / "poi_64759_threaded_comments.xlsx").read_bytes())
    before = book.read_bytes()
    fragment = xlsxwriter.Workbook(tmp_path / "fragment.xlsx")
    fragment.add_worksheet("Matrix").write("A1", "x")
    fragment.close()

    def broken(*args: object) -> int:
        raise OSError("no space left on device")

    monkeypatch.setattr("xlapm.package._plan.remap_sheet", broken)
    with pytest.raises(OSError, match="no space left"):
        splice_owned_sheets(book, tmp_path / "fragment.xlsx", book)

    assert book.read_bytes() == before
    assert folder_names(book) == ["book.xlsx", "fragment.xlsx"]


def test_an_excel_lock_file_refuses_the_write(book: Path) -> None:
    book.with_name("~$book.xlsx").write_bytes(b"owner")
    called = []

    with pytest.raises(WorkbookLocked) as raised:
        atomic_replace(book, called.append)

    assert str(raised.value) == (
        "book.xlsx is open in Excel (its lock file ~$book.xlsx exists); "
        "close it in Excel first"
    )
    assert raised.value.hint == "If Excel is closed, delete ~$book.xlsx and try again."
    assert called == []
    assert book.read_bytes() == b"the person's workbook"


def test_a_libreoffice_lock_file_refuses_the_write(book: Path) -> None:
    book.with_name(".~lock.book.xlsx#").write_text("user,host")

    with pytest.raises(WorkbookLocked, match="^book.xlsx is open in LibreOffice"):
        atomic_replace(book, lambda temp: temp.write_bytes(b"new"))


def test_a_read_only_workbook_refuses_the_write(book: Path) -> None:
    book.chmod(stat.S_IRUSR | stat.S_IRGRP)
    try:
        with pytest.raises(WorkbookLocked) as raised:
            atomic_replace(book, lambda temp: temp.write_bytes(b"new"))
    finally:
        book.chmod(stat.S_IRUSR | stat.S_IWUSR)

    assert str(raised.value) == "book.xlsx is read-only, so it cannot be replaced"
    assert book.read_bytes() == b"the person's workbook"


def test_a_backup_keeps_the_previous_version(book: Path) -> None:
    kept = atomic_replace(book, lambda temp: temp.write_bytes(b"v2"), backup=True)

    assert kept == book.with_name("book.bak.xlsx") == backup_path(book)
    assert kept.read_bytes() == b"the person's workbook"
    assert book.read_bytes() == b"v2"

    atomic_replace(book, lambda temp: temp.write_bytes(b"v3"), backup=True)
    assert kept.read_bytes() == b"v2"
    assert folder_names(book) == ["book.bak.xlsx", "book.xlsx"]


def test_the_workbook_keeps_its_permissions(book: Path) -> None:
    book.chmod(0o640)

    atomic_replace(book, lambda temp: temp.write_bytes(b"new"))

    assert stat.S_IMODE(book.stat().st_mode) == 0o640


def test_a_new_file_gets_ordinary_permissions(tmp_path: Path) -> None:
    target = tmp_path / "new.xlsx"
    umask = os.umask(0o022)
    try:
        atomic_replace(target, lambda temp: temp.write_bytes(b"new"))
    finally:
        os.umask(umask)

    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_dead_writer_temp_is_removed_and_a_live_one_kept(book: Path) -> None:
    dead_pid = _dead_pid()
    dead = book.with_name(f".book.xlsx.k2j4.xlapm-{dead_pid}.tmp")
    live = book.with_name(f".book.xlsx.x9q1.xlapm-{os.getppid()}.tmp")
    other = book.with_name(f".other.xlsx.a1b2.xlapm-{dead_pid}.tmp")
    for path in (dead, live, other):
        path.write_bytes(b"partial")

    assert remove_stale_temps(book) == [dead]

    assert not dead.exists() and live.exists() and other.exists()


def _dead_pid() -> int:
    """Return the id of a process that has just ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_splice_can_write_into_an_atomic_temporary(tmp_path: Path) -> None:
    """xlapm.rebuild nests a splice inside its own atomic_replace."""
    import xlsxwriter

    book = tmp_path / "book.xlsm"
    book.write_bytes((CORPUS / "openpyxl_vba-test.xlsm").read_bytes())
    fragment = xlsxwriter.Workbook(tmp_path / "fragment.xlsx")
    fragment.add_worksheet("Matrix").write("A1", "x")
    fragment.close()

    atomic_replace(
        book,
        lambda temp: splice_owned_sheets(book, tmp_path / "fragment.xlsx", temp),
        backup=True,
    )

    assert owned_sheets(book) == ["Matrix"]
    assert folder_names(book) == ["book.bak.xlsm", "book.xlsm", "fragment.xlsx"]
