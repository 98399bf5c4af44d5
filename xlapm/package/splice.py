"""Rebuild xlapm's own sheets inside a person's workbook, part by part.

``splice_owned_sheets`` takes the person's workbook and a *fragment* (a workbook
XlsxWriter wrote with only xlapm's sheets) and writes a workbook in which:

- each fragment sheet whose name matches a sheet carrying the ownership marker
  replaces it in place (same position, sheet id and relationship id);
- each other fragment sheet is appended, in fragment order;
- each owned sheet named in ``remove`` goes, with every part only it reaches,
  the names scoped to it and its calculation-chain entries; the sheets after
  it move up, and the names scoped to them and the windows' active tab follow;
- a person's sheet with a fragment sheet's name stops the rebuild
  (``OwnershipConflict``) before anything is written;
- every part that does not belong to a replaced sheet is copied byte for byte,
  without even being recompressed. ``workbook.xml``, its relationships,
  ``[Content_Types].xml``, ``styles.xml``, ``sharedStrings.xml`` and
  ``calcChain.xml`` are edited as text: the fragment's entries are appended and
  the rest of each part keeps its bytes.

``docProps/app.xml`` is left as it was. Its sheet titles then miss the appended
sheets and still list removed ones, which Excel tolerates (it rewrites the part
on its next save); Excel does reject an app.xml whose own counts disagree, which a
partial rewrite could cause.

The ownership marker is a hidden sheet-scoped defined name, ``_xlapm_owned``.
Excel and LibreOffice keep it when they save, and it follows the sheet when a
person renames it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from xlapm.package._plan import Splicer, SpliceReport
from xlapm.package._workbook import OWNED_MARKER, load_workbook
from xlapm.package.atomic import atomic_replace, check_writable
from xlapm.package.safety import Package, open_package

log = logging.getLogger(__name__)

__all__ = [
    "OWNED_MARKER",
    "SpliceReport",
    "owned_sheets",
    "sheet_names",
    "splice_owned_sheets",
]


def owned_sheets(path: Path) -> list[str]:
    """Return the names of the sheets in ``path`` that carry the ownership marker.

    Args:
        path: a workbook (.xlsx or .xlsm).

    Returns:
        Sheet names, in workbook order.
    """
    with open_package(Path(path)) as package:
        workbook = load_workbook(package)
    owned = workbook.owned()
    return [sheet.name for index, sheet in enumerate(workbook.sheets) if index in owned]


def sheet_names(path: Path) -> list[str]:
    """Return the names of all sheets in ``path``, in workbook order."""
    with open_package(Path(path)) as package:
        workbook = load_workbook(package)
    return [sheet.name for sheet in workbook.sheets]


def splice_owned_sheets(
    original: Path,
    fragment: Path,
    target: Path,
    *,
    force: bool = False,
    backup: bool = False,
    remove: Iterable[str] = (),
) -> SpliceReport:
    """Write ``target``: ``original`` with the fragment's sheets spliced in.

    Args:
        original: the person's workbook.
        fragment: a workbook holding only xlapm's sheets (written by XlsxWriter).
        target: where to write; may be ``original`` itself. Written atomically.
        force: go on even when a person's content on a replaced or removed
            sheet (a pivot table, a threaded comment, a name scoped to it...) or
            a reference to a removed table or sheet would be lost; without it,
            ``WouldLoseContent`` is raised. A forced reference keeps its text,
            which then points at nothing.
        backup: keep the previous ``target`` as ``<stem>.bak<suffix>``.
        remove: owned sheets to take out, by name (Excel's case-insensitive
            comparison); none of them may be in the fragment.

    Returns:
        A ``SpliceReport``.

    Raises:
        OwnershipConflict: a person's sheet, name or table has the name of one
            xlapm would write, or a sheet in ``remove`` is not an owned sheet.
        WouldLoseContent: see ``force``.
        WorkbookLocked: the target is open in Excel, read-only, or the workbook
            structure is protected.
        UnsafeWorkbook, FileProblem: a file cannot be read or trusted.
    """
    original, fragment, target = Path(original), Path(fragment), Path(target)
    check_writable(target)
    started = time.perf_counter()
    with _open_both(original, fragment) as (book, piece):
        splicer = Splicer(book, piece, target, force, remove)
        splicer.plan()

        def write(temp: Path) -> None:
            try:
                splicer.write(temp)
            finally:
                # Close before the rename: Windows cannot replace an open file.
                book.close()
                piece.close()

        splicer.report.backup = atomic_replace(target, write, backup=backup)
    log.debug(
        "spliced %s into %s in %.2f s", fragment, target, time.perf_counter() - started
    )
    return splicer.report


@contextlib.contextmanager
def _open_both(original: Path, fragment: Path) -> Iterator[tuple[Package, Package]]:
    """Open the person's workbook and the fragment, closing both on the way out."""
    with contextlib.ExitStack() as stack:
        book = stack.enter_context(open_package(original))
        piece = stack.enter_context(open_package(fragment))
        yield book, piece
