"""Writing a large portfolio row by row, so memory stays flat.

XlsxWriter's ``constant_memory`` mode writes each row to disk as soon as the next
one starts: about half the time and a fraction of the memory of keeping every
cell until the end, which is what 130,000 accounts (some four million cells)
need. It asks for two things the plan does not promise, and this module supplies
both:

- cells in row order: every block of a sheet becomes a stream of row actions and
  the streams are merged by row;
- Excel Tables, which XlsxWriter refuses in this mode only because ``add_table``
  writes the header cells itself. The table is declared when its header row comes
  up, with the mode switched off for that call, and the headers are then written
  again as ordinary cells in the current row.

Small workbooks keep the plain renderer, whose output the golden tests pin down.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlapm.layout.plan import Cells, Formula, Merge, SheetPlan, Table
from xlapm.writers import xlsx

RowAction = tuple[int, int, Callable[[], None]]


class StreamingRenderer(xlsx.Renderer):
    """Renders each sheet's blocks in row order for ``constant_memory`` mode."""

    def blocks(self, sheet: Worksheet, plan: SheetPlan) -> None:
        order = count()
        streams: list[Iterator[RowAction]] = []
        for block in plan.blocks:
            if isinstance(block, Table):
                self.check_table(plan.name, block)
                streams.append(self._table_rows(sheet, block, order))
            elif isinstance(block, Cells):
                xlsx.check_cells(plan.name, block)
                streams.append(self._cell_rows(sheet, block, order))
            elif isinstance(block, Merge):
                streams.append(self._merge_rows(sheet, block, order))
            elif isinstance(block, Formula):
                streams.append(
                    iter([(block.row, next(order), self._formula(sheet, block))])
                )

        # Ties keep block order, so a later block overwrites an earlier one in the
        # same cell, as in the plain renderer.
        for _, _, action in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
            action()

    def _table_rows(
        self, sheet: Worksheet, table: Table, order: count
    ) -> Iterator[RowAction]:
        first = next(order)
        yield table.top, first, lambda: self._declare_table(sheet, table)

        formats = [self.format(column.style) for column in table.columns]
        formulas = [
            xlsx.ThisRowFormula(column.formula, table) if column.formula else None
            for column in table.columns
        ]
        values = [column.values for column in table.columns]
        for index in range(table.rows):
            row = table.top + 1 + index

            def write(row: int = row, index: int = index) -> None:
                for offset, cell_format in enumerate(formats):
                    value = values[offset][index]
                    formula = formulas[offset]
                    col = table.left + offset
                    if formula is not None:
                        cached = "" if value is None else value
                        sheet.write_formula(
                            row, col, formula.at(row), cell_format, cached
                        )
                    else:
                        sheet.write(row, col, xlsx.clean_value(value), cell_format)

            yield row, first, write
        self.progress.advance(table.rows)

    def _declare_table(self, sheet: Worksheet, table: Table) -> None:
        sheet.constant_memory = False
        try:
            self.add_table(sheet, table)
        finally:
            sheet.constant_memory = True
        # add_table stored its header cells as shared-string indices; write them
        # again as the text the constant_memory mode expects.
        for offset, column in enumerate(table.columns):
            sheet.write_string(table.top, table.left + offset, column.header)

    def _cell_rows(
        self, sheet: Worksheet, block: Cells, order: count
    ) -> Iterator[RowAction]:
        cell_format = self.format(block.style)
        position = next(order)
        for offset, values in enumerate(block.values):
            row = block.row + offset
            clean = [xlsx.clean_value(value) for value in values]

            def write(row: int = row, clean: list[Any] = clean) -> None:
                sheet.write_row(row, block.col, clean, cell_format)

            yield row, position, write

    def _merge_rows(
        self, sheet: Worksheet, block: Merge, order: count
    ) -> Iterator[RowAction]:
        cell_format = self.format(block.style)
        position = next(order)
        if block.first_row == block.last_row:
            yield block.first_row, position, lambda: self.merge(sheet, block)
            return

        def first() -> None:
            # merge_range would pad every row of the range at once, out of row
            # order; record the range and pad row by row instead.
            sheet.merge.append(
                [block.first_row, block.first_col, block.last_row, block.last_col]
            )
            sheet.write(block.first_row, block.first_col, block.value, cell_format)
            for col in range(block.first_col + 1, block.last_col + 1):
                sheet.write_blank(block.first_row, col, None, cell_format)

        yield block.first_row, position, first
        for row in range(block.first_row + 1, block.last_row + 1):

            def pad(row: int = row) -> None:
                for col in range(block.first_col, block.last_col + 1):
                    sheet.write_blank(row, col, None, cell_format)

            yield row, position, pad

    def _formula(self, sheet: Worksheet, block: Formula) -> Callable[[], None]:
        return lambda: sheet.write_formula(
            block.row, block.col, block.formula, self.format(block.style), block.cached
        )
