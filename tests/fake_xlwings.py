"""A small recording fake of the xlwings objects the live writer and macros use.

Excel cannot run here, so the tests check what xlapm asks of it: every call that
would cross to Excel (one COM round trip each) is appended to ``Book.calls`` as a
tuple ``(kind, sheet, address, detail)``. Cells keep their values, so a workbook
written through the fake can be read back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell


class Api:
    """``.api``: records every attribute set and method called below it."""

    def __init__(self, book: Book, path: str) -> None:
        object.__setattr__(self, "_book", book)
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name: str) -> Api:
        return Api(self._book, f"{self._path}.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        self._book.calls.append(("api", None, f"{self._path}.{name}", value))

    def __call__(self, *args: Any, **kwargs: Any) -> Api:
        self._book.calls.append(("api", None, f"{self._path}()", (args, kwargs)))
        return Api(self._book, f"{self._path}()")

    def __getitem__(self, index: Any) -> Api:
        return Api(self._book, f"{self._path}[{index}]")


class Font:
    def __init__(self, target: Range) -> None:
        object.__setattr__(self, "_target", target)

    def __setattr__(self, name: str, value: Any) -> None:
        self._target.record("font", (name, value))


class ConditionalFormats:
    def __init__(self, target: Range) -> None:
        self.target = target

    def add_cell_value(self, operator: str, formula1: str, **look: Any) -> None:
        self.target.record("conditional", ("cell_value", operator, formula1, look))

    def add_custom(self, formula: str, **look: Any) -> None:
        self.target.record("conditional", ("custom", formula, look))


class DataValidation:
    def __init__(self, target: Range) -> None:
        self.target = target

    def set_list(self, source: Any) -> None:
        self.target.record("validation", list(source))


class Range:
    """A block of cells from ``first`` to ``last`` (1-based row, column)."""

    _FORMATS = (
        "number_format",
        "color",
        "wrap_text",
        "horizontal_alignment",
        "vertical_alignment",
        "column_width",
        "row_height",
    )

    def __init__(
        self, sheet: Sheet, first: tuple[int, int], last: tuple[int, int] | None = None
    ) -> None:
        object.__setattr__(self, "sheet", sheet)
        object.__setattr__(self, "first", first)
        object.__setattr__(self, "last", last or first)

    @property
    def address(self) -> str:
        first = xl_rowcol_to_cell(self.first[0] - 1, self.first[1] - 1)
        last = xl_rowcol_to_cell(self.last[0] - 1, self.last[1] - 1)
        return first if first == last else f"{first}:{last}"

    @property
    def shape(self) -> tuple[int, int]:
        return self.last[0] - self.first[0] + 1, self.last[1] - self.first[1] + 1

    @property
    def row(self) -> int:
        return self.first[0]

    @property
    def column(self) -> int:
        return self.first[1]

    @property
    def left(self) -> float:
        return 64.0 * (self.first[1] - 1)

    @property
    def top(self) -> float:
        return 15.0 * (self.first[0] - 1)

    @property
    def last_cell(self) -> Range:
        return Range(self.sheet, self.last)

    @property
    def font(self) -> Font:
        return Font(self)

    @property
    def conditional_formats(self) -> ConditionalFormats:
        return ConditionalFormats(self)

    @property
    def data_validation(self) -> DataValidation:
        return DataValidation(self)

    @property
    def api(self) -> Api:
        return Api(self.sheet.book, f"{self.sheet.name}!{self.address}")

    def record(self, kind: str, detail: Any) -> None:
        self.sheet.book.calls.append((kind, self.sheet.name, self.address, detail))

    def options(self, **options: Any) -> Range:
        return self

    def merge(self) -> None:
        self.record("merge", None)

    @property
    def value(self) -> Any:
        rows, cols = self.shape
        top, left = self.first
        cells = self.sheet.cells
        grid = [
            [cells.get((top + r, left + c)) for c in range(cols)] for r in range(rows)
        ]
        return grid[0][0] if (rows, cols) == (1, 1) else grid

    @value.setter
    def value(self, value: Any) -> None:
        self.record("value", value)
        rows = value if isinstance(value, list) else [[value]]
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                # Excel keeps a leading apostrophe as the cell's prefix, not text.
                if isinstance(cell, str) and cell.startswith("'"):
                    cell = cell[1:]
                self.sheet.cells[(self.first[0] + r, self.first[1] + c)] = cell

    @property
    def formula(self) -> Any:
        return self.sheet.formulas.get(self.first)

    @formula.setter
    def formula(self, formula: str) -> None:
        self.record("formula", formula)
        self.sheet.formulas[self.first] = formula

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._FORMATS:
            self.record("format", (name, value))
            return
        object.__setattr__(self, name, value)


class Name:
    def __init__(self, book: Book, name: str, refers_to: str) -> None:
        self.book = book
        self.name = name
        self.refers_to = refers_to

    @property
    def api(self) -> Api:
        return Api(self.book, f"Name({self.name})")

    @property
    def refers_to_range(self) -> Range:
        raise RuntimeError("the fake does not resolve names")


class Names:
    def __init__(self, book: Book, prefix: str = "") -> None:
        self.book = book
        self.prefix = prefix
        self.items: list[Name] = []

    def add(self, name: str, refers_to: str) -> Name:
        self.book.calls.append(("name", self.prefix or None, name, refers_to))
        full = f"{self.prefix}!{name}" if self.prefix else name
        self.items = [item for item in self.items if item.name != full]
        self.items.append(Name(self.book, full, refers_to))
        return self.items[-1]

    def __iter__(self) -> Iterator[Name]:
        return iter(list(self.items))


class Table:
    def __init__(self, sheet: Sheet, source: Range, name: str, style: str) -> None:
        self.sheet = sheet
        self.source = source
        self.name = name
        self.style = style

    @property
    def header_row_range(self) -> Range:
        return Range(
            self.sheet, self.source.first, (self.source.first[0], self.source.last[1])
        )

    @property
    def data_body_range(self) -> Range | None:
        if self.source.last[0] == self.source.first[0]:
            return None
        return Range(
            self.sheet,
            (self.source.first[0] + 1, self.source.first[1]),
            self.source.last,
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "show_autofilter":
            self.sheet.book.calls.append(
                ("table", self.sheet.name, self.name, (name, value))
            )
        object.__setattr__(self, name, value)


class Tables:
    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        self.items: list[Table] = []

    def add(self, source: Range, name: str, table_style_name: str) -> Table:
        self.sheet.book.calls.append(("table", self.sheet.name, source.address, name))
        self.items.append(Table(self.sheet, source, name, table_style_name))
        return self.items[-1]

    def __iter__(self) -> Iterator[Table]:
        return iter(self.items)


class Chart:
    def __init__(self, sheet: Sheet) -> None:
        object.__setattr__(self, "sheet", sheet)

    @property
    def api(self) -> tuple[Api, Api]:
        book = self.sheet.book
        return Api(book, "ChartObject"), Api(book, "Chart")

    def __setattr__(self, name: str, value: Any) -> None:
        self.sheet.book.calls.append(("chart", self.sheet.name, name, value))


class Charts:
    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet

    def add(self, left: float, top: float, width: float, height: float) -> Chart:
        self.sheet.book.calls.append(("chart", self.sheet.name, "add", (left, top)))
        return Chart(self.sheet)


class Sheet:
    def __init__(self, book: Book, name: str) -> None:
        object.__setattr__(self, "book", book)
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "cells", {})
        object.__setattr__(self, "formulas", {})
        object.__setattr__(self, "names", Names(book, name))
        object.__setattr__(self, "tables", Tables(self))
        object.__setattr__(self, "charts", Charts(self))

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self.book.calls.append(("rename", self._name, value, None))
        object.__setattr__(self, "_name", value)
        self.names.prefix = value

    def range(self, first: Any, last: Any = None) -> Range:
        if isinstance(first, str):
            return _range_of(self, first)
        return Range(self, first, last)

    @property
    def used_range(self) -> Range:
        if not self.cells:
            return Range(self, (1, 1))
        rows = [row for row, _ in self.cells]
        cols = [col for _, col in self.cells]
        return Range(self, (1, 1), (max(rows), max(cols)))

    @property
    def api(self) -> Api:
        return Api(self.book, f"Sheet({self.name})")

    def delete(self) -> None:
        self.book.calls.append(("delete", self.name, None, None))
        self.book.sheets.items.remove(self)

    def activate(self) -> None:
        self.book.calls.append(("activate", self.name, None, None))

    def mark_owned(self) -> Sheet:
        """Give the sheet xlapm's ownership mark, as a file build does."""
        self.names.items.append(
            Name(self.book, f"{self.name}!_xlapm_owned", '="xlapm"')
        )
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "show_gridlines":
            self.book.calls.append(("gridlines", self.name, None, value))
            return
        object.__setattr__(self, name, value)


