"""The file writer: renders a WorkbookPlan into an .xlsx with XlsxWriter.

XlsxWriter writes about twice as fast as openpyxl and produces Tables, conditional
formats, charts and validations that Excel opens without a repair prompt. Data text
is always written as text: the workbook is opened with ``strings_to_formulas`` and
``strings_to_urls`` off, so an account named ``=HYPERLINK(...)`` stays a name.
"""

from __future__ import annotations

import datetime
import logging
import re
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from xlapm import __version__
from xlapm.errors import ExcelLimitError, FileProblem
from xlapm.layout.plan import (
    Cells,
    Column,
    Formula,
    FormulaRule,
    ListValidation,
    Merge,
    ScatterChart,
    SheetPlan,
    Style,
    Table,
    TextRule,
    WorkbookPlan,
)
from xlapm.package.limits import MAX_CELL_TEXT, MAX_ROWS, validate_sheet_names
from xlapm.progress import SILENT, Progress

log = logging.getLogger(__name__)

OWNED_MARKER = "_xlapm_owned"
# From this many table rows a workbook is written row by row (constant memory).
STREAM_FROM_ROWS = 20_000
_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "constant_memory": False,
}


def write_workbook(
    plan: WorkbookPlan,
    target: Path,
    progress: Progress = SILENT,
    *,
    created: datetime.datetime | None = None,
) -> None:
    """Write every planned sheet to ``target``, marking those xlapm owns.

    ``created`` fixes the document's creation date (default: now), so a file
    generated twice, such as the template, comes out the same.
    """
    validate_sheet_names(sheet.name for sheet in plan.sheets)
    total = sum(table.rows for sheet in plan.sheets for table in sheet.tables())
    progress.start(f"Writing {target.name}", total)

    # Large portfolios stream row by row (see writers/streaming.py); small ones
    # keep every cell until the end, which the golden tests pin down.
    streaming = total >= STREAM_FROM_ROWS
    options = {**_OPTIONS, "constant_memory": streaming}
    book = xlsxwriter.Workbook(str(target), options)
    properties = {"title": plan.title, "comments": f"Made by xlapm {__version__}"}
    if created is not None:
        properties["created"] = created
    book.set_properties(properties)
    if streaming:
        from xlapm.writers.streaming import StreamingRenderer

        renderer: Renderer = StreamingRenderer(book, progress)
    else:
        renderer = Renderer(book, progress)
    try:
        for sheet in plan.sheets:
            renderer.sheet(sheet)
        for name in plan.names():
            book.define_name(name.name, name.refers_to)
        book.close()
    except XlsxWriterException as error:
        raise FileProblem(f"Could not write {target}: {error}.") from None
    except OSError as error:
        raise FileProblem(
            f"Could not write {target}: {error.strerror or error}.",
            hint="Check the folder exists and the file is not open in Excel.",
        ) from None
    finally:
        progress.finish()


