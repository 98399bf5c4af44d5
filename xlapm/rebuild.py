"""Rebuild in place: refresh the sheets xlapm owns inside a person's workbook.

The accounts are read from the workbook itself (its Accounts table or sheet), the
settings from its Settings sheet, and the owned sheets are written into a separate
fragment that is spliced into the original package, so every part a person made
stays byte-identical. The save is atomic: on any failure the file is untouched.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from python_calamine import CalamineWorkbook

from xlapm.core.accounts import prepare_accounts
from xlapm.core.history import read_history
from xlapm.core.portfolio import Portfolio, score_portfolio
from xlapm.core.reading import RawTable, find_uncached_formulas, read_table
from xlapm.core.settings import Settings, apply_overrides, load_settings
from xlapm.errors import (
    ExcelLimitError,
    FileProblem,
    InputError,
    OwnershipConflict,
)
from xlapm.layout.accounts_sheet import ACCOUNTS, ADDED
from xlapm.layout.plan import WorkbookPlan
from xlapm.layout.quarterly_sheets import HISTORY_SHEET
from xlapm.layout.settings_sheet import SETTINGS, settings_from_rows
from xlapm.layout.workbook import plan_workbook
from xlapm.package.atomic import check_writable
from xlapm.package.limits import MAX_CELL_TEXT, excel_length, sheet_name_key
from xlapm.package.splice import (
    SpliceReport,
    owned_sheets,
    sheet_names,
    splice_owned_sheets,
)
from xlapm.progress import SILENT, Progress
from xlapm.quarterly import QuarterlyAdditions, quarterly_additions
from xlapm.template import native_thresholds
from xlapm.writers.xlsx import write_workbook

log = logging.getLogger(__name__)

# Columns xlapm adds to an Accounts sheet it owns; dropped when reading it back.
XLAPM_COLUMNS = {*ADDED, *(f"{name} (xlapm)" for name in ADDED), "Time Share", "Hours"}


@dataclass
class RebuildResult:
    """What a rebuild changed."""

    portfolio: Portfolio
    workbook: Path
    splice: SpliceReport
    quarterly: QuarterlyAdditions
    seconds: dict[str, float] = field(default_factory=dict)


def rebuild_workbook(
    workbook: Path,
    *,
    config: Path | None = None,
    flags: dict[str, Any] | None = None,
    force: bool = False,
    backup: bool = False,
    recalculate: bool = False,
    accounts_export: Path | None = None,
    quarter: str | None = None,
    compare: tuple[str | None, str | None] = (None, None),
    progress: Progress = SILENT,
) -> RebuildResult:
    """Refresh the owned sheets of ``workbook`` from its own accounts and settings.

    ``flags`` are command-line overrides (``revenue``, ``health_threshold``…) that
    win over the workbook's Settings sheet, which wins over ``config``.
    ``accounts_export`` replaces the accounts with a new CRM export (the Accounts
    sheet must then be xlapm's own); ``quarter`` takes that quarter's snapshot into
    the Quarter History; ``compare`` picks the two quarters Movements compares.
    ``recalculate`` has LibreOffice compute formulas saved without results.
    Owned sheets the new plan no longer has (a CSM's sheet once their accounts
    moved, Movements once the history is gone) are removed; a person's formula or
    name that refers to one stops the rebuild unless ``force``.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    check_writable(workbook)
    owned = set(owned_sheets(workbook))
    existing = sheet_names(workbook)

    settings = _settings_for(workbook, existing, owned, config, flags or {})
    if accounts_export is not None:
        _refuse_persons_accounts(workbook, existing, owned)
        table = read_table(accounts_export, decimal=settings.decimal)
        include_accounts = True
    else:
        table = _accounts_table(workbook, settings, owned, recalculate)
        include_accounts = table.worksheet in owned
    _refuse_long_text(table)
    portfolio = score_portfolio(prepare_accounts(table, settings), settings)
    history = _history(workbook, existing, owned)
    timings["read"] = time.perf_counter() - started

    started = time.perf_counter()
    persons = [name for name in existing if name not in owned]
    additions = quarterly_additions(
        portfolio, history, quarter=quarter, compare=compare, taken=persons
    )
    has_settings = any(name.casefold() == SETTINGS.casefold() for name in existing)
    plan = plan_workbook(
        portfolio,
        include_accounts=include_accounts,
        include_settings=not has_settings,
        account_extras=additions.account_columns,
        more_sheets=additions.sheets,
    )
    if table.table is not None and table.worksheet not in owned:
        # The person's table drives Summary's thresholds, as in the template, so
        # native Quadrant columns follow pasted rows between rebuilds.
        native_thresholds(plan, portfolio, table.table)
    stale = _stale_sheets(existing, owned, plan)
    report = _write(workbook, plan, force, backup, progress, stale)
    timings["write"] = time.perf_counter() - started
    log.debug("rebuild timings: %s", timings)
    return RebuildResult(portfolio, workbook, report, additions, timings)


def _stale_sheets(
    existing: list[str], owned: set[str], plan: WorkbookPlan
) -> list[str]:
    """Return the owned sheets this rebuild no longer writes, such as the sheet of
    a CSM who has no accounts left, or Movements once the history is gone.

    Quarter History stays even when a person emptied it: it holds the only copy
    of past quarters. Settings is never owned, but an older xlapm marked it.
    """
    planned = {sheet_name_key(sheet.name) for sheet in plan.sheets}
    planned |= {sheet_name_key(HISTORY_SHEET), sheet_name_key(SETTINGS)}
    return [
        name
        for name in existing
        if name in owned and sheet_name_key(name) not in planned
    ]


def _refuse_long_text(table: RawTable) -> None:
    """Refuse text longer than an Excel cell holds, naming where it is.

    Excel and the usual writers cut such text, but a CSV export or a workbook made
    by other tools can hold it; the owned sheets could not.
    """
    for column in table.frame.columns:
        for position, text in enumerate(table.frame[column].tolist()):
            # A character takes at most two UTF-16 units: a cheap first filter.
            long = type(text) is str and len(text) * 2 > MAX_CELL_TEXT
            if long and excel_length(text) > MAX_CELL_TEXT:
                raise _long_text(table, position, str(column), text)


def _long_text(
    table: RawTable, position: int, column: str, text: str
) -> ExcelLimitError:
    where = table.source + (f", sheet '{table.sheet}'" if table.sheet else "")
    return ExcelLimitError(
        f"{where}, row {table.rows[position]}, column '{column}': the text starting "
        f"{text[:20]!r} has {excel_length(text):,} characters; an Excel cell holds "
        f"at most {MAX_CELL_TEXT:,}.",
        hint="Shorten that value, then run again.",
    )


def _refuse_persons_accounts(
    workbook: Path, existing: list[str], owned: set[str]
) -> None:
    for name in existing:
        if name.casefold() == ACCOUNTS.casefold() and name not in owned:
            raise OwnershipConflict(
                f"Sheet '{name}' in {workbook.name} was made by a person, so xlapm "
                "will not replace it with the new export.",
                hint="Paste the export into that sheet and run without --accounts, "
                "or rename the sheet.",
            )


def _history(
    workbook: Path, existing: list[str], owned: set[str]
) -> pd.DataFrame | None:
    if HISTORY_SHEET not in existing:
        return None
    if HISTORY_SHEET not in owned:
        raise OwnershipConflict(
            f"Sheet '{HISTORY_SHEET}' in {workbook.name} was made by a person.",
            hint="Rename it; xlapm keeps its snapshots in a sheet of that name.",
        )
    return read_history(_sheet_rows(workbook, HISTORY_SHEET))


def _settings_for(
    workbook: Path,
    existing: list[str],
    owned: set[str],
    config: Path | None,
    flags: dict[str, Any],
) -> Settings:
    base = load_settings(config)
    settings_sheet = next(
        (name for name in existing if name.casefold() == SETTINGS.casefold()), None
    )
    # Read even when an older xlapm marked it as its own: Settings is never
    # rewritten once it exists, so what it holds is the person's.
    if settings_sheet is not None:
        rows = _sheet_rows(workbook, settings_sheet)
        base = settings_from_rows(rows, base)
    return apply_overrides(base, **flags)


def _accounts_table(
    workbook: Path, settings: Settings, owned: set[str], recalculate: bool
) -> RawTable:
    table = read_table(workbook, sheet=settings.sheet, decimal=settings.decimal)
    uncached = find_uncached_formulas(workbook, table.sheet) if table.sheet else []
    if uncached and recalculate:
        from xlapm.libreoffice import recalculated_copy

        with tempfile.TemporaryDirectory(prefix="xlapm-recalc-") as folder:
            copy = recalculated_copy(workbook, Path(folder))
            table = read_table(copy, sheet=table.sheet, decimal=settings.decimal)
            table.source = workbook.name
    elif uncached:
        shown = ", ".join(uncached[:5]) + (" …" if len(uncached) > 5 else "")
        raise InputError(
            f"{workbook.name}, sheet '{table.sheet}': {len(uncached):,} formulas have "
            f"no saved result ({shown}), so their values are unknown.",
            hint="Open and save the workbook in Excel, or run again with "
            "--recalculate (uses LibreOffice).",
        )

    if table.worksheet in owned:
        keep = [name for name in table.frame.columns if name not in XLAPM_COLUMNS]
        table.frame = table.frame[keep]
    return table


def _write(
    workbook: Path,
    plan: WorkbookPlan,
    force: bool,
    backup: bool,
    progress: Progress,
    stale: list[str],
) -> SpliceReport:
    # The fragment holds only xlapm's sheets; the splice writes the workbook
    # atomically, keeping every other part of the package byte for byte.
    with tempfile.TemporaryDirectory(prefix="xlapm-fragment-") as folder:
        fragment = Path(folder) / "owned.xlsx"
        write_workbook(plan, fragment, progress)
        try:
            return splice_owned_sheets(
                workbook, fragment, workbook, force=force, backup=backup, remove=stale
            )
        except OSError as error:
            # A full disk or a vanished folder: the atomic save has already
            # put everything back, so say so instead of showing a traceback.
            raise FileProblem(
                f"Could not save {workbook.name}: {error.strerror or error}; "
                "the workbook is as it was.",
                hint="Fix the cause (free disk space, reconnect the drive), then "
                "run again.",
            ) from error


def _sheet_rows(workbook: Path, sheet: str) -> list[list[Any]]:
    book = CalamineWorkbook.from_path(str(workbook))
    try:
        return book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    finally:
        book.close()
