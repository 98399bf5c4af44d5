"""The ribbon's macros: what the Account Matrix buttons run, through RunPython.

Each entry point takes no argument and works on the workbook the CSM is looking
at (``calling_book``). Whatever goes wrong reaches the CSM as a message box with
one line and a hint, never as a Python traceback: xlapm's own errors say what to
fix; anything else is logged and reported in one line.

- ``rebuild()``: reads the Accounts table and the Settings sheet of the open
  workbook, scores the accounts and redraws the sheets xlapm owns in place
  (``xlapm.writers.live``).
- ``show_playbook()``: the playbook of the account in the selected row.
- ``snapshot_quarter()``: a rebuild that also stores this calendar quarter in the
  Quarter History sheet (``xlapm.quarterly``, imported only when needed), as
  ``xlapm snapshot`` does; without that module it says how to take one.
- ``open_settings()`` and ``show_help()``: go to the Settings and Instructions
  sheets.
"""

from __future__ import annotations

import datetime
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xlwings as xw

from xlapm.core.accounts import prepare_accounts
from xlapm.core.portfolio import Portfolio, score_portfolio
from xlapm.core.reading import RawTable, table_from_rows
from xlapm.core.settings import QUADRANT_KEYS, UNSCORED, load_settings
from xlapm.errors import InputError, OwnershipConflict, XlapmError
from xlapm.layout.settings_sheet import SETTINGS, settings_from_rows
from xlapm.layout.workbook import plan_workbook
from xlapm.package.limits import sheet_name_key
from xlapm.rebuild import XLAPM_COLUMNS
from xlapm.template import INSTRUCTIONS, native_thresholds
from xlapm.writers.live import is_owned, render_live

log = logging.getLogger(__name__)

TITLE = "Account Matrix"
ACCOUNTS = "Accounts"
_ADDIN_SUFFIXES = (".xlam", ".xla")


def calling_book() -> Any:
    """The workbook the button was pressed for.

    ``xw.Book.caller()`` is the workbook whose VBA ran RunPython; when that is
    the add-in (``.xlam``), the CSM's workbook is the active one.
    """
    book = xw.Book.caller()
    if str(book.name).lower().endswith(_ADDIN_SUFFIXES):
        return book.app.books.active
    return book


def rebuild() -> None:
    """Rebuild the matrix sheets of the calling workbook from its own accounts.

    Example (the ribbon's Rebuild matrix button):

        RunPython "import xlapm.macros; xlapm.macros.rebuild()"
    """
    _run("Rebuild matrix", _rebuild)


def show_playbook() -> None:
    """Show the playbook of the account in the selected row, in a message box.

    Example (the ribbon's Playbook button):

        RunPython "import xlapm.macros; xlapm.macros.show_playbook()"
    """
    _run("Playbook", _show_playbook)


def snapshot_quarter() -> None:
    """Save this quarter's snapshot, or say how to take it from the command line.

    Example (the ribbon's Snapshot quarter button):

        RunPython "import xlapm.macros; xlapm.macros.snapshot_quarter()"
    """
    _run("Snapshot quarter", _snapshot_quarter)


def open_settings() -> None:
    """Go to the Settings sheet.

    Example (the ribbon's Settings button):

        RunPython "import xlapm.macros; xlapm.macros.open_settings()"
    """
    _run("Settings", _open_settings)


def show_help() -> None:
    """Go to the Instructions sheet, or show a short help when there is none.

    Example (the ribbon's Help button):

        RunPython "import xlapm.macros; xlapm.macros.show_help()"
    """
    _run("Help", _show_help)


def tell(book: Any, message: str, title: str = TITLE, critical: bool = False) -> None:
    """A message box in Excel (``App.alert``, Windows and macOS alike)."""
    book.app.alert(message, title=title, mode="critical" if critical else "info")


def _run(title: str, action: Callable[[Any], None]) -> None:
    book = calling_book()
    try:
        action(book)
    except XlapmError as error:
        hint = f"\n\n{error.hint}" if error.hint else ""
        tell(book, f"{error.message}{hint}", f"{TITLE}: {title}", critical=True)
    except Exception as error:  # noqa: BLE001 - a CSM must never see a traceback
        log.exception("%s failed", title)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        tell(
            book,
            f"{title} did not work: {type(error).__name__}"
            + (f": {reason}" if reason else "")
            + "\n\nThe details are in the log: xlapm --debug rebuild WORKBOOK.xlsx "
            "shows them in a terminal.",
            f"{TITLE}: {title}",
            critical=True,
        )


# Rebuild.


@dataclass
class _Source:
    """Where the accounts are in the open workbook and what they hold."""

    table: RawTable
    sheet: Any
    table_name: str | None
    owned: bool