class Renderer:
    """Turns plan blocks into XlsxWriter calls, creating each format once."""

    def __init__(self, book: xlsxwriter.Workbook, progress: Progress) -> None:
        self.book = book
        self.progress = progress
        self.formats: dict[Style, Format] = {}

    def format(self, style: Style | None) -> Format | None:
        if style is None:
            return None
        if style not in self.formats:
            self.formats[style] = self.book.add_format(_format_options(style))
        return self.formats[style]

    def sheet(self, plan: SheetPlan) -> None:
        sheet = self.book.add_worksheet(plan.name)
        if plan.owned:
            self._mark_owned(plan.name)
        self._layout(sheet, plan)
        self.blocks(sheet, plan)
        for rule in plan.rules:
            self._rule(sheet, rule)
        for validation in plan.validations:
            sheet.data_validation(validation.ref, _validation_options(validation))
        for chart in plan.charts:
            self._chart(sheet, chart)

    def blocks(self, sheet: Worksheet, plan: SheetPlan) -> None:
        """Write the sheet's tables, cells, merges and formulas."""
        for block in plan.blocks:
            if isinstance(block, Table):
                self._table(sheet, plan.name, block)
            elif isinstance(block, Cells):
                self._cells(sheet, plan.name, block)
            elif isinstance(block, Merge):
                self.merge(sheet, block)
            elif isinstance(block, Formula):
                sheet.write_formula(
                    block.row,
                    block.col,
                    block.formula,
                    self.format(block.style),
                    block.cached,
                )

    def _mark_owned(self, name: str) -> None:
        quoted = name.replace("'", "''")
        self.book.define_name(f"'{quoted}'!{OWNED_MARKER}", '="xlapm"')
        # XlsxWriter has no option for hidden names; its entry is
        # [name, sheet index, formula, hidden], so flag the one just added.
        self.book.defined_names[-1][3] = True

    def _layout(self, sheet: Worksheet, plan: SheetPlan) -> None:
        for col, width in plan.widths.items():
            sheet.set_column(col, col, width, self.format(plan.column_styles.get(col)))
        for col, style in plan.column_styles.items():
            if col not in plan.widths:
                sheet.set_column(col, col, None, self.format(style))
        for row, height in plan.heights.items():
            sheet.set_row(row, height)
        if plan.tab_colour:
            sheet.set_tab_color(plan.tab_colour)
        if plan.freeze:
            sheet.freeze_panes(*plan.freeze)
        if not plan.gridlines:
            sheet.hide_gridlines(2)
        if plan.zoom != 100:
            sheet.set_zoom(plan.zoom)
        _page_setup(sheet, plan)

    def check_table(self, sheet_name: str, table: Table) -> None:
        """Refuse a table Excel could not hold: too many rows, too long a text."""
        if table.top + table.rows + 1 > MAX_ROWS:
            raise ExcelLimitError(
                f"Sheet '{sheet_name}' would need {table.top + table.rows + 1:,} "
                f"rows; Excel allows {MAX_ROWS:,}.",
                hint="Split the accounts into smaller files.",
            )
        for column in table.columns:
            _check_text(column.values, sheet_name, column.header)

    def _table(self, sheet: Worksheet, sheet_name: str, table: Table) -> None:
        self.check_table(sheet_name, table)
        for offset, column in enumerate(table.columns):
            sheet.write_column(
                table.top + 1,
                table.left + offset,
                column.values,
                self.format(column.style),
            )
        self.add_table(sheet, table)
        for offset, column in enumerate(table.columns):
            if column.formula:
                self._formula_column(sheet, table, offset, column)
        self.progress.advance(table.rows)

    def add_table(self, sheet: Worksheet, table: Table) -> None:
        """Declare ``table`` as an Excel Table, with column widths and formats."""
        columns = []
        for offset, column in enumerate(table.columns):
            col = table.left + offset
            cell_format = self.format(column.style)
            if column.width:
                sheet.set_column(col, col, column.width)
            options: dict[str, Any] = {"header": column.header}
            if cell_format is not None:
                options["format"] = cell_format
            if column.formula:
                options["formula"] = column.formula
            columns.append(options)

        last_row = table.top + max(table.rows, 1)
        sheet.add_table(
            table.top,
            table.left,
            last_row,
            table.left + len(table.columns) - 1,
            {
                "name": table.name,
                "style": table.style,
                "columns": columns,
                "autofilter": table.autofilter,
            },
        )

    def _formula_column(
        self, sheet: Worksheet, table: Table, offset: int, column: Column
    ) -> None:
        # The table keeps the formula as Excel writes it ([@ARR]), so Excel fills
        # it into rows a person adds; each cell gets the same formula with plain
        # references (B2), which LibreOffice computes too, and its cached result.
        cells = ThisRowFormula(column.formula or "", table)
        cell_format = self.format(column.style)
        col = table.left + offset
        for index, cached in enumerate(column.values):
            row = table.top + 1 + index
            cached = "" if cached is None else cached
            sheet.write_formula(row, col, cells.at(row), cell_format, cached)

    def _cells(self, sheet: Worksheet, sheet_name: str, block: Cells) -> None:
        check_cells(sheet_name, block)
        cell_format = self.format(block.style)
        for offset, row in enumerate(block.values):
            sheet.write_row(block.row + offset, block.col, no_nan(row), cell_format)

    def merge(self, sheet: Worksheet, block: Merge) -> None:
        """A merged range, or a single cell when the range is one cell."""
        cell_format = self.format(block.style)
        single = block.first_row == block.last_row and block.first_col == block.last_col
        if single:
            sheet.write(block.first_row, block.first_col, block.value, cell_format)
            return
        sheet.merge_range(
            block.first_row,
            block.first_col,
            block.last_row,
            block.last_col,
            block.value,
            cell_format,
        )

    def _rule(self, sheet: Worksheet, rule: TextRule | FormulaRule) -> None:
        cell_format = self.format(rule.style)
        if isinstance(rule, TextRule):
            quoted = '"' + rule.text.replace('"', '""') + '"'
            options = {"type": "cell", "criteria": "==", "value": quoted}
        else:
            options = {"type": "formula", "criteria": rule.formula}
        sheet.conditional_format(rule.ref, {**options, "format": cell_format})

    def _chart(self, sheet: Worksheet, plan: ScatterChart) -> None:
        chart = self.book.add_chart(
            {"type": "scatter", "subtype": "straight_with_markers"}
        )
        for series in plan.series:
            options: dict[str, Any] = {
                "name": series.name,
                "categories": [
                    series.x.sheet,
                    series.x.first_row,
                    series.x.col,
                    series.x.last_row,
                    series.x.col,
                ],
                "values": [
                    series.y.sheet,
                    series.y.first_row,
                    series.y.col,
                    series.y.last_row,
                    series.y.col,
                ],
            }
            if series.line:
                options["line"] = {
                    "color": series.colour,
                    "width": 1.5,
                    "dash_type": "dash" if series.dash else "solid",
                }
                options["marker"] = {"type": "none"}
            else:
                options["line"] = {"none": True}
                options["marker"] = {
                    "type": "circle",
                    "size": 5,
                    "fill": {"color": series.colour},
                    "border": {"color": series.colour},
                }
            chart.add_series(options)
        chart.set_title({"name": plan.title})
        chart.set_x_axis(
            {
                "name": plan.x_title,
                "num_format": plan.x_num_format,
                "major_gridlines": {"visible": False},
            }
        )
        chart.set_y_axis({"name": plan.y_title, "num_format": plan.y_num_format})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": plan.width, "height": plan.height})
        sheet.insert_chart(plan.row, plan.col, chart)


