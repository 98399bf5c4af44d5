"""The live-workbook writer: renders a WorkbookPlan into a workbook open in Excel.

It renders the same plan as the file writer (``xlapm.writers.xlsx``), through
xlwings, so a rebuild from the ribbon and one from the command line look alike.

Ownership: a sheet is xlapm's when it carries the sheet-scoped name
``_xlapm_owned`` (``OWNED_MARKER``, the file writer's mark too). A planned sheet is
deleted and made again only when it is owned or does not exist yet; when a sheet a
person made has the name of a planned sheet, nothing is written and
``OwnershipConflict`` says which. A planned sheet that is not owned (Settings) is
made only when it is missing, and belongs to the person from then on. Owned sheets
that the plan no longer holds are left as they are. Formulas elsewhere that point
straight at cells of a rebuilt sheet (``=Summary!C5``) turn into ``#REF!``;
formulas that use the workbook names (``APM_RevenueThreshold``) keep working, as
the names are defined again.

Speed: every block's values go to Excel in one ``range.value = rows`` call and its
look in one call per property (number format, fill, font…), never one call per
cell; screen updating and automatic calculation are off while it writes.

Text that Excel would turn into something else when it is written, such as
``=1+1``, ``+33 6…``, ``-5``, ``@mention``, ``00123``, ``1/2``, ``TRUE`` or
``#N/A``, gets a leading apostrophe, so Excel keeps it as text (the apostrophe is
not part of the value).

Windows and macOS: values, number formats, fills, fonts, alignment, Tables,
calculated columns, conditional formats (xlwings' wrapper of ``FormatConditions``),
dropdowns, workbook names and gridlines go through xlwings on both. Tab colours,
zoom, frozen panes, page setup, borders, indents, dropdown prompts, the hidden flag
of the ownership name and the scatter chart use the Excel object model through
``.api`` (pywin32), so they are drawn on Windows only; on macOS (appscript) they are
skipped, with a debug log line each, and the sheets are otherwise the same.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
from xlsxwriter.utility import xl_rowcol_to_cell

from xlapm.errors import OwnershipConflict
from xlapm.layout.plan import (
    Cells,
    Formula,
    FormulaRule,
    ListValidation,
    Merge,
    PageSetup,
    ScatterChart,
    SheetPlan,
    Style,
    Table,
    TextRule,
    WorkbookPlan,
)
from xlapm.package.limits import MAX_ROWS, sheet_name_key, validate_sheet_name
from xlapm.progress import SILENT, Progress
from xlapm.writers.xlsx import OWNED_MARKER

log = logging.getLogger(__name__)

# Excel's object-model constants used through .api (Windows).
_XL_LANDSCAPE = 2
_XL_VALIDATE_LIST = 3
_XL_ALERT_STOP, _XL_ALERT_INFORMATION = 1, 3
_XL_BETWEEN = 1
_XL_CONTINUOUS = 1
_XL_MARKER_CIRCLE, _XL_MARKER_NONE = 8, -4142
_XL_LEGEND_BOTTOM = -4107
_XL_CATEGORY_AXIS, _XL_VALUE_AXIS = 1, 2
_MSO_DASH, _MSO_SOLID = 4, 1

# What Excel reads as a formula, a number, a date, a boolean or an error when it
# is written as a value; such text keeps its meaning only behind an apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_READS_AS_OTHER = re.compile(
    r"\s*(?:[0-9.,(#$€£¥]|true\s*$|false\s*$)",
    re.IGNORECASE,
)


def render_live(
    plan: WorkbookPlan,
    book: Any,
    progress: Progress = SILENT,
    *,
    windows: bool | None = None,
) -> list[str]:
    """Render ``plan`` into the open xlwings ``book``; return the sheets written.

    Args:
        plan: the sheets to write, as ``xlapm.layout.workbook.plan_workbook`` gives.
        book: an ``xlwings.Book``, such as ``xw.Book.caller()``.
        progress: told how many table rows were written.
        windows: use the Excel object model for what xlwings does not cover;
            by default when running on Windows.

    Raises:
        OwnershipConflict: a sheet a person made has a planned sheet's name.
        ExcelLimitError: a planned sheet name breaks Excel's rules.
    """
    for sheet in plan.sheets:
        validate_sheet_name(sheet.name)
    writer = _LiveWriter(
        book, progress, sys.platform == "win32" if windows is None else windows
    )
    return writer.render(plan)


def is_owned(sheet: Any) -> bool:
    """Whether ``sheet`` (an xlwings Sheet) carries xlapm's ownership mark."""
    # Excel names a sheet-scoped name "Sheet!_xlapm_owned" or "'My sheet'!…".
    return any(
        str(name.name).rpartition("!")[2] == OWNED_MARKER for name in sheet.names
    )