def scored_portfolio(book: Any) -> tuple[Portfolio, _Source]:
    """The calling workbook's accounts, scored with its own Settings sheet."""
    settings = load_settings()
    settings_sheet = _sheet_named(book, SETTINGS)
    if settings_sheet is not None and not is_owned(settings_sheet):
        settings = settings_from_rows(_sheet_rows(settings_sheet), settings)

    source = _accounts_source(book, settings.sheet)
    accounts = prepare_accounts(source.table, settings)
    return score_portfolio(accounts, settings), source


def _rebuild(book: Any) -> None:
    portfolio = _rebuild_with(book, _quarterly_module(), quarter=None)

    accounts = portfolio.accounts
    done = f"Rebuilt the matrix: {len(accounts):,} accounts."
    book.app.status_bar = done
    if accounts.issues:
        tell(
            book,
            f"{done} {len(accounts.issues):,} data issues were found: see the "
            "Data Issues sheet.",
            f"{TITLE}: Rebuild matrix",
        )


def _rebuild_with(book: Any, quarterly: Any, quarter: str | None) -> Portfolio:
    """Score, plan and redraw; with ``quarterly``, its sheets too (as the CLI)."""
    portfolio, source = scored_portfolio(book)
    extras: Any = ()
    sheets: Any = ()
    if quarterly is not None:
        persons = [sheet.name for sheet in book.sheets if not is_owned(sheet)]
        additions = quarterly.quarterly_additions(
            portfolio, _history(book), quarter=quarter, taken=persons
        )
        extras, sheets = additions.account_columns, additions.sheets
    plan = plan_workbook(
        portfolio,
        include_accounts=source.owned,
        include_settings=_sheet_named(book, SETTINGS) is None,
        account_extras=extras,
        more_sheets=sheets,
    )
    if source.table_name is not None and not source.owned:
        # The person's table drives Summary's thresholds, as in the template, so
        # native Quadrant columns follow pasted rows between rebuilds.
        native_thresholds(plan, portfolio, source.table_name)
    render_live(plan, book)
    return portfolio


def _quarterly_module() -> Any:
    """``xlapm.quarterly``, or None where that part of xlapm is not installed."""
    try:
        return importlib.import_module("xlapm.quarterly")
    except ImportError:
        return None


def _history(book: Any) -> Any:
    from xlapm.core.history import read_history
    from xlapm.layout.quarterly_sheets import HISTORY_SHEET

    sheet = _sheet_named(book, HISTORY_SHEET)
    if sheet is None:
        return None
    if not is_owned(sheet):
        raise OwnershipConflict(
            f"The sheet '{sheet.name}' in {book.name} was made by a person.",
            hint="Rename it; xlapm keeps its snapshots in a sheet of that name.",
        )
    return read_history(_sheet_rows(sheet))


def _accounts_source(book: Any, wanted: str | None) -> _Source:
    """An Excel Table named Accounts, else a sheet named Accounts (or ``wanted``)."""
    name = wanted or ACCOUNTS
    for sheet in book.sheets:
        for table in sheet.tables:
            if _is_accounts_table(table.name, name):
                return _table_source(book, sheet, table)
    sheet = _sheet_named(book, name)
    if sheet is None:
        raise InputError(
            f"{book.name} has no Excel Table or sheet named '{name}'.",
            hint="Put the accounts in a table called Accounts (Table Design > "
            "Table Name), or in a sheet called Accounts.",
        )
    return _sheet_source(book, sheet)


def _is_accounts_table(table_name: str, wanted: str) -> bool:
    key = table_name.casefold()
    return key == wanted.casefold() or key == f"tbl{wanted.casefold()}"


def _table_source(book: Any, sheet: Any, table: Any) -> _Source:
    header = _values(table.header_row_range)[0]
    body = table.data_body_range
    rows = _values(body) if body is not None else []
    first_row = body.row if body is not None else table.header_row_range.row + 1
    raw = table_from_rows(header, rows, book.name, first_row, sheet=table.name)
    return _owned_source(raw, sheet, table.name)


def _sheet_source(book: Any, sheet: Any) -> _Source:
    used = sheet.used_range
    cells = _values(used)
    filled = [i for i, row in enumerate(cells) if any(_has_value(c) for c in row)]
    if not filled:
        raise InputError(
            f"{book.name}: the sheet '{sheet.name}' is empty.",
            hint="Paste the accounts with their header row, then rebuild.",
        )
    top = filled[0]
    raw = table_from_rows(
        cells[top], cells[top + 1 :], book.name, used.row + top + 1, sheet=sheet.name
    )
    return _owned_source(raw, sheet, None)


def _owned_source(raw: RawTable, sheet: Any, table_name: str | None) -> _Source:
    owned = is_owned(sheet)
    if owned:
        keep = [name for name in raw.frame.columns if name not in XLAPM_COLUMNS]
        raw.frame = raw.frame[keep]
    return _Source(raw, sheet, table_name, owned)


def _values(target: Any) -> list[list[Any]]:
    # One read for the whole block; error values as text ("#N/A"), as the file
    # reader gives them, instead of None.
    return target.options(ndim=2, err_to_str=True).value