class ThisRowFormula:
    """A table formula with ``[@Header]`` references, as plain A1 cells of a row."""

    _REFERENCE = re.compile(r"\[@(?:\[([^\]]+)\]|([^\[\]]+))\]")

    def __init__(self, formula: str, table: Table) -> None:
        letters = {
            column.header.casefold(): xl_col_to_name(table.left + offset)
            for offset, column in enumerate(table.columns)
        }
        self.parts: list[str] = []
        self.columns: list[str] = []
        position = 0
        for found in self._REFERENCE.finditer(formula):
            header = (found.group(1) or found.group(2)).strip()
            self.parts.append(formula[position : found.start()])
            self.columns.append(letters[header.casefold()])
            position = found.end()
        self.parts.append(formula[position:])

    def at(self, row: int) -> str:
        """The formula for the 0-based sheet ``row``."""
        cells = [f"{letter}{row + 1}" for letter in self.columns]
        pieces = [part + cell for part, cell in zip(self.parts, cells, strict=False)]
        return "".join(pieces) + self.parts[-1]


def _format_options(style: Style) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if style.bold:
        options["bold"] = True
    if style.italic:
        options["italic"] = True
    if style.size:
        options["font_size"] = style.size
    if style.font_colour:
        options["font_color"] = style.font_colour
    if style.fill:
        options["bg_color"] = style.fill
        options["pattern"] = 1
    if style.num_format:
        options["num_format"] = style.num_format
    if style.align:
        options["align"] = style.align
    if style.valign:
        options["valign"] = "vcenter" if style.valign == "center" else style.valign
    if style.wrap:
        options["text_wrap"] = True
    if style.border_colour:
        options["border"] = 1
        options["border_color"] = style.border_colour
    if style.indent:
        options["indent"] = style.indent
    if style.rotation:
        options["rotation"] = style.rotation
    return options


def _validation_options(validation: ListValidation) -> dict[str, Any]:
    options: dict[str, Any] = {"validate": "list"}
    if validation.choices is not None:
        options["source"] = validation.choices
    else:
        options["source"] = validation.source
    if validation.prompt:
        options["input_message"] = validation.prompt
    if not validation.strict:
        # "information" lets a person type a value that is not in the list (p80).
        options["error_type"] = "information"
    return options


def _page_setup(sheet: Worksheet, plan: SheetPlan) -> None:
    page = plan.page
    if page.landscape:
        sheet.set_landscape()
    if page.fit_width is not None or page.fit_height is not None:
        sheet.fit_to_pages(page.fit_width or 0, page.fit_height or 0)
    if page.repeat_rows:
        sheet.repeat_rows(*page.repeat_rows)
    if page.centre:
        sheet.center_horizontally()


def _check_text(values: Any, sheet: str, where: str) -> None:
    longest = max((len(value) for value in values if type(value) is str), default=0)
    if longest > MAX_CELL_TEXT:
        raise ExcelLimitError(
            f"A value in '{where}' on sheet '{sheet}' has {longest:,} characters; "
            f"an Excel cell holds at most {MAX_CELL_TEXT:,}.",
            hint="Shorten that value in the export.",
        )


def check_cells(sheet: str, block: Cells) -> None:
    """Refuse a block holding a text longer than an Excel cell takes."""
    for offset, row in enumerate(block.values):
        _check_text(row, sheet, xl_rowcol_to_cell(block.row + offset, block.col))


def clean_value(value: Any) -> Any:
    """NaN becomes an empty cell; Excel has no NaN."""
    return None if isinstance(value, float) and value != value else value


def no_nan(row: list[Any]) -> list[Any]:
    return [
        None if isinstance(value, float) and value != value else value for value in row
    ]
