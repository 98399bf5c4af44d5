"""The distributable template workbook, ``templates/AccountMatrix.xlsx``, made by code.

The template works in three ways at once:

- without Python: the Accounts table's Quadrant and Segment columns are native
  Excel formulas over the workbook names (``APM_RevenueThreshold``,
  ``APM_Tier1Name``…), and the two thresholds on Summary are native formulas too
  (``MEDIAN`` or ``PERCENTILE.INC`` over the Accounts columns), so rows a CSM pastes
  into the table are placed at once, in Excel, LibreOffice or on a Mac;
- with the add-in: ``=APM_TIER``, ``=APM_PLAYBOOK`` and the ribbon's Rebuild;
- from the command line: ``xlapm rebuild`` reads the same Accounts table.

Generating it twice gives the same file content: the creation date is fixed and
nothing else varies (``write_template``).

Table cells hold each formula with plain references (``=IF(AND(A2="",…``): Excel
keeps ``[@ARR]`` as the column's formula for new rows, but LibreOffice does not
compute ``[#This Row]`` references when it opens a file, so each cell spells its own
row out; ``Accounts[ARR]`` (a whole column) is read by both.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xlapm.core.accounts import prepare_accounts
from xlapm.core.portfolio import Portfolio, score_portfolio
from xlapm.core.reading import table_from_rows
from xlapm.core.settings import HealthScale, Settings, ThresholdRule
from xlapm.layout import look
from xlapm.layout.accounts_sheet import quadrant_rules
from xlapm.layout.plan import (
    Cells,
    Column,
    Formula,
    Merge,
    SheetPlan,
    Style,
    Table,
    WorkbookPlan,
)
from xlapm.layout.settings_sheet import SETTINGS
from xlapm.layout.summary_sheet import SUMMARY
from xlapm.layout.workbook import plan_workbook
from xlapm.writers.xlsx import write_workbook

TEMPLATE_NAME = "AccountMatrix.xlsx"
INSTRUCTIONS = "Instructions"
ACCOUNTS = "Accounts"
HEADERS = ("Account ID", "Account", "CSM", "ARR", "Adoption")
# A fixed date: the template must come out the same every time it is generated.
CREATED = datetime.datetime(2026, 1, 1)

# Rows with the quadrant formulas coloured: enough for a CSM's whole portfolio.
_COLOURED_ROWS = 10_000

SAMPLE_ROWS: list[list[Any]] = [
    ["0011973060", "Acme Partners", "Ana Souza", 139_300, 0.59],
    ["0012037872", "Blue Harbor Foods", "Ben Okafor", 175_900, 0.39],
    ["0014032085", "Northwind Labs", "Chloe Martin", 472_400, 0.40],
    ["0019920785", "Globex Health", "Dev Patel", 109_800, 0.58],
    ["0020114467", "Initech Retail", "Ana Souza", 64_500, 0.71],
    ["0020877310", "Umbrella Logistics", "Ben Okafor", 1_250_000, 0.82],
    ["0021556002", "Stark Components", "Chloe Martin", 38_200, 0.22],
    ["0022001948", "Wayne Analytics", "Dev Patel", 96_700, 0.67],
    ["0022480915", "Hooli Media", "Ana Souza", 215_000, 0.31],
    ["0023119654", "Soylent Farms", "Ben Okafor", 27_900, 0.48],
    ["0023877201", "Vandelay Imports", "Chloe Martin", 88_400, 0.26],
    ["0024410036", "Pied Piper Cloud", "Dev Patel", 310_600, 0.74],
]

_INSTRUCTIONS: list[tuple[str, list[str]]] = [
    (
        "What this workbook does",
        [
            "It sorts your accounts into four quadrants by revenue (ARR) and health "
            "(Adoption): TIER 1, INVEST, RAMP and MAINTAIN, each with its playbook.",
            "A value exactly on a threshold counts as high.",
        ],
    ),
    (
        "Works without Python",
        [
            "The Quadrant and Segment columns of the Accounts table are plain Excel "
            "formulas: they work in any Excel, on a Mac and in LibreOffice.",
            "The thresholds on the Summary sheet (named APM_RevenueThreshold and "
            "APM_HealthThreshold) are formulas over the Accounts columns, so new "
            "rows move them too.",
        ],
    ),
    (
        "Paste a CRM export",
        [
            "1. Export your accounts from the CRM with at least ARR and adoption.",
            "2. On the Accounts sheet, click the first cell under Account ID and "
            "paste (Paste Special > Values keeps the table's formats).",
            "3. Keep the column order Account ID, Account, CSM, ARR, Adoption, or "
            "rename the headers on Settings (Revenue column, Health column).",
            "4. The table grows with the paste; Quadrant and Segment fill in.",
            "Adoption is a fraction: 45% or 0.45. Set Health scale on Settings to "
            "percent if your export has 45 for 45%.",
        ],
    ),
    (
        "Install the add-in (Windows, for formulas and the ribbon)",
        [
            "1. Install Python 3.10+, then install xlapm from the copy your CS lead "
            "shares: pip install PATH-TO-XLAPM",
            "2. Run: xlapm addin install (with Excel closed)",
            "3. Restart Excel: the Account Matrix tab appears on the ribbon.",
            "On a Mac the ribbon buttons work through xlwings, but Excel for Mac "
            "runs no Python formulas (=APM_TIER); the native columns still work.",
        ],
    ),
    (
        "The ribbon buttons",
        [
            "Rebuild matrix: redraws Matrix, Summary, the four quadrant sheets, "
            "Playbooks and Data Issues from the Accounts table and Settings. Your "
            "own sheets and cells are never touched.",
            "Playbook: shows the playbook of the account in the selected row.",
            "Snapshot quarter: saves where every account sits this quarter, to "
            "compare quarters later.",
            "Settings: opens the Settings sheet (thresholds, names, segments).",
            "Help: opens this sheet.",
        ],
    ),
    (
        "Formulas (with the add-in, Excel for Windows)",
        [
            "=APM_TIER(D2, E2) gives the quadrant of one account; "
            "=APM_TIER(D2:D500, E2:E500) spills one per row.",
            '=APM_PLAYBOOK(F2) gives its playbook; =APM_PLAYBOOK(F2, "cadence") '
            "one part of it (approach, activities, cadence, summary).",
            '=APM_SEGMENT(D2) gives the size segment; =APM_THRESHOLD("revenue") the '
            "threshold in force.",
        ],
    ),
    (
        "Without Excel",
        [
            "xlapm rebuild AccountMatrix.xlsx refreshes the same sheets from the "
            "command line (Linux, macOS, Windows).",
        ],
    ),
]


def write_template(
    target: Path,
    rows: Sequence[Sequence[Any]] | None = None,
    settings: Settings | None = None,
) -> Path:
    """Write the template workbook to ``target`` and return ``target``.

    Args:
        target: the ``.xlsx`` to write, such as ``templates/AccountMatrix.xlsx``.
        rows: account rows in the order of ``HEADERS``; the dozen samples by
            default (tests pass larger portfolios).
        settings: thresholds, names and segments; xlapm's defaults by default.
    """
    plan = template_plan(rows, settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_workbook(plan, target, created=CREATED)
    return target


def template_plan(
    rows: Sequence[Sequence[Any]] | None = None, settings: Settings | None = None
) -> WorkbookPlan:
    """The template's sheets: Instructions and Accounts first, then what a rebuild
    makes (Matrix, Summary, quadrants, Playbooks, Settings, Data Issues)."""
    portfolio = sample_portfolio(rows, settings)
    extras, sheets = _quarterly_sheets(portfolio)
    plan = plan_workbook(
        portfolio,
        include_accounts=False,
        include_settings=True,
        account_extras=extras,
        more_sheets=sheets,
    )
    native_thresholds(plan, portfolio, ACCOUNTS)
    plan.sheets[:0] = [
        instructions_sheet(portfolio.settings),
        accounts_sheet(portfolio),
    ]
    plan.title = "Account Prioritization Matrix template"
    return plan


def _quarterly_sheets(portfolio: Portfolio) -> tuple[list[Column], list[SheetPlan]]:
    """The Team and CSM sheets a rebuild adds, so the template looks rebuilt."""
    try:
        from xlapm.quarterly import quarterly_additions
    except ImportError:
        return [], []
    additions = quarterly_additions(portfolio, taken=[INSTRUCTIONS, ACCOUNTS, SETTINGS])
    return additions.account_columns, additions.sheets


def sample_portfolio(
    rows: Sequence[Sequence[Any]] | None = None, settings: Settings | None = None
) -> Portfolio:
    """The sample accounts scored as a rebuild scores them."""
    settings = settings or Settings()
    table = table_from_rows(
        HEADERS, rows if rows is not None else SAMPLE_ROWS, TEMPLATE_NAME, 2,
        sheet=ACCOUNTS,
    )  # fmt: skip
    return score_portfolio(prepare_accounts(table, settings), settings)


def instructions_sheet(settings: Settings | None = None) -> SheetPlan:
    """How to install the add-in, use the buttons and paste a CRM export.

    Beside the text, a small coloured 2x2 shows where each quadrant sits.
    """
    settings = settings or Settings()
    sheet = SheetPlan(name=INSTRUCTIONS, gridlines=False, owned=False)
    sheet.blocks += [
        Cells(0, 0, [["Account Prioritization Matrix"]], look.TITLE),
        Cells(1, 0, [["Start here: paste your accounts, read the quadrants."]],
              look.SUBTITLE),
    ]  # fmt: skip
    row = 3
    for heading, lines in _INSTRUCTIONS:
        sheet.blocks.append(Cells(row, 0, [[heading]], look.HEADING))
        sheet.blocks.append(Cells(row + 1, 0, [[line] for line in lines], look.WRAP))
        for offset, line in enumerate(lines):
            # Excel does not size rows to wrapped text on opening; give each
            # line the height its text needs in the 96-character column.
            sheet.heights[row + 1 + offset] = 15 * max(1, math.ceil(len(line) / 96))
        row += len(lines) + 2
    sheet.blocks += _quadrant_picture(settings)
    sheet.widths = {0: 100, 1: 3, 2: 20, 3: 20}
    sheet.page.fit_width, sheet.page.fit_height = 1, 0
    sheet.page.landscape = True
    return sheet


def _quadrant_picture(settings: Settings) -> list[Merge | Cells]:
    # The board in miniature: revenue up, health to the right, as on Matrix.
    blocks: list[Merge | Cells] = [
        Cells(3, 2, [["High revenue ↑", None]], look.LABEL),
    ]
    for top, keys in ((4, ("invest", "tier1")), (7, ("ramp", "maintain"))):
        for side, key in enumerate(keys):
            quadrant = settings.quadrants[key]
            style = Style(
                bold=True,
                fill=quadrant.colour,
                align="center",
                valign="center",
                wrap=True,
                font_colour=look.ink_on(quadrant.colour),
            )
            text = f"{quadrant.name}\n{quadrant.approach.value}"
            blocks.append(Merge(top, 2 + side, top + 2, 2 + side, text, style))
    blocks.append(Cells(10, 2, [["Low health", "High health →"]], look.LABEL))
    return blocks


def accounts_sheet(portfolio: Portfolio) -> SheetPlan:
    """The person's Accounts table, its Quadrant and Segment as native formulas."""
    accounts = portfolio.accounts
    frame = accounts.frame
    money = Style(num_format=look.money_format(portfolio.settings))
    health = Style(num_format=look.health_format(accounts.health_scale))
    styles = {accounts.revenue_column: money, accounts.health_column: health}
    widths = {"Account ID": 14, "Account": 28, "CSM": 18}
    columns = [
        Column(
            header,
            [None if value != value else value for value in frame[header].tolist()],
            styles.get(header),
            widths.get(header, 14),
        )
        for header in frame.columns
    ]
    revenue = f"[@[{accounts.revenue_column}]]"
    health_ref = f"[@[{accounts.health_column}]]"
    first = f"[@[{frame.columns[0]}]]"
    columns += [
        Column(
            "Quadrant",
            portfolio.quadrants.tolist(),
            Style(bold=True),
            14,
            formula=quadrant_formula(first, revenue, health_ref, accounts.health_scale),
        ),
        Column(
            "Segment",
            portfolio.segments.tolist(),
            width=14,
            formula=segment_formula(revenue),
        ),
    ]

    table = Table(name=ACCOUNTS, top=0, left=0, columns=columns)
    sheet = SheetPlan(name=ACCOUNTS, blocks=[table], freeze=(1, 2), owned=False)
    last = max(table.last_row, _COLOURED_ROWS)
    sheet.rules = quadrant_rules(portfolio, len(frame.columns), 1, last)
    return sheet