def excel_text(value: Any) -> Any:
    """``value`` as it must be written so that Excel keeps text as text."""
    if (
        isinstance(value, str)
        and value
        and (value.startswith(_FORMULA_START) or _READS_AS_OTHER.match(value))
    ):
        return "'" + value
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, np.generic):
        # numpy numbers: COM takes Python's own.
        return value.item()
    return value


class _LiveWriter:
    """One render: the book, the platform and the sheets already written."""

    def __init__(self, book: Any, progress: Progress, windows: bool) -> None:
        self.book = book
        self.progress = progress
        self.windows = windows

    def render(self, plan: WorkbookPlan) -> list[str]:
        existing = {sheet_name_key(sheet.name): sheet for sheet in self.book.sheets}
        _refuse_conflicts(plan, existing)
        total = sum(table.rows for sheet in plan.sheets for table in sheet.tables())
        self.progress.start(f"Writing {self.book.name}", total)

        written: list[str] = []
        try:
            with _quiet(self.book.app):
                after = None
                for sheet_plan in plan.sheets:
                    old = existing.get(sheet_name_key(sheet_plan.name))
                    if old is not None and not sheet_plan.owned:
                        # Made once (Settings), then the person's: kept as it is.
                        after = old
                        continue
                    after = self._fresh_sheet(sheet_plan, old, after)
                    self._sheet(after, sheet_plan)
                    written.append(sheet_plan.name)
                for name in plan.names():
                    self.book.names.add(name.name, name.refers_to)
        finally:
            self.progress.finish()
        log.debug("rendered %d sheets into %s", len(written), self.book.name)
        return written

    def _fresh_sheet(self, plan: SheetPlan, old: Any, after: Any) -> Any:
        # The new sheet comes first and the old one goes after: Excel refuses to
        # delete a workbook's last sheet, and the tab keeps its place.
        if old is not None:
            sheet = self.book.sheets.add(before=old)
            old.delete()
            sheet.name = plan.name
        else:
            last = after if after is not None else self.book.sheets[-1]
            sheet = self.book.sheets.add(plan.name, after=last)
        if plan.owned:
            marker = sheet.names.add(OWNED_MARKER, '="xlapm"')
            self._windows_only("hide the ownership name", _hide, marker)
        return sheet

    def _sheet(self, sheet: Any, plan: SheetPlan) -> None:
        self._layout(sheet, plan)
        for block in plan.blocks:
            if isinstance(block, Table):
                self._table(sheet, block)
            elif isinstance(block, Cells):
                self._cells(sheet, block)
            elif isinstance(block, Merge):
                self._merge(sheet, block)
            elif isinstance(block, Formula):
                cell = sheet.range((block.row + 1, block.col + 1))
                cell.formula = _in_excel(block.formula)
                self._look(cell, block.style)
        for rule in plan.rules:
            self._rule(sheet, rule)
        for validation in plan.validations:
            self._validation(sheet, validation)
        for chart in plan.charts:
            self._windows_only("draw the chart", self._chart, sheet, chart)

    # Blocks.

    def _cells(self, sheet: Any, block: Cells) -> None:
        if not block.values:
            return
        width = max(len(row) for row in block.values)
        rows = [
            [excel_text(value) for value in row] + [None] * (width - len(row))
            for row in block.values
        ]
        target = _area(sheet, block.row, block.col, len(rows), width)
        target.value = rows
        self._look(target, block.style)

    def _merge(self, sheet: Any, block: Merge) -> None:
        sheet.range((block.first_row + 1, block.first_col + 1)).value = excel_text(
            block.value
        )
        target = sheet.range(
            (block.first_row + 1, block.first_col + 1),
            (block.last_row + 1, block.last_col + 1),
        )
        if block.last_row > block.first_row or block.last_col > block.first_col:
            target.merge()
        self._look(target, block.style)

    def _table(self, sheet: Any, table: Table) -> None:
        columns = table.columns
        height = max(table.rows, 1)
        data = [[excel_text(value) for value in column.values] for column in columns]
        rows = [[excel_text(column.header) for column in columns]]
        rows += [list(row) for row in zip(*data, strict=True)] or [
            [None] * len(columns)
        ]
        target = _area(sheet, table.top, table.left, height + 1, len(columns))
        target.value = rows

        listed = sheet.tables.add(
            source=target, name=table.name, table_style_name=_table_style(table.style)
        )
        if not table.autofilter:
            listed.show_autofilter = False
        for offset, column in enumerate(columns):
            body = _area(sheet, table.top + 1, table.left + offset, height, 1)
            self._look(body, column.style)
            if column.formula is not None:
                # One formula for the column: Excel fills the calculated column.
                body.formula = _in_excel(column.formula)
            if column.width:
                sheet.range((1, table.left + offset + 1)).column_width = column.width
        self.progress.advance(table.rows)

    # Looks.

    def _look(self, target: Any, style: Style | None) -> None:
        if style is None:
            return
        if style.num_format:
            target.number_format = style.num_format
        if style.fill:
            target.color = style.fill
        if style.bold or style.italic or style.size or style.font_colour:
            font = target.font
            if style.bold:
                font.bold = True
            if style.italic:
                font.italic = True
            if style.size:
                font.size = style.size
            if style.font_colour:
                font.color = style.font_colour
        if style.align:
            target.horizontal_alignment = style.align
        if style.valign:
            target.vertical_alignment = style.valign
        if style.wrap:
            target.wrap_text = True
        if style.border_colour or style.indent:
            self._windows_only("set borders and indents", _edges, target, style)

    def _layout(self, sheet: Any, plan: SheetPlan) -> None:
        for col, width in plan.widths.items():
            sheet.range((1, col + 1)).column_width = width
        for col, style in plan.column_styles.items():
            self._look(sheet.range((1, col + 1), (MAX_ROWS, col + 1)), style)
        for first, last, height in _runs(plan.heights):
            sheet.range((first + 1, 1), (last + 1, 1)).row_height = height
        if not plan.gridlines:
            sheet.show_gridlines = False
        if plan.tab_colour:
            self._windows_only("colour the tab", _tab_colour, sheet, plan.tab_colour)
        if plan.freeze or plan.zoom != 100:
            self._windows_only("freeze panes and zoom", _window, sheet, plan)
        self._windows_only("set up printing", _page_setup, sheet, plan.page)

    def _rule(self, sheet: Any, rule: TextRule | FormulaRule) -> None:
        style = rule.style
        look = {
            "fill_color": style.fill,
            "font_color": style.font_colour,
            "font_bold": style.bold or None,
            "font_italic": style.italic or None,
        }
        look = {key: value for key, value in look.items() if value is not None}
        formats = sheet.range(rule.ref).conditional_formats
        if isinstance(rule, TextRule):
            quoted = '="' + rule.text.replace('"', '""') + '"'
            formats.add_cell_value("equal_to", quoted, **look)
        else:
            formula = (
                rule.formula if rule.formula.startswith("=") else "=" + rule.formula
            )
            formats.add_custom(formula, **look)

    def _validation(self, sheet: Any, validation: ListValidation) -> None:
        target = sheet.range(validation.ref)
        if self.windows:
            _list_validation(target, validation)
        elif validation.choices:
            target.data_validation.set_list(validation.choices)
        else:
            log.debug("dropdown from a range is drawn on Windows only")

    def _chart(self, sheet: Any, plan: ScatterChart) -> None:
        anchor = sheet.range((plan.row + 1, plan.col + 1))
        # The plan sizes charts in pixels, as XlsxWriter does; Excel takes points.
        width, height = plan.width * 0.75, plan.height * 0.75
        chart = sheet.charts.add(anchor.left, anchor.top, width, height)
        chart.chart_type = "xy_scatter"
        drawing = chart.api[1]
        for series in plan.series:
            line = drawing.SeriesCollection().NewSeries()
            line.Name = series.name
            line.XValues = _series_ref(series.x)
            line.Values = _series_ref(series.y)
            _series_look(line, series)
        drawing.HasTitle = True
        drawing.ChartTitle.Text = plan.title
        for axis, title, number_format in (
            (_XL_CATEGORY_AXIS, plan.x_title, plan.x_num_format),
            (_XL_VALUE_AXIS, plan.y_title, plan.y_num_format),
        ):
            drawn = drawing.Axes(axis)
            drawn.HasTitle = True
            drawn.AxisTitle.Text = title
            drawn.TickLabels.NumberFormat = number_format
        drawing.HasLegend = True
        drawing.Legend.Position = _XL_LEGEND_BOTTOM

    def _windows_only(self, what: str, action: Any, *args: Any) -> None:
        if not self.windows:
            log.debug("skipped on this platform: %s", what)
            return
        action(*args)