def _range_of(sheet: Sheet, address: str) -> Range:
    from xlsxwriter.utility import xl_cell_to_rowcol

    first, _, last = address.replace("$", "").partition(":")
    row, col = xl_cell_to_rowcol(first)
    end = xl_cell_to_rowcol(last) if last else (row, col)
    return Range(sheet, (row + 1, col + 1), (end[0] + 1, end[1] + 1))


class Sheets:
    def __init__(self, book: Book) -> None:
        self.book = book
        self.items: list[Sheet] = []

    def __iter__(self) -> Iterator[Sheet]:
        return iter(list(self.items))

    def __getitem__(self, key: Any) -> Sheet:
        if isinstance(key, int):
            return self.items[key]
        return next(sheet for sheet in self.items if sheet.name.lower() == key.lower())

    def add(
        self, name: str | None = None, before: Any = None, after: Any = None
    ) -> Sheet:
        self.book.counter += 1
        sheet = Sheet(self.book, name or f"Sheet{self.book.counter}")
        self.book.calls.append(("add", sheet.name, None, None))
        if before is not None:
            self.items.insert(self.items.index(before), sheet)
        elif after is not None:
            self.items.insert(self.items.index(after) + 1, sheet)
        else:
            self.items.insert(0, sheet)
        return sheet

    def names(self) -> list[str]:
        return [sheet.name for sheet in self.items]


