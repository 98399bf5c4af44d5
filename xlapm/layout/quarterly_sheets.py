"""The quarterly sheets: history, movements, alerts, one sheet per CSM, the team.

Plans only, no I/O. The history sheet is a bare Excel Table from A1 so that any
workbook's history reads back with ``read_history(sheet values)``; it is called
"Quarter History" because Excel reserves the name "History".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_range, xl_rowcol_to_cell

from xlapm.core.alerts import Alert, AlertRule, rule_title
from xlapm.core.allocation import OVER_CAP, UNASSIGNED, Allocation
from xlapm.core.history import HISTORY_COLUMNS, NUMBER_COLUMNS
from xlapm.core.movements import (
    ARROWS,
    DIRECTION,
    DOWN,
    LOST,
    LOST_LABEL,
    MOVE,
    MOVEMENT_COLUMNS,
    NEW,
    NEW_LABEL,
    PREVIOUS_HEALTH,
    PREVIOUS_REVENUE,
    SAME,
    SIDEWAYS,
    UNSCORED_MOVE,
    UP,
    Movements,
    direction,
)
from xlapm.core.portfolio import Portfolio
from xlapm.core.settings import QUADRANT_KEYS, UNSCORED, HealthScale, Settings
from xlapm.layout import look
from xlapm.layout.accounts_sheet import ACCOUNTS
from xlapm.layout.matrix_sheet import MATRIX
from xlapm.layout.plan import (
    Cells,
    Column,
    FormulaRule,
    Merge,
    SheetPlan,
    Style,
    Table,
    TextRule,
)
from xlapm.layout.reference_sheets import DATA_ISSUES, PLAYBOOKS
from xlapm.layout.settings_sheet import SETTINGS
from xlapm.layout.summary_sheet import SUMMARY
from xlapm.package.limits import make_sheet_names

HISTORY_SHEET = "Quarter History"
MOVEMENTS_SHEET = "Movements"
ALERTS_SHEET = "Alerts"
TEAM_SHEET = "Team"
TIME_SHARE = "Time Share"
HOURS = "Hours"

HOURS_FORMAT = "#,##0.0"
UP_COLOUR = "#2E7D32"
DOWN_COLOUR = "#C62828"
SIDEWAYS_COLOUR = "#F9A825"
SHARE_STYLE = Style(num_format=look.SHARE)
HOURS_STYLE = Style(num_format=HOURS_FORMAT)
COUNT_STYLE = Style(num_format=look.COUNT)
# One line of small print, never wrapped into a narrow first column.
LINE_NOTE = Style(font_colour=look.MUTED)
WARNING = Style(fill="#FFF4E5", font_colour="#8A4B00", wrap=True, valign="top")

# The fill a move's cell gets: how the Movements sheet shows up and down at a glance.
_MOVE_FILLS = {
    UP: look.tint(UP_COLOUR, 0.7),
    DOWN: look.tint(DOWN_COLOUR, 0.7),
    SIDEWAYS: look.tint(SIDEWAYS_COLOUR, 0.7),
    UNSCORED_MOVE: look.tint(look.UNSCORED_COLOUR, 0.7),
    NEW: look.tint("#1565C0", 0.75),
    LOST: look.tint(look.UNSCORED_COLOUR, 0.5),
}
_ALERT_FILLS = {
    AlertRule.SLIPPED: look.tint(DOWN_COLOUR, 0.6),
    AlertRule.HEALTH_DROP: look.tint("#EF6C00", 0.6),
    AlertRule.STALLED: look.tint(SIDEWAYS_COLOUR, 0.6),
}
_BOARD_ROWS = 3
_BOARD = (("High revenue", ("invest", "tier1")), ("Low revenue", ("ramp", "maintain")))


# -- History ---------------------------------------------------------------------


def plan_history_sheet(
    history: pd.DataFrame,
    settings: Settings | None = None,
    health_scale: HealthScale = HealthScale.FRACTION,
) -> SheetPlan:
    """Every snapshot taken, one row per account per quarter, from cell A1.

    Args:
        history: as ``merge_history`` returns it.
        settings: for the currency format and quadrant colours.
        health_scale: how health was scored, for its number format.
    """
    settings = settings or Settings()
    money = Style(num_format=look.money_format(settings))
    health = Style(num_format=look.health_format(health_scale))
    styles = {"Revenue": money, "Revenue threshold": money}
    styles.update({"Health": health, "Health threshold": health})
    widths = {"Account": 34, "Quadrant": 14, "Segment": 14, "CSM": 20}

    columns = [
        Column(
            header,
            _cells(history[header], header in NUMBER_COLUMNS),
            styles.get(header),
            widths.get(header, 14),
        )
        for header in HISTORY_COLUMNS
    ]
    table = Table(name="QuarterHistory", top=0, left=0, columns=columns)
    sheet = SheetPlan(name=HISTORY_SHEET, blocks=[table], freeze=(1, 3))
    quadrant_col = HISTORY_COLUMNS.index("Quadrant")
    sheet.rules = _quadrant_rules(settings, _column_ref(table, quadrant_col))
    return sheet


# -- Movements -------------------------------------------------------------------


def plan_movements_sheet(
    movements: Movements,
    settings: Settings | None = None,
    health_scale: HealthScale = HealthScale.FRACTION,
) -> SheetPlan:
    """The from→to matrix (accounts, then revenue) and every account that moved.

    Up moves are green, down red, sideways amber, new blue and lost grey, in the
    matrices and in the Move column.
    """
    settings = settings or Settings()
    title = f"Movements {movements.previous_quarter} → {movements.current_quarter}"
    ranks = (
        "Rank: {ramp} < {maintain} = {invest} < {tier1}; a move to a higher rank is "
        "up, to a lower one down, between {maintain} and {invest} sideways."
    ).format(**{key: settings.quadrants[key].name for key in QUADRANT_KEYS})
    sheet = SheetPlan(name=MOVEMENTS_SHEET, gridlines=False)
    sheet.blocks += [
        Cells(0, 0, [[title]], look.TITLE),
        Cells(1, 0, [[movements.describe()]], look.SUBTITLE),
        Cells(2, 0, [[ranks]], LINE_NOTE),
    ]
    top = 4
    if movements.warning:
        sheet.blocks.append(Merge(3, 0, 3, 7, movements.warning, WARNING))
        sheet.heights[3] = 30
        top = 5

    counts = _matrix_table("MoveCounts", movements.counts, look.COUNT, top + 1)
    revenue_top = counts.last_row + 3
    money = look.money_format(settings)
    revenue = _matrix_table("MoveRevenue", movements.revenue, money, revenue_top)
    sheet.blocks += [
        Cells(top, 0, [["Accounts, from (rows) to (columns)"]], look.HEADING),
        counts,
        Cells(
            revenue_top - 1, 0, [["Revenue, from (rows) to (columns)"]], look.HEADING
        ),
        revenue,
    ]
    for table in (counts, revenue):
        sheet.rules += _matrix_rules(table, movements, settings)

    moved = movements.accounts[movements.accounts[DIRECTION] != SAME]
    list_top = revenue.last_row + 3
    moves = _moves_table(moved, settings, health_scale, list_top)
    sheet.blocks += [
        Cells(list_top - 1, 0, [["Accounts that moved"]], look.HEADING),
        moves,
    ]
    sheet.rules += _move_rules(_column_ref(moves, MOVEMENT_COLUMNS.index(MOVE)))
    sheet.widths = {0: 18}
    sheet.freeze = (3, 1)
    sheet.page.landscape = True
    sheet.page.fit_width = 1
    sheet.page.fit_height = 0
    return sheet


def _matrix_table(
    name: str, matrix: pd.DataFrame, number_format: str, top: int
) -> Table:
    style = Style(num_format=number_format)
    columns = [Column("From \\ To", [str(label) for label in matrix.index], look.LABEL)]
    for label in matrix.columns:
        values = [_plain(value) for value in matrix[label]]
        columns.append(Column(str(label), values, style, 13))
    totals = [_plain(value) for value in matrix.sum(axis=1)]
    columns.append(Column("Total", totals, Style(bold=True, num_format=number_format)))
    return Table(
        name=name,
        top=top,
        left=0,
        columns=columns,
        style="Table Style Light 1",
        autofilter=False,
    )


def _matrix_rules(
    table: Table, movements: Movements, settings: Settings
) -> list[FormulaRule]:
    # One rule per cell: the cell is coloured by its move only when accounts made it.
    rules = []
    for row, start in enumerate(movements.counts.index):
        for col, end in enumerate(movements.counts.columns):
            way = _cell_direction(str(start), str(end), settings)
            if way not in _MOVE_FILLS:
                continue
            cell = xl_rowcol_to_cell(table.top + 1 + row, table.left + 1 + col)
            style = Style(fill=_MOVE_FILLS[way])
            rules.append(FormulaRule(cell, f"={cell}<>0", style))
    return rules


def _cell_direction(start: str, end: str, settings: Settings) -> str:
    if start == NEW_LABEL:
        return NEW
    if end == LOST_LABEL:
        return LOST
    return direction(start, end, settings)


def _moves_table(
    moved: pd.DataFrame, settings: Settings, health_scale: HealthScale, top: int
) -> Table:
    money = Style(num_format=look.money_format(settings))
    health = Style(num_format=look.health_format(health_scale))
    styles = {"Revenue": money, PREVIOUS_REVENUE: money}
    styles.update({"Health": health, PREVIOUS_HEALTH: health})
    widths = {"Account": 34, MOVE: 30, "CSM": 20}
    numbers = {"Revenue", PREVIOUS_REVENUE, "Health", PREVIOUS_HEALTH}
    columns = [
        Column(
            header,
            _cells(moved[header], header in numbers),
            styles.get(header),
            widths.get(header, 14),
        )
        for header in MOVEMENT_COLUMNS
    ]
    return Table(name="Moves", top=top, left=0, columns=columns)


def _move_rules(ref: str) -> list[FormulaRule]:
    first = ref.split(":")[0]
    marks = [(ARROWS[way], way) for way in (UP, DOWN, SIDEWAYS, UNSCORED_MOVE)]
    rules = [
        FormulaRule(ref, f'=LEFT({first},1)="{mark}"', Style(fill=_MOVE_FILLS[way]))
        for mark, way in marks
    ]
    rules.append(
        FormulaRule(ref, f'={first}="{NEW_LABEL}"', Style(fill=_MOVE_FILLS[NEW]))
    )
    lost = Style(fill=_MOVE_FILLS[LOST], italic=True)
    rules.append(FormulaRule(ref, f'={first}="{LOST_LABEL}"', lost))
    return rules


# -- Alerts ----------------------------------------------------------------------


ALERT_HEADERS = (
    "Alert",
    "Account",
    "Account ID",
    "CSM",
    "Quadrant",
    "Previous quadrant",
    "Revenue",
    "Health",
    "Previous health",
    "Detail",
)


def plan_alerts_sheet(
    alerts: Sequence[Alert],
    settings: Settings | None = None,
    health_scale: HealthScale = HealthScale.FRACTION,
    quarter: str | None = None,
) -> SheetPlan:
    """The accounts to look at first this quarter, with the rules that raised them."""
    settings = settings or Settings()
    quarter = quarter or (alerts[0].quarter if alerts else "")
    title = f"Alerts {quarter}".strip()
    count = f"{len(alerts):,} alert{'s' if len(alerts) != 1 else ''}"
    sheet = SheetPlan(name=ALERTS_SHEET, gridlines=False)
    sheet.blocks += [
        Cells(0, 0, [[title]], look.TITLE),
        Cells(1, 0, [[count]], look.SUBTITLE),
        Cells(2, 0, _rule_lines(settings, health_scale), LINE_NOTE),
    ]

    table = _alerts_table(alerts, settings, health_scale, top=6)
    sheet.blocks.append(table)
    alert_ref = _column_ref(table, 0)
    sheet.rules += [
        TextRule(alert_ref, rule_title(rule, settings), Style(fill=fill, bold=True))
        for rule, fill in _ALERT_FILLS.items()
    ]
    sheet.rules += _quadrant_rules(settings, _column_ref(table, 4))
    sheet.freeze = (7, 2)
    sheet.page.landscape = True
    sheet.page.fit_width = 1
    sheet.page.fit_height = 0
    return sheet


def _rule_lines(settings: Settings, health_scale: HealthScale) -> list[list[str]]:
    alerts = settings.quarterly.alerts
    names = {key: settings.quadrants[key].name for key in QUADRANT_KEYS}
    if health_scale in (HealthScale.FRACTION, HealthScale.PERCENT):
        drop = f"{alerts.health_drop * 100:g} points"
    else:
        drop = f"{alerts.health_drop:g}"
    return [
        [
            f"{rule_title(AlertRule.SLIPPED, settings)}: was {names['tier1']} last "
            "quarter, now in another quadrant."
        ],
        [
            f"{rule_title(AlertRule.HEALTH_DROP, settings)}: was {names['maintain']} "
            f"last quarter and health fell by more than {drop}."
        ],
        [
            f"{rule_title(AlertRule.STALLED, settings)}: {names['invest']} in each of "
            f"the last {alerts.invest_quarters} quarters."
        ],
    ]


def _alerts_table(
    alerts: Sequence[Alert], settings: Settings, health_scale: HealthScale, top: int
) -> Table:
    money = Style(num_format=look.money_format(settings))
    health = Style(num_format=look.health_format(health_scale))
    values: list[list[Any]] = [
        [
            rule_title(alert.rule, settings),
            alert.account,
            alert.account_id,
            alert.csm,
            alert.quadrant,
            alert.previous_quadrant,
            alert.revenue,
            alert.health,
            alert.previous_health,
            alert.detail,
        ]
        for alert in alerts
    ]
    styles = [None, None, None, None, None, None, money, health, health, None]
    widths = [22, 34, 14, 20, 14, 16, 16, 12, 14, 80]
    columns = [
        Column(header, [row[index] for row in values], styles[index], widths[index])
        for index, header in enumerate(ALERT_HEADERS)
    ]
    return Table(
        name="Alerts", top=top, left=0, columns=columns, style="Table Style Light 10"
    )


# -- Time allocation ---------------------------------------------------------------


def allocation_columns(portfolio: Portfolio, allocation: Allocation) -> list[Column]:
    """Time Share (a fraction, shown as %) and Hours for every account, in order.

    Pass them to ``plan_workbook(..., account_extras=...)``; a header the export
    already uses gets `` (xlapm)`` added.
    """
    taken = {str(header).casefold() for header in portfolio.accounts.frame.columns}
    taken |= {"quadrant", "segment", "playbook"}

    def header(name: str) -> str:
        return f"{name} (xlapm)" if name.casefold() in taken else name

    return [
        Column(header(TIME_SHARE), allocation.share.tolist(), SHARE_STYLE, 12),
        Column(header(HOURS), allocation.hours.tolist(), HOURS_STYLE, 10),
    ]


def plan_csm_sheets(
    portfolio: Portfolio, allocation: Allocation, taken: Iterable[str] = ()
) -> list[SheetPlan]:
    """One sheet per CSM (Unassigned last): their 2×2, their time, their accounts.

    Sheet names are the CSM names made valid and unique by ``make_sheet_names``,
    also against xlapm's other sheets and the names in ``taken`` (the sheets a
    person has in the workbook).
    """
    csms = allocation.csm_names()
    reserved = [*standard_sheet_names(portfolio.settings), *taken]
    names = make_sheet_names(csms, taken=reserved)
    tables = _unique_table_names([f"CSM_{name}" for name in names])
    return [
        _csm_sheet(portfolio, allocation, csm, name, table)
        for csm, name, table in zip(csms, names, tables, strict=True)
    ]


def standard_sheet_names(settings: Settings) -> list[str]:
    """The names of the other sheets xlapm writes, which a CSM sheet must avoid."""
    return [
        MATRIX,
        SUMMARY,
        *settings.quadrant_names(),
        ACCOUNTS,
        PLAYBOOKS,
        SETTINGS,
        DATA_ISSUES,
        HISTORY_SHEET,
        MOVEMENTS_SHEET,
        ALERTS_SHEET,
        TEAM_SHEET,
    ]


def _unique_table_names(wanted: list[str]) -> list[str]:
    # Excel compares table names ignoring case, and cleaning can merge two names.
    used: set[str] = set()
    names = []
    for text in wanted:
        base = look.table_name(text)
        name, counter = base, 2
        while name.casefold() in used:
            name, counter = f"{base}_{counter}", counter + 1
        used.add(name.casefold())
        names.append(name)
    return names


def _csm_sheet(
    portfolio: Portfolio, allocation: Allocation, csm: str, name: str, table: str
) -> SheetPlan:
    members = allocation.members(csm)
    capacity = allocation.capacity[csm]
    title = f"{csm} — {_accounts(len(members))} — {capacity:,.0f} h this quarter"
    explain = (
        "Time Share = an account's effort weight (quadrant × segment) ÷ the sum of "
        f"the weights of these accounts; Hours = Time Share × {capacity:,.0f} h."
    )
    sheet = SheetPlan(name=name, gridlines=False)
    sheet.blocks += [
        Cells(0, 0, [[title]], look.TITLE),
        Cells(1, 0, [[explain]], look.SUBTITLE),
    ]
    sheet.blocks += _board(portfolio, allocation, csm, top=3)
    time_table = _time_table(portfolio, allocation, csm, f"{table}_Time", top=3)
    sheet.blocks.append(time_table)

    note_row = max(time_table.last_row, 3 + 2 * _BOARD_ROWS) + 1
    note = _over_cap_note(portfolio, allocation, members, note_row)
    if note:
        sheet.blocks += note
        sheet.heights[note_row] = 30
    accounts = _csm_accounts_table(
        portfolio, allocation, members, f"{table}_Accounts", note_row + 2
    )
    sheet.blocks.append(accounts)
    sheet.rules += _quadrant_rules(portfolio.settings, _column_ref(accounts, 0))
    sheet.rules += _quadrant_rules(portfolio.settings, _column_ref(time_table, 0))
    plan_ref = _column_ref(accounts, len(accounts.columns) - 1)
    over = Style(fill=look.tint(SIDEWAYS_COLOUR, 0.6), bold=True)
    sheet.rules.append(TextRule(plan_ref, OVER_CAP, over))

    sheet.widths = {0: 16, 1: 34, 2: 20, 9: 46}
    sheet.freeze = (accounts.top + 1, 2)
    sheet.page.landscape = True
    sheet.page.fit_width = 1
    sheet.page.fit_height = 0
    sheet.page.repeat_rows = (accounts.top, accounts.top)
    return sheet


def _board(
    portfolio: Portfolio, allocation: Allocation, csm: str, top: int
) -> list[Cells | Merge]:
    # Revenue high on top, health high on the right, as on the Matrix sheet. Each
    # quadrant is a merged block of _BOARD_ROWS plain rows, so the time table
    # beside it keeps ordinary row heights.
    settings = portfolio.settings
    times = {time.quadrant: time for time in allocation.time_by_quadrant(csm)}
    symbol = look.currency_symbol(settings)
    blocks: list[Cells | Merge] = [
        Cells(top, 1, [["Low health", "High health"]], look.LABEL)
    ]
    for offset, (label, pair) in enumerate(_BOARD):
        first = top + 1 + offset * _BOARD_ROWS
        last = first + _BOARD_ROWS - 1
        side_label = Style(bold=True, valign="center")
        blocks.append(Merge(first, 0, last, 0, label, side_label))
        for side, key in enumerate(pair):
            quadrant = settings.quadrants[key]
            time = times[quadrant.name]
            text = (
                f"{quadrant.name} · {_accounts(time.accounts)}\n"
                f"{look.compact_money(time.revenue, symbol)}\n"
                f"{time.share:.0%} of your time"
            )
            style = Style(
                bold=True,
                fill=quadrant.colour,
                font_colour=look.ink_on(quadrant.colour),
                wrap=True,
                align="center",
                valign="center",
                border_colour="#FFFFFF",
            )
            blocks.append(Merge(first, 1 + side, last, 1 + side, text, style))
    return blocks


def _time_table(
    portfolio: Portfolio, allocation: Allocation, csm: str, name: str, top: int
) -> Table:
    times = allocation.time_by_quadrant(csm)
    money = look.money_format(portfolio.settings)
    columns = [
        Column("Quadrant", [time.quadrant for time in times]),
        Column("Accounts", [time.accounts for time in times], COUNT_STYLE),
        Column("Revenue", [time.revenue for time in times], Style(num_format=money)),
        Column(TIME_SHARE, [time.share for time in times], SHARE_STYLE),
        Column(HOURS, [time.hours for time in times], HOURS_STYLE),
        Column("In words", [time.sentence() for time in times]),
    ]
    return Table(
        name=name,
        top=top,
        left=4,
        columns=columns,
        style="Table Style Light 9",
        autofilter=False,
    )


def _over_cap_note(
    portfolio: Portfolio, allocation: Allocation, members: np.ndarray, row: int
) -> list[Merge]:
    over = members[allocation.over_cap[members]]
    if over.size == 0:
        return []
    cap = allocation.settings.max_one_to_one
    names = ", ".join(str(name) for name in portfolio.accounts.names[over])
    text = (
        f"{_accounts(over.size, 'one-to-one ')} over the cap of {cap}, planned "
        f"one-to-many (lowest revenue first): {names}."
    )
    return [Merge(row, 0, row, 8, text, WARNING)]


def _csm_accounts_table(
    portfolio: Portfolio,
    allocation: Allocation,
    members: np.ndarray,
    name: str,
    top: int,
) -> Table:
    accounts = portfolio.accounts
    money = Style(num_format=look.money_format(portfolio.settings))
    health = Style(num_format=look.health_format(accounts.health_scale))
    # Lean on purpose: a CSM sheet repeats accounts already on Accounts, and a
    # large portfolio pays for every column (ID and segment are a filter away).
    columns = [
        Column("Quadrant", portfolio.quadrants[members].tolist(), width=16),
        Column("Account", accounts.names[members].tolist(), width=34),
        Column(accounts.revenue_column, _numbers(accounts.revenue[members]), money, 16),
        Column(accounts.health_column, _numbers(accounts.health[members]), health, 12),
        Column(TIME_SHARE, allocation.share[members].tolist(), SHARE_STYLE, 12),
        Column(HOURS, allocation.hours[members].tolist(), HOURS_STYLE, 10),
        Column("Plan", allocation.plans()[members].tolist(), width=36),
    ]
    _distinct_headers(columns)
    return Table(
        name=name, top=top, left=0, columns=columns, style="Table Style Light 15"
    )


# -- Team ------------------------------------------------------------------------


def plan_team_sheet(portfolio: Portfolio, allocation: Allocation) -> SheetPlan:
    """Accounts and revenue per CSM per quadrant, with each CSM's hours."""
    settings = portfolio.settings
    csms = allocation.csm_names()
    sheet = SheetPlan(name=TEAM_SHEET, gridlines=False)
    subtitle = (
        f"{len(csms):,} CSMs"
        if UNASSIGNED not in csms
        else f"{len(csms) - 1:,} CSMs and the accounts nobody owns yet ({UNASSIGNED})"
    )
    sheet.blocks += [
        Cells(0, 0, [["Team"]], look.TITLE),
        Cells(1, 0, [[subtitle]], look.SUBTITLE),
    ]

    table = _team_table(portfolio, allocation, csms, top=4)
    sheet.blocks.append(table)
    for index, key in enumerate(QUADRANT_KEYS):
        quadrant = settings.quadrants[key]
        band = Style(
            bold=True,
            fill=quadrant.colour,
            font_colour=look.ink_on(quadrant.colour),
            align="center",
        )
        left = 2 + 2 * index
        sheet.blocks.append(Merge(3, left, 3, left + 1, quadrant.name, band))
    sheet.widths = {0: 22, 1: 12}
    sheet.freeze = (5, 1)
    sheet.page.landscape = True
    sheet.page.fit_width = 1
    sheet.page.fit_height = 0
    return sheet


