"""Alerts at the start of a quarter: the accounts a CSM should look at first.

Three rules, each comparing the current quarter of the history with earlier ones:

- **health drop**: an account that was MAINTAIN in the previous quarter and whose
  health fell by *more* than ``AlertSettings.health_drop`` (a fall of exactly that
  amount does not alert). Its playbook is to watch usage, so this is the signal.
- **slipped**: an account that was TIER 1 in the previous quarter and is now in
  another of the four quadrants (a lost account shows in Movements instead).
- **stalled**: an account that is INVEST in each of the last
  ``AlertSettings.invest_quarters`` snapshots, the current one included: the
  playbook to lift it into TIER 1 is not working.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd

from xlapm.core.history import (
    ACCOUNT,
    ACCOUNT_ID,
    CSM,
    HEALTH,
    HEALTH_THRESHOLD,
    QUADRANT,
    QUARTER,
    REVENUE,
    REVENUE_THRESHOLD,
    match_keys,
    quarters,
)
from xlapm.core.movements import FROM, PREVIOUS_HEALTH, TO, compare_quarters
from xlapm.core.settings import Settings
from xlapm.errors import InputError

# Health read back from sheets carries binary rounding (0.55 - 0.45 is
# 0.10000000000000003), so a fall within this of the limit counts as equal to it.
TOLERANCE = 1e-9


class AlertRule(str, Enum):
    """Which rule raised an alert."""

    HEALTH_DROP = "health drop"
    SLIPPED = "slipped"
    STALLED = "stalled"


RULE_ORDER = (AlertRule.SLIPPED, AlertRule.HEALTH_DROP, AlertRule.STALLED)


@dataclass(frozen=True)
class Alert:
    """One account one rule raised, with what the CSM needs to judge it."""

    rule: AlertRule
    quarter: str
    account_id: str | None
    account: str
    csm: str | None
    quadrant: str | None
    previous_quadrant: str | None
    revenue: float | None
    health: float | None
    previous_health: float | None
    detail: str


def rule_title(rule: AlertRule, settings: Settings) -> str:
    """The rule as the Alerts sheet names it: ``MAINTAIN health drop``…"""
    names = settings.quadrants
    titles = {
        AlertRule.HEALTH_DROP: f"{names['maintain'].name} health drop",
        AlertRule.SLIPPED: f"{names['tier1'].name} slipped",
        AlertRule.STALLED: f"{names['invest'].name} stalled",
    }
    return titles[rule]


def find_alerts(
    history: pd.DataFrame, settings: Settings | None = None, quarter: str | None = None
) -> list[Alert]:
    """Every alert for ``quarter`` (default: the latest quarter of ``history``).

    Thresholds come from ``settings.quarterly.alerts``; quadrant names from
    ``settings``. A history with one quarter has no alerts yet.

    Returns:
        The alerts, slipped first, then health drops, then stalled; within a rule,
        highest revenue first.

    Raises:
        InputError: ``quarter`` is not in the history.
    """
    settings = settings or Settings()
    held = quarters(history)
    if quarter is not None and quarter not in held:
        raise InputError(
            f"The history has no quarter {quarter}; it holds "
            f"{', '.join(held) or 'no quarters yet'}.",
            hint="Take a snapshot of that quarter first.",
        )
    current = quarter or (held[-1] if held else None)
    if current is None:
        return []

    upto = [held_quarter for held_quarter in held if held_quarter <= current]
    alerts = _stalled(history, upto, settings)
    if len(upto) >= 2:
        moved = compare_quarters(history, upto[-2], current, settings)
        alerts += _health_drops(moved.accounts, upto[-2], current, settings)
        moves = _threshold_moves(history, upto[-2], current)
        alerts += _slipped(moved.accounts, upto[-2], current, settings, moves)
    return sorted(alerts, key=_alert_order)


def _alert_order(alert: Alert) -> tuple[int, float]:
    revenue = alert.revenue if alert.revenue is not None else -np.inf
    return RULE_ORDER.index(alert.rule), -revenue


def _health_drops(
    accounts: pd.DataFrame, previous: str, current: str, settings: Settings
) -> list[Alert]:
    limit = settings.quarterly.alerts.health_drop
    maintain = settings.quadrants["maintain"].name
    fall = accounts[PREVIOUS_HEALTH] - accounts[HEALTH]
    raised = (accounts[FROM] == maintain) & (fall - limit > TOLERANCE)

    alerts = []
    for _, row in accounts[raised].iterrows():
        before, after = row[PREVIOUS_HEALTH], row[HEALTH]
        detail = (
            f"Was {maintain} in {previous}; health fell from {_health_text(before)} "
            f"to {_health_text(after)}, by more than {_health_text(limit, True)}."
        )
        alerts.append(_alert(AlertRule.HEALTH_DROP, current, row, detail))
    return alerts


def _slipped(
    accounts: pd.DataFrame,
    previous: str,
    current: str,
    settings: Settings,
    threshold_moves: str = "",
) -> list[Alert]:
    tier1 = settings.quadrants["tier1"].name
    others = [name for name in settings.quadrant_names() if name != tier1]
    raised = (accounts[FROM] == tier1) & accounts[TO].isin(others)

    alerts = []
    for _, row in accounts[raised].iterrows():
        detail = f"Was {tier1} in {previous}; now {row[TO]}.{threshold_moves}"
        alerts.append(_alert(AlertRule.SLIPPED, current, row, detail))
    return alerts


def _threshold_moves(history: pd.DataFrame, previous: str, current: str) -> str:
    """`` The revenue threshold moved from 204,800 to 231,400.`` or ''.

    With a median or percentile rule an account can slip because the bar rose,
    not because it changed; the alert says so.
    """
    moves = []
    for column, label in ((REVENUE_THRESHOLD, "revenue"), (HEALTH_THRESHOLD, "health")):
        by_quarter = history.groupby(QUARTER)[column].first()
        before, after = by_quarter.get(previous), by_quarter.get(current)
        if _number(before) is None or _number(after) is None:
            continue
        if abs(float(after) - float(before)) > TOLERANCE:
            moves.append(
                f" The {label} threshold moved from {_plain(before)} to "
                f"{_plain(after)}."
            )
    return "".join(moves)


def _plain(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return f"{number:,.0f}" if abs(number) >= 100 else f"{number:,.4g}"


def _stalled(history: pd.DataFrame, upto: list[str], settings: Settings) -> list[Alert]:
    needed = settings.quarterly.alerts.invest_quarters
    if len(upto) < needed:
        return []
    window = upto[-needed:]
    invest = settings.quadrants["invest"].name
    keys, _ = match_keys(history, window)
    rows = history.loc[keys.index].assign(_key=keys)

    in_invest = rows[rows[QUADRANT].str.casefold() == invest.casefold()]
    streak = in_invest.groupby("_key")[QUARTER].nunique()
    stalled = set(streak[streak == len(window)].index)
    current = rows[(rows[QUARTER] == window[-1]) & rows["_key"].isin(stalled)]

    detail = (
        f"{invest} in each of the last {needed} quarters ({window[0]}–{window[-1]})."
    )
    alerts = []
    for _, row in current.iterrows():
        alerts.append(
            Alert(
                rule=AlertRule.STALLED,
                quarter=window[-1],
                account_id=row[ACCOUNT_ID],
                account=row[ACCOUNT],
                csm=row[CSM],
                quadrant=row[QUADRANT],
                previous_quadrant=invest,
                revenue=_number(row[REVENUE]),
                health=_number(row[HEALTH]),
                previous_health=None,
                detail=detail,
            )
        )
    return alerts


def _alert(rule: AlertRule, quarter: str, row: pd.Series, detail: str) -> Alert:
    return Alert(
        rule=rule,
        quarter=quarter,
        account_id=row[ACCOUNT_ID],
        account=row[ACCOUNT],
        csm=row[CSM],
        quadrant=row[TO],
        previous_quadrant=row[FROM],
        revenue=_number(row[REVENUE]),
        health=_number(row[HEALTH]),
        previous_health=_number(row[PREVIOUS_HEALTH]),
        detail=detail,
    )


def _number(value: object) -> float | None:
    if value is None or value != value:
        return None
    return float(value)  # type: ignore[arg-type]


def _health_text(value: float, points: bool = False) -> str:
    # History keeps health as scored: adoption rates as fractions, scores as they
    # are. A value within 0–1 reads best as a percentage.
    if 0 <= abs(value) <= 1:
        return f"{value * 100:.3g} points" if points else f"{value:.0%}"
    return f"{value:,.4g}"