def _refuse_conflicts(plan: WorkbookPlan, existing: dict[str, Any]) -> None:
    for sheet_plan in plan.sheets:
        sheet = existing.get(sheet_name_key(sheet_plan.name))
        if sheet is not None and sheet_plan.owned and not is_owned(sheet):
            raise OwnershipConflict(
                f"The sheet '{sheet.name}' was made by a person, and the rebuild "
                f"would replace it with xlapm's '{sheet_plan.name}' sheet; nothing "
                "was changed.",
                hint=f"Rename your '{sheet.name}' sheet, then rebuild.",
            )


@contextlib.contextmanager
def _quiet(app: Any) -> Iterator[None]:
    """No screen updates and no recalculation while writing; restored after."""
    updating, calculation = app.screen_updating, app.calculation
    app.screen_updating = False
    app.calculation = "manual"
    try:
        yield
    finally:
        app.calculation = calculation
        app.screen_updating = updating


def _in_excel(formula: str) -> str:
    """A formula as Excel takes it through ``Range.Formula``.

    The file format marks newer functions with ``_xlfn.`` (``_xlfn.PERCENTILE.INC``);
    typed into a cell, that prefix would make Excel look for an unknown name.
    """
    return formula.replace("_xlfn.", "")


def _area(sheet: Any, row: int, col: int, height: int, width: int) -> Any:
    return sheet.range((row + 1, col + 1), (row + height, col + width))