class App:
    def __init__(self, book: Book) -> None:
        object.__setattr__(self, "book", book)
        object.__setattr__(self, "screen_updating", True)
        object.__setattr__(self, "calculation", "automatic")
        object.__setattr__(self, "alerts", [])
        object.__setattr__(self, "status_bar", False)

    @property
    def books(self) -> Any:
        return type("Books", (), {"active": self.book})()

    @property
    def api(self) -> Api:
        return Api(self.book, "Application")

    def alert(
        self, prompt: str, title: str | None = None, mode: str | None = None
    ) -> str:
        self.alerts.append((title, prompt, mode))
        return "ok"


class Book:
    """A workbook open in the fake Excel."""

    def __init__(
        self, name: str = "Book1.xlsx", sheets: tuple[str, ...] = ("Sheet1",)
    ) -> None:
        self.name = name
        self.calls: list[tuple[str, str | None, Any, Any]] = []
        self.counter = 0
        self.sheets = Sheets(self)
        self.names = Names(self)
        self.app = App(self)
        self.selection: Range | None = None
        for sheet in sheets:
            self.sheets.items.append(Sheet(self, sheet))

    def of_kind(self, kind: str, sheet: str | None = None) -> list[tuple[Any, ...]]:
        """The calls of one kind, on one sheet when given."""
        return [
            c for c in self.calls if c[0] == kind and (sheet is None or c[1] == sheet)
        ]