def quadrant_formula(first: str, revenue: str, health: str, scale: HealthScale) -> str:
    """The native quadrant formula of one table row, as the core decides it.

    Blank row: ""; a metric that is no number, or health outside 0–100% on a
    fraction or percent scale: UNSCORED; else high means at or above a threshold.
    """
    level = f"{health}/100" if scale is HealthScale.PERCENT else health
    unscored = f"NOT(ISNUMBER({revenue})),NOT(ISNUMBER({health}))"
    if scale is not HealthScale.NUMBER:
        unscored += f",{level}<0,{level}>1"
    high_health = f"{level}>=APM_HealthThreshold"
    return (
        f'=IF(AND({first}="",{revenue}="",{health}=""),"",'
        f'IF(OR({unscored}),"UNSCORED",'
        f"IF({revenue}>=APM_RevenueThreshold,"
        f"IF({high_health},APM_Tier1Name,APM_InvestName),"
        f"IF({high_health},APM_MaintainName,APM_RampName))))"
    )


def segment_formula(revenue: str) -> str:
    """The native segment formula: the band whose minimum the revenue reaches."""
    return (
        f"=IF(ISNUMBER({revenue}),IF({revenue}<INDEX(APM_SegmentMins,1),"
        f"INDEX(APM_SegmentNames,1),LOOKUP({revenue},APM_SegmentMins,"
        f'APM_SegmentNames)),"")'
    )


