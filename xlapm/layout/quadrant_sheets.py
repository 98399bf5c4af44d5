"""One sheet per quadrant: its playbook on top, its accounts below by revenue."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xlapm.core.portfolio import Portfolio
from xlapm.layout import look
from xlapm.layout.plan import Cells, Column, SheetPlan, Style, Table

# Where the accounts table starts: below the title, summary and activities.
_TABLE_GAP = 2


def plan_quadrant_sheet(
    portfolio: Portfolio, key: str, extra: Sequence[Column] = ()
) -> SheetPlan:
    """The sheet for quadrant ``key`` (``tier1``…), named after the quadrant."""
    quadrant = portfolio.settings.quadrants[key]
    members = portfolio.members(key)
    band = Style(
        bold=True,
        size=14,
        fill=quadrant.colour,
        font_colour=look.ink_on(quadrant.colour),
    )
    soft = Style(fill=look.tint(quadrant.colour, 0.85), wrap=True, valign="top")

    total = float(np.nansum(portfolio.accounts.revenue[members]))
    symbol = look.currency_symbol(portfolio.settings)
    header = (
        f"{quadrant.name} — {len(members):,} accounts — "
        f"{look.compact_money(total, symbol)} — {quadrant.approach.value}"
    )
    lines = [[header], [quadrant.summary], [f"Cadence: {quadrant.cadence}"]]
    lines += [[f"• {activity}"] for activity in quadrant.activities]
    blocks: list = [Cells(0, 0, lines[:1], band), Cells(1, 0, lines[1:], soft)]

    top = len(lines) + _TABLE_GAP - 1
    columns = account_columns(portfolio, members, quadrant.colour)
    columns.extend(_subset(column, members) for column in extra)
    blocks.append(
        Table(
            name=look.table_name(quadrant.name),
            top=top,
            left=0,
            columns=columns,
            style="Table Style Light 15",
        )
    )

    sheet = SheetPlan(name=quadrant.name, blocks=blocks, tab_colour=quadrant.colour)
    sheet.freeze = (top + 1, 1)
    sheet.widths = {0: 34}
    sheet.page.landscape = True
    sheet.page.fit_width = 1
    sheet.page.fit_height = 0
    sheet.page.repeat_rows = (top, top)
    return sheet


def account_columns(
    portfolio: Portfolio, members: np.ndarray, colour: str | None = None
) -> list[Column]:
    """Name, ID, CSM, segment, revenue and health of ``members``, in that order."""
    accounts = portfolio.accounts
    money = Style(num_format=look.money_format(portfolio.settings))
    health = Style(num_format=look.health_format(accounts.health_scale))
    columns = [Column("Account", accounts.names[members].tolist(), width=34)]
    if accounts.id_column and accounts.id_column != accounts.name_column:
        columns.append(Column("Account ID", _texts(accounts.ids, members), width=16))
    if accounts.csms is not None:
        columns.append(Column("CSM", _texts(accounts.csms, members), width=20))
    columns += [
        Column("Segment", portfolio.segments[members].tolist(), width=14),
        Column(accounts.revenue_column, _numbers(accounts.revenue, members), money, 16),
        Column(accounts.health_column, _numbers(accounts.health, members), health, 14),
    ]
    return columns


def _subset(column: Column, members: np.ndarray) -> Column:
    values = np.asarray(column.values, dtype=object)[members].tolist()
    return Column(column.header, values, column.style, column.width)


def _texts(values: np.ndarray | None, members: np.ndarray) -> list:
    if values is None:
        return [None] * len(members)
    return [None if value is None else str(value) for value in values[members]]


def _numbers(values: np.ndarray, members: np.ndarray) -> list:
    chosen = values[members]
    return np.where(np.isnan(chosen), None, chosen).tolist()