def _runs(heights: dict[int, float]) -> list[tuple[int, int, float]]:
    """Consecutive rows of one height as (first, last, height): one call per run."""
    runs: list[tuple[int, int, float]] = []
    for row in sorted(heights):
        height = heights[row]
        if runs and runs[-1][1] == row - 1 and runs[-1][2] == height:
            runs[-1] = (runs[-1][0], row, height)
        else:
            runs.append((row, row, height))
    return runs


def _table_style(style: str) -> str:
    """``Table Style Medium 2`` (XlsxWriter's spelling) as Excel names it."""
    return style.replace(" ", "")


def _bgr(colour: str) -> int:
    """``#RRGGBB`` as the BGR integer of Excel's object model."""
    red, green, blue = (int(colour[index : index + 2], 16) for index in (1, 3, 5))
    return red + green * 256 + blue * 65536


def _series_ref(ref: Any) -> str:
    quoted = ref.sheet.replace("'", "''")
    first = xl_rowcol_to_cell(ref.first_row, ref.col, row_abs=True, col_abs=True)
    last = xl_rowcol_to_cell(ref.last_row, ref.col, row_abs=True, col_abs=True)
    return f"='{quoted}'!{first}:{last}"


# What only the Excel object model (Windows, pywin32) can do.


def _hide(marker: Any) -> None:
    marker.api.Visible = False


def _edges(target: Any, style: Style) -> None:
    if style.border_colour:
        borders = target.api.Borders
        borders.LineStyle = _XL_CONTINUOUS
        borders.Color = _bgr(style.border_colour)
    if style.indent:
        target.api.IndentLevel = style.indent


def _tab_colour(sheet: Any, colour: str) -> None:
    sheet.api.Tab.Color = _bgr(colour)


def _window(sheet: Any, plan: SheetPlan) -> None:
    # Panes and zoom belong to the window, which shows the active sheet.
    sheet.activate()
    window = sheet.book.app.api.ActiveWindow
    if plan.freeze:
        window.FreezePanes = False
        window.SplitRow, window.SplitColumn = plan.freeze
        window.FreezePanes = True
    if plan.zoom != 100:
        window.Zoom = plan.zoom


def _page_setup(sheet: Any, page: PageSetup) -> None:
    if page == PageSetup():
        return
    setup = sheet.api.PageSetup
    if page.landscape:
        setup.Orientation = _XL_LANDSCAPE
    if page.fit_width is not None or page.fit_height is not None:
        setup.Zoom = False
        setup.FitToPagesWide = page.fit_width or False
        setup.FitToPagesTall = page.fit_height or False
    if page.repeat_rows:
        first, last = page.repeat_rows
        setup.PrintTitleRows = f"${first + 1}:${last + 1}"
    if page.centre:
        setup.CenterHorizontally = True


def _list_validation(target: Any, validation: ListValidation) -> None:
    rule = target.api.Validation
    rule.Delete()
    source = ",".join(validation.choices or []) or validation.source or ""
    rule.Add(
        Type=_XL_VALIDATE_LIST,
        AlertStyle=_XL_ALERT_STOP if validation.strict else _XL_ALERT_INFORMATION,
        Operator=_XL_BETWEEN,
        Formula1=source,
    )
    if validation.prompt:
        rule.InputMessage = validation.prompt


def _series_look(line: Any, series: Any) -> None:
    colour = _bgr(series.colour)
    if series.line:
        line.MarkerStyle = _XL_MARKER_NONE
        line.Format.Line.Visible = True
        line.Format.Line.ForeColor.RGB = colour
        line.Format.Line.DashStyle = _MSO_DASH if series.dash else _MSO_SOLID
        return
    line.Format.Line.Visible = False
    line.MarkerStyle = _XL_MARKER_CIRCLE
    line.MarkerSize = 5
    line.MarkerBackgroundColor = colour
    line.MarkerForegroundColor = colour