def threshold_formula(
    rule: ThresholdRule, column: str, value: float, scale: Any
) -> str:
    """``=MEDIAN(Accounts[ARR])``, ``=PERCENTILE.INC(…, 0.75)`` or the fixed value."""
    if rule.kind == "value":
        return f"={value!r}"
    divide = "/100" if scale is HealthScale.PERCENT else ""
    values = f"{ACCOUNTS}[{column}]"
    if rule.kind == "median":
        return f"=MEDIAN({values}){divide}"
    # "_xlfn." marks a function newer than Excel 2007 in the file format.
    share = (rule.percentile or 0.0) / 100
    return f"=_xlfn.PERCENTILE.INC({values},{share!r}){divide}"


def native_thresholds(plan: WorkbookPlan, portfolio: Portfolio, table: str) -> None:
    """Make Summary's threshold cells native formulas over the Excel Table ``table``.

    Excel then moves the thresholds, and the native Quadrant column with them, as
    soon as a person pastes accounts; the cached values are the core's.
    """
    summary = plan.sheet(SUMMARY)
    accounts = portfolio.accounts
    c = portfolio.classification
    wanted = {
        "APM_RevenueThreshold": (
            portfolio.settings.revenue_threshold,
            accounts.revenue_column,
            c.revenue_threshold.value,
            None,
        ),
        "APM_HealthThreshold": (
            portfolio.settings.health_threshold,
            accounts.health_column,
            c.health_threshold.value,
            accounts.health_scale,
        ),
    }
    for name in summary.names:
        if name.name not in wanted:
            continue
        rule, column, value, scale = wanted[name.name]
        row, col = _cell_of(name.refers_to)
        formula = threshold_formula(rule, column, value, scale)
        if table != ACCOUNTS:
            formula = formula.replace(f"{ACCOUNTS}[", f"{table}[")
        summary.blocks.append(
            Formula(row, col, formula, _style_at(summary, row, col), _cached(value))
        )


def _cell_of(refers_to: str) -> tuple[int, int]:
    """0-based row and column of ``=Sheet!$C$12``."""
    found = re.search(r"\$?([A-Z]{1,3})\$?(\d+)$", refers_to)
    if found is None:
        raise ValueError(f"not a single cell: {refers_to}")
    letters, number = found.groups()
    col = 0
    for letter in letters:
        col = col * 26 + ord(letter) - ord("A") + 1
    return int(number) - 1, col - 1


def _style_at(sheet: SheetPlan, row: int, col: int) -> Style | None:
    for block in sheet.blocks:
        if isinstance(block, Cells) and block.row == row and block.col == col:
            return block.style
    return None


def _cached(value: float) -> float | str:
    return "" if value != value else value
