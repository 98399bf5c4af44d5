"""The Matrix sheet: the 2x2 board with one sticky cell per account.

Revenue high is on top and health high on the right, as on the whiteboard:
INVEST | TIER 1 above RAMP | MAINTAIN. Each sticky is one cell ("name" and
"revenue" on two lines), so a block of cells pastes onto a whiteboard as notes.
"""

from __future__ import annotations

import math

import numpy as np

from xlapm.core.portfolio import Portfolio
from xlapm.core.settings import UNSCORED
from xlapm.layout import look
from xlapm.layout.plan import Cells, Merge, SheetPlan, Style

MATRIX = "Matrix"
_BOARD = (("invest", "tier1"), ("ramp", "maintain"))
_FIRST_ROW = 3
_STICKY_WIDTH = 22
_STICKY_HEIGHT = 32
_UNSCORED_SHOWN = 200
_STICKY_NAME = 80


def stickies_per_row(largest: int) -> int:
    """Sticky columns per quadrant: more columns as the portfolio grows.

    >>> stickies_per_row(12), stickies_per_row(5_000)
    (3, 10)
    """
    return min(10, max(3, math.ceil(math.sqrt(largest / 3))))


def plan_matrix_sheet(portfolio: Portfolio) -> SheetPlan:
    """The board, print-ready: landscape, one page wide."""
    settings = portfolio.settings
    largest = max(len(portfolio.members(key)) for key in settings.quadrants)
    width = stickies_per_row(largest)
    sheet = SheetPlan(name=MATRIX, gridlines=False, zoom=90)
    sheet.blocks.extend(_headline(portfolio, width))

    row = _FIRST_ROW
    for position, pair in enumerate(_BOARD):
        # Both blocks of a row get the same height, so the board stays square.
        sticky_rows = max(
            max(1, math.ceil(len(portfolio.members(key)) / width)) for key in pair
        )
        for side, key in enumerate(pair):
            left = 1 + side * (width + 1)
            sheet.blocks.extend(
                _quadrant_block(portfolio, key, row, left, width, sticky_rows)
            )
        sheet.blocks.append(_axis_label(position, row, sticky_rows + 2))
        row += sticky_rows + 3

    sheet.blocks.append(_health_axis(portfolio, row, width))
    row += 2
    sheet.blocks.extend(_unscored_block(portfolio, row, width))

    sheet.heights = {row: _STICKY_HEIGHT for row in _sticky_rows(sheet)}
    sheet.widths = {0: 6, width + 1: 2}
    sheet.widths.update({1 + col: _STICKY_WIDTH for col in range(width)})
    sheet.widths.update({width + 2 + col: _STICKY_WIDTH for col in range(width)})
    sheet.page.landscape = True
    sheet.page.fit_width = 1
    sheet.page.fit_height = 1 if row < 60 else 0
    sheet.page.centre = True
    return sheet


def _headline(portfolio: Portfolio, width: int) -> list:
    accounts = portfolio.accounts
    revenue, health = look.threshold_texts(portfolio)
    title = f"Account Prioritization Matrix — {len(accounts):,} accounts"
    axes = (
        f"Revenue: {accounts.revenue_column} ({revenue})   ·   "
        f"Health: {accounts.health_column} ({health})   ·   "
        "a value on a threshold counts as high"
    )
    last = 2 * width + 1
    return [
        Merge(0, 1, 0, last, title, look.TITLE),
        Merge(1, 1, 1, last, axes, look.SUBTITLE),
    ]