def _team_table(
    portfolio: Portfolio, allocation: Allocation, csms: list[str], top: int
) -> Table:
    money = Style(num_format=look.money_format(portfolio.settings))
    revenue = np.nan_to_num(portfolio.accounts.revenue)
    capacity = [allocation.capacity[csm] for csm in csms]
    columns = [
        Column("CSM", csms, look.LABEL, 22),
        Column("Capacity (h)", capacity, COUNT_STYLE, 12),
    ]
    for name in [*portfolio.settings.quadrant_names(), UNSCORED]:
        in_quadrant = allocation.in_quadrant(name)
        groups = [allocation.of_csm(csm) & in_quadrant for csm in csms]
        columns.append(Column(f"{name} accounts", _counts(groups), COUNT_STYLE, 18))
        if name != UNSCORED:
            columns.append(Column(f"{name} revenue", _sums(revenue, groups), money, 18))

    mine = [allocation.of_csm(csm) for csm in csms]
    one_to_one = [group & allocation.one_to_one for group in mine]
    over_cap = [group & allocation.over_cap for group in mine]
    columns += [
        Column("Accounts", _counts(mine), COUNT_STYLE, 12),
        Column("Revenue", _sums(revenue, mine), money, 16),
        Column("One-to-one", _counts(one_to_one), COUNT_STYLE, 12),
        Column("Over cap", _counts(over_cap), COUNT_STYLE, 10),
    ]
    return Table(name="Team", top=top, left=0, columns=columns)