def _sheet_rows(sheet: Any) -> list[list[Any]]:
    """A sheet's cells from A1, so that labels stay in column A."""
    last = sheet.used_range.last_cell
    return _values(sheet.range((1, 1), (last.row, last.column)))


def _sheet_named(book: Any, name: str) -> Any:
    key = sheet_name_key(name)
    return next((s for s in book.sheets if sheet_name_key(s.name) == key), None)


def _has_value(cell: Any) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


# Playbook.


def _show_playbook(book: Any) -> None:
    selection = book.selection
    portfolio, source = scored_portfolio(book)
    position = _selected_account(selection, portfolio, source)
    if position is None:
        tell(
            book,
            "Select a cell in an account's row (on Accounts or a quadrant sheet), "
            "then click Playbook.",
            f"{TITLE}: Playbook",
        )
        return

    code = int(portfolio.classification.quadrant[position])
    name = portfolio.accounts.names[position]
    if code < 0:
        problems = [
            issue.problem
            for issue in portfolio.accounts.issues
            if issue.row == int(portfolio.accounts.rows[position])
        ]
        reason = "; ".join(problems) or "a metric is missing"
        tell(book, f"{name} is {UNSCORED}: {reason}.", f"{TITLE}: Playbook")
        return
    tell(book, playbook_text(portfolio, position), f"{TITLE}: Playbook")


def playbook_text(portfolio: Portfolio, position: int) -> str:
    """The message for the account at ``position``: its quadrant and what to do."""
    key = QUADRANT_KEYS[int(portfolio.classification.quadrant[position])]
    quadrant = portfolio.settings.quadrants[key]
    segment = portfolio.segments[position]
    lines = [
        f"{portfolio.accounts.names[position]}: {quadrant.name}"
        + (f" ({segment})" if segment else ""),
        "",
        quadrant.summary,
        f"Approach: {quadrant.approach.value}",
        f"Cadence: {quadrant.cadence}",
        "",
        *(f"• {activity}" for activity in quadrant.activities),
    ]
    return "\n".join(lines)


def _selected_account(
    selection: Any, portfolio: Portfolio, source: _Source
) -> int | None:
    """The position of the account in the selected row, None when there is none."""
    if selection is None:
        return None
    row = int(selection.row)
    accounts = portfolio.accounts
    if sheet_name_key(selection.sheet.name) == sheet_name_key(source.sheet.name):
        found = np.flatnonzero(accounts.rows == row)
        return int(found[0]) if found.size else None

    # Elsewhere (a quadrant sheet), the row names the account by name or ID.
    last = selection.sheet.used_range.last_cell.column
    cells = _values(selection.sheet.range((row, 1), (row, last)))[0]
    texts = {str(cell).strip() for cell in cells if _has_value(cell)}
    for keys in (accounts.ids, accounts.names):
        if keys is None:
            continue
        for position, key in enumerate(keys):
            if key is not None and str(key).strip() in texts:
                return position
    return None


# Snapshot, Settings, Help.


def _snapshot_quarter(book: Any) -> None:
    from xlapm.core.history import quarter_of

    quarter = quarter_of(datetime.date.today())
    quarterly = _quarterly_module()
    if quarterly is None:
        tell(
            book,
            "Run `xlapm snapshot` on this workbook from a terminal to save this "
            "quarter's snapshot: save and close the workbook, then run\n\n"
            f"    xlapm snapshot {book.name} --quarter {quarter}",
            f"{TITLE}: Snapshot quarter",
        )
        return

    portfolio = _rebuild_with(book, quarterly, quarter=quarter)
    tell(
        book,
        f"Saved {quarter} for {len(portfolio.accounts):,} accounts in the Quarter "
        "History sheet. Taking the same quarter again replaces it; for another "
        f"quarter run: xlapm snapshot {book.name} --quarter YYYYQN",
        f"{TITLE}: Snapshot quarter",
    )


def _open_settings(book: Any) -> None:
    sheet = _sheet_named(book, SETTINGS)
    if sheet is None:
        raise InputError(
            f"{book.name} has no Settings sheet yet.",
            hint="Click Rebuild matrix once: it adds a Settings sheet to change.",
        )
    sheet.activate()


def _show_help(book: Any) -> None:
    sheet = _sheet_named(book, INSTRUCTIONS)
    if sheet is not None:
        sheet.activate()
        return
    tell(
        book,
        "Rebuild matrix: sorts the accounts of the Accounts table into TIER 1, "
        "INVEST, RAMP and MAINTAIN and redraws the matrix sheets.\n"
        "Playbook: the playbook of the selected account.\n"
        "Snapshot quarter: saves where every account is this quarter.\n"
        "Settings: thresholds, quadrant names and segments.\n\n"
        "Formulas: =APM_TIER(revenue, health), =APM_PLAYBOOK(quadrant), "
        '=APM_SEGMENT(revenue), =APM_THRESHOLD("revenue").',
        f"{TITLE}: Help",
    )
