"""A writer-independent plan of the sheets xlapm owns.

The layout modules fill these dataclasses; the file writer (XlsxWriter) and the
live-workbook writer (xlwings) each render the same plan, so a workbook rebuilt on
Linux and one rebuilt from the ribbon look alike. Rows and columns are 0-based.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Align = Literal["left", "center", "right"]


@dataclass(frozen=True)
class Style:
    """How a cell looks; writers turn each distinct Style into one format once."""

    bold: bool = False
    italic: bool = False
    size: float | None = None
    font_colour: str | None = None
    fill: str | None = None
    num_format: str | None = None
    align: Align | None = None
    valign: Literal["top", "center", "bottom"] | None = None
    wrap: bool = False
    border_colour: str | None = None
    indent: int = 0
    rotation: int = 0


@dataclass
class Column:
    """One column of a table: its header, its values top to bottom, its look."""

    header: str
    values: Sequence[Any]
    style: Style | None = None
    width: float | None = None
    total: Literal["sum", "count", "average"] | None = None
    # A native formula for the whole column (an Excel Table calculated column);
    # ``values`` then hold its results as cached values, or None where unknown.
    formula: str | None = None


@dataclass
class Table:
    """An Excel Table (a ListObject) with a header row at ``top``."""

    name: str
    top: int
    left: int
    columns: list[Column]
    style: str = "Table Style Medium 2"
    autofilter: bool = True

    @property
    def rows(self) -> int:
        """How many data rows the table holds."""
        return len(self.columns[0].values) if self.columns else 0

    @property
    def last_row(self) -> int:
        """The 0-based row of the last data row (the header row when empty)."""
        return self.top + max(self.rows, 1)


@dataclass
class Cells:
    """A rectangle of values at (``row``, ``col``), row by row, in one style."""

    row: int
    col: int
    values: list[list[Any]]
    style: Style | None = None


@dataclass
class Merge:
    """A merged range holding one value, such as a quadrant's title."""

    first_row: int
    first_col: int
    last_row: int
    last_col: int
    value: Any
    style: Style | None = None


@dataclass
class Formula:
    """A native Excel formula (written as a formula, never from data)."""

    row: int
    col: int
    formula: str
    style: Style | None = None
    cached: Any = None


@dataclass
class TextRule:
    """Conditional format: colour cells in ``ref`` whose text equals ``text``."""

    ref: str
    text: str
    style: Style


@dataclass
class FormulaRule:
    """Conditional format: colour cells in ``ref`` where ``formula`` is true."""

    ref: str
    formula: str
    style: Style


@dataclass
class SeriesRef:
    """Where a chart series' points are: a column range on some sheet."""

    sheet: str
    col: int
    first_row: int
    last_row: int


@dataclass
class ScatterSeries:
    """One series of a scatter chart: points, or a line for a threshold."""

    name: str
    x: SeriesRef
    y: SeriesRef
    colour: str
    line: bool = False
    dash: bool = False


@dataclass
class ScatterChart:
    """A native scatter chart anchored at (``row``, ``col``)."""

    title: str
    x_title: str
    y_title: str
    series: list[ScatterSeries]
    row: int
    col: int
    width: int = 720
    height: int = 440
    x_num_format: str = "General"
    y_num_format: str = "General"


@dataclass
class ListValidation:
    """A dropdown in ``ref`` offering ``choices`` (or the range ``source``)."""

    ref: str
    choices: list[str] | None = None
    source: str | None = None
    prompt: str | None = None
    strict: bool = True


@dataclass
class DefinedName:
    """A workbook name such as ``RevenueThreshold`` pointing at one cell."""

    name: str
    refers_to: str
    comment: str | None = None


@dataclass
class PageSetup:
    """How a sheet prints."""

    landscape: bool = False
    fit_width: int | None = None
    fit_height: int | None = None
    repeat_rows: tuple[int, int] | None = None
    centre: bool = False


Block = Cells | Merge | Table | Formula


@dataclass
class SheetPlan:
    """Everything about one owned sheet."""

    name: str
    blocks: list[Block] = field(default_factory=list)
    widths: dict[int, float] = field(default_factory=dict)
    heights: dict[int, float] = field(default_factory=dict)
    column_styles: dict[int, Style] = field(default_factory=dict)
    tab_colour: str | None = None
    freeze: tuple[int, int] | None = None
    rules: list[TextRule | FormulaRule] = field(default_factory=list)
    charts: list[ScatterChart] = field(default_factory=list)
    validations: list[ListValidation] = field(default_factory=list)
    page: PageSetup = field(default_factory=PageSetup)
    gridlines: bool = True
    zoom: int = 100
    names: list[DefinedName] = field(default_factory=list)
    # Owned sheets are replaced by every rebuild; the rest (Settings) are created
    # once and belong to the person from then on.
    owned: bool = True

    def tables(self) -> list[Table]:
        """The Excel Tables on this sheet."""
        return [block for block in self.blocks if isinstance(block, Table)]


@dataclass
class WorkbookPlan:
    """The owned sheets in order; each sheet carries the workbook names it defines."""

    sheets: list[SheetPlan]
    title: str = "Account Prioritization Matrix"

    def names(self) -> list[DefinedName]:
        """Every workbook-level name the owned sheets define."""
        return [name for sheet in self.sheets for name in sheet.names]

    def sheet(self, name: str) -> SheetPlan:
        """The planned sheet called ``name``."""
        for sheet in self.sheets:
            if sheet.name == name:
                return sheet
        raise KeyError(name)