def _counts(groups: list[np.ndarray]) -> list[int]:
    return [int(group.sum()) for group in groups]


def _sums(values: np.ndarray, groups: list[np.ndarray]) -> list[float]:
    return [float(values[group].sum()) for group in groups]


# -- Shared helpers ----------------------------------------------------------------


def _accounts(count: int, kind: str = "") -> str:
    return f"{count:,} {kind}account{'' if count == 1 else 's'}"


def _distinct_headers(columns: list[Column]) -> None:
    # An export column may share a name with one xlapm adds (a "Plan" or "Hours"
    # column); Excel Tables need distinct headers, so xlapm's gets a suffix.
    seen: set[str] = set()
    for column in columns:
        if column.header.casefold() in seen:
            column.header = f"{column.header} (xlapm)"
        seen.add(column.header.casefold())


def _quadrant_rules(settings: Settings, ref: str) -> list[TextRule]:
    rules = []
    for key in QUADRANT_KEYS:
        quadrant = settings.quadrants[key]
        style = Style(fill=look.tint(quadrant.colour, 0.6), bold=True)
        rules.append(TextRule(ref, quadrant.name, style))
    grey = Style(fill=look.tint(look.UNSCORED_COLOUR, 0.6), italic=True)
    rules.append(TextRule(ref, UNSCORED, grey))
    return rules


def _column_ref(table: Table, offset: int) -> str:
    col = table.left + offset
    return xl_range(table.top + 1, col, table.last_row, col)


def _cells(values: pd.Series, numeric: bool) -> list[Any]:
    if numeric:
        return _numbers(values.to_numpy(dtype=float))
    return [_text(value) for value in values]


def _numbers(values: np.ndarray) -> list[float | None]:
    return [None if value != value else float(value) for value in values]


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _plain(value: object) -> int | float:
    # numpy scalars become Python numbers, so every writer takes them.
    if isinstance(value, np.generic):
        return value.item()
    return value  # type: ignore[return-value]
