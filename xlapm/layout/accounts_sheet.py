"""The Accounts sheet: the export as an Excel Table plus Quadrant, Segment, Playbook."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xlapm.core.portfolio import Portfolio
from xlapm.core.settings import QUADRANT_KEYS, UNSCORED
from xlapm.layout import look
from xlapm.layout.plan import Column, SheetPlan, Style, Table, TextRule

ACCOUNTS = "Accounts"
ADDED = ("Quadrant", "Segment", "Playbook")


def plan_accounts_sheet(
    portfolio: Portfolio, extra: Sequence[Column] = ()
) -> SheetPlan:
    """The Accounts sheet: every input column kept, the matrix columns added."""
    accounts = portfolio.accounts
    columns = [_input_column(portfolio, header) for header in accounts.frame.columns]
    taken = {column.header.casefold() for column in columns}
    for header, values in zip(
        ADDED,
        (portfolio.quadrants, portfolio.segments, portfolio.playbooks),
        strict=True,
    ):
        name = header if header.casefold() not in taken else f"{header} (xlapm)"
        columns.append(Column(name, values.tolist(), width=_width(name, values)))
    columns.extend(extra)

    table = Table(name=ACCOUNTS, top=0, left=0, columns=columns)
    quadrant_col = len(accounts.frame.columns)
    sheet = SheetPlan(name=ACCOUNTS, blocks=[table], freeze=(1, 1))
    sheet.rules = quadrant_rules(portfolio, quadrant_col, 1, table.last_row)
    return sheet


def quadrant_rules(
    portfolio: Portfolio, col: int, first_row: int, last_row: int
) -> list[TextRule]:
    """Conditional formats that colour a Quadrant column by its text."""
    ref = _ref(col, first_row, last_row)
    rules = []
    for key in QUADRANT_KEYS:
        quadrant = portfolio.settings.quadrants[key]
        style = Style(fill=look.tint(quadrant.colour, 0.6), bold=True)
        rules.append(TextRule(ref=ref, text=quadrant.name, style=style))
    grey = Style(fill=look.tint(look.UNSCORED_COLOUR, 0.6), italic=True)
    rules.append(TextRule(ref=ref, text=UNSCORED, style=grey))
    return rules


def _input_column(portfolio: Portfolio, header: str) -> Column:
    accounts = portfolio.accounts
    values = accounts.frame[header].to_numpy(dtype=object)
    style = None
    if header == accounts.revenue_column:
        style = Style(num_format=look.money_format(portfolio.settings))
    elif header == accounts.health_column:
        style = Style(num_format=look.health_format(accounts.health_scale))
        values = _health_cells(values, accounts.health)
    return Column(
        str(header), values.tolist(), style=style, width=_width(header, values)
    )


def _health_cells(original: np.ndarray, health: np.ndarray) -> np.ndarray:
    # Show health in the scale it is scored in (45 on a percent column is 45%),
    # keeping any unreadable text as the person typed it.
    readable = ~np.isnan(health)
    return np.where(readable, health, original)


def _width(header: Any, values: np.ndarray) -> float:
    sample = values[:200]
    longest = max((len(str(value)) for value in sample if value is not None), default=0)
    return float(min(max(len(str(header)) + 4, longest + 2, 8), 48))


def _ref(col: int, first_row: int, last_row: int) -> str:
    from xlsxwriter.utility import xl_col_to_name

    letter = xl_col_to_name(col)
    return f"{letter}{first_row + 1}:{letter}{last_row + 1}"
