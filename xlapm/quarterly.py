"""The quarter-over-quarter sheets a build or rebuild adds to the standard ones.

With a CSM column: time allocation (Time Share and Hours on Accounts), a Team sheet
and one sheet per CSM. With a history of snapshots: Quarter History, and from two
quarters on, Movements and Alerts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from xlapm.core.alerts import Alert, find_alerts
from xlapm.core.allocation import allocate_time
from xlapm.core.history import merge_history, quarters, take_snapshot
from xlapm.core.movements import Movements, compare_quarters
from xlapm.core.portfolio import Portfolio
from xlapm.layout.plan import Column, SheetPlan
from xlapm.layout.quarterly_sheets import (
    allocation_columns,
    plan_alerts_sheet,
    plan_csm_sheets,
    plan_history_sheet,
    plan_movements_sheet,
    plan_team_sheet,
)


@dataclass
class QuarterlyAdditions:
    """Extra Accounts columns and sheets, and what the command line reports."""

    account_columns: list[Column] = field(default_factory=list)
    sheets: list[SheetPlan] = field(default_factory=list)
    history: pd.DataFrame | None = None
    movements: Movements | None = None
    alerts: list[Alert] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def quarterly_additions(
    portfolio: Portfolio,
    history: pd.DataFrame | None = None,
    *,
    quarter: str | None = None,
    compare: tuple[str | None, str | None] = (None, None),
    taken: Iterable[str] = (),
) -> QuarterlyAdditions:
    """What to add for ``portfolio``; ``quarter`` first snapshots it into ``history``.

    ``taken`` are sheet names a person already uses, which CSM sheets must avoid.
    """
    additions = QuarterlyAdditions()
    settings = portfolio.settings
    scale = portfolio.accounts.health_scale

    if portfolio.accounts.csm_column is not None:
        allocation = allocate_time(portfolio)
        additions.account_columns = allocation_columns(portfolio, allocation)
        additions.sheets.append(plan_team_sheet(portfolio, allocation))
        additions.sheets += plan_csm_sheets(portfolio, allocation, taken)

    if quarter is not None:
        history = merge_history(history, take_snapshot(portfolio, quarter))
    if history is None or history.empty:
        return additions

    additions.history = history
    if len(quarters(history)) >= 2:
        movements = compare_quarters(history, *compare, settings=settings)
        additions.movements = movements
        if movements.warning:
            additions.warnings.append(movements.warning)
        additions.alerts = find_alerts(history, settings, quarter=compare[1])
        additions.sheets.append(plan_movements_sheet(movements, settings, scale))
        additions.sheets.append(plan_alerts_sheet(additions.alerts, settings, scale))
    additions.sheets.append(plan_history_sheet(history, settings, scale))
    return additions