def _quadrant_block(
    portfolio: Portfolio, key: str, top: int, left: int, width: int, rows: int
) -> list:
    quadrant = portfolio.settings.quadrants[key]
    members = portfolio.members(key)
    symbol = look.currency_symbol(portfolio.settings)
    revenue = float(np.nansum(portfolio.accounts.revenue[members]))

    title_style = Style(
        bold=True,
        size=13,
        fill=quadrant.colour,
        font_colour=look.ink_on(quadrant.colour),
        align="center",
        valign="center",
    )
    summary_style = Style(
        italic=True, fill=look.tint(quadrant.colour, 0.7), align="center", wrap=True
    )
    sticky_style = Style(
        fill=look.tint(quadrant.colour, 0.82),
        wrap=True,
        valign="top",
        border_colour="#FFFFFF",
    )
    title = (
        f"{quadrant.name} · {len(members):,} accounts · "
        f"{look.compact_money(revenue, symbol)}"
    )
    last = left + width - 1
    blocks: list = [
        Merge(top, left, top, last, title, title_style),
        Merge(top + 1, left, top + 1, last, quadrant.summary, summary_style),
    ]
    notes = _sticky_texts(portfolio, members, symbol)
    grid = _grid(notes, width)
    grid += [[None] * width for _ in range(rows - len(grid))]
    blocks.append(Cells(top + 2, left, grid, sticky_style))
    return blocks


def _sticky_texts(portfolio: Portfolio, members: np.ndarray, symbol: str) -> list[str]:
    names = portfolio.accounts.names[members]
    revenue = portfolio.accounts.revenue[members]
    return [
        f"{_short(name)}\n{look.compact_money(amount, symbol)}"
        for name, amount in zip(names, revenue, strict=True)
    ]


def _short(name: str) -> str:
    # A sticky note shows a name, not an essay; the Accounts sheet keeps it whole.
    return name if len(name) <= _STICKY_NAME else name[: _STICKY_NAME - 1] + "…"


def _grid(notes: list[str], width: int) -> list[list[str | None]]:
    rows = []
    for start in range(0, len(notes), width):
        row: list[str | None] = list(notes[start : start + width])
        rows.append(row + [None] * (width - len(row)))
    return rows


def _axis_label(position: int, top: int, height: int) -> Merge:
    text = "HIGH REVENUE ↑" if position == 0 else "LOW REVENUE ↓"
    style = Style(
        bold=True,
        font_colour=look.MUTED,
        align="center",
        valign="center",
        fill=look.PAPER,
        rotation=90,
    )
    return Merge(top, 0, top + height - 1, 0, text, style)


def _health_axis(portfolio: Portfolio, row: int, width: int) -> Cells:
    style = Style(bold=True, font_colour=look.MUTED, align="center", fill=look.PAPER)
    health = portfolio.accounts.health_column
    left = [f"← LOW HEALTH ({health})"] + [None] * (width - 1)
    right = [f"HIGH HEALTH ({health}) →"] + [None] * (width - 1)
    return Cells(row, 1, [left + [None] + right], style)


def _unscored_block(portfolio: Portfolio, row: int, width: int) -> list:
    positions = portfolio.unscored()
    if positions.size == 0:
        return []
    style = Style(bold=True, fill=look.UNSCORED_COLOUR, font_colour="#FFFFFF")
    sticky = Style(fill=look.tint(look.UNSCORED_COLOUR, 0.8), wrap=True, valign="top")
    names = portfolio.accounts.names[positions[:_UNSCORED_SHOWN]]
    more = len(positions) - len(names)
    title = (
        f"{UNSCORED} · {len(positions):,} accounts with a missing or unreadable "
        "metric — see the Data Issues sheet"
    )
    notes = [_short(str(name)) for name in names]
    if more:
        notes.append(f"… and {more:,} more on the Accounts sheet")
    last = 2 * width + 1
    return [
        Merge(row, 1, row, last, title, style),
        Cells(row + 1, 1, _grid(notes, 2 * width + 1), sticky),
    ]


def _sticky_rows(sheet: SheetPlan) -> set[int]:
    rows: set[int] = set()
    for block in sheet.blocks:
        if isinstance(block, Cells) and block.style and block.style.wrap:
            rows.update(range(block.row, block.row + len(block.values)))
    return rows
