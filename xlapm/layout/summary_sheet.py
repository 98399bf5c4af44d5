"""The Summary sheet: totals per quadrant and segment, thresholds, a scatter chart."""

from __future__ import annotations

import numpy as np

from xlapm.core.portfolio import Portfolio, QuadrantTotals
from xlapm.core.settings import QUADRANT_KEYS
from xlapm.layout import look
from xlapm.layout.plan import (
    Cells,
    Column,
    DefinedName,
    ScatterChart,
    ScatterSeries,
    SeriesRef,
    SheetPlan,
    Style,
    Table,
)

SUMMARY = "Summary"


def plan_summary_sheet(
    portfolio: Portfolio, quadrant_sheets: list[SheetPlan]
) -> SheetPlan:
    """Totals and the chart; ``quadrant_sheets`` hold the points the chart plots."""
    settings = portfolio.settings
    accounts = portfolio.accounts
    c = portfolio.classification
    money = look.money_format(settings)
    health_format = look.health_format(accounts.health_scale)

    sheet = SheetPlan(name=SUMMARY, gridlines=False)
    source = f"From {accounts.source}: {len(accounts):,} accounts"
    sheet.blocks += [
        Cells(0, 0, [["Summary"]], look.TITLE),
        Cells(1, 0, [[source]], look.SUBTITLE),
    ]

    by_quadrant = _totals_table(
        "ByQuadrant", "Quadrant", portfolio.quadrant_totals(), top=3, money=money
    )
    segment_top = by_quadrant.last_row + 3
    by_segment = _totals_table(
        "BySegment", "Segment", portfolio.segment_totals(), top=segment_top, money=money
    )
    thresholds_top = by_segment.last_row + 3
    sheet.blocks += [
        Cells(2, 0, [["By quadrant"]], look.HEADING),
        by_quadrant,
        Cells(segment_top - 1, 0, [["By segment"]], look.HEADING),
        by_segment,
    ]

    sheet.blocks.append(
        Cells(thresholds_top - 1, 0, [["Thresholds in force"]], look.HEADING)
    )
    sheet.blocks += _threshold_rows(portfolio, thresholds_top, money, health_format)
    sheet.names += [
        DefinedName("APM_RevenueThreshold", f"={SUMMARY}!$C${thresholds_top + 1}"),
        DefinedName("APM_HealthThreshold", f"={SUMMARY}!$C${thresholds_top + 2}"),
    ]
    lines_top = thresholds_top + 4 + len(c.segment_thresholds)
    sheet.blocks.append(_threshold_line_cells(portfolio, lines_top))
    sheet.charts.append(_chart(portfolio, quadrant_sheets, lines_top))
    sheet.widths = {0: 18, 1: 14, 2: 30, 3: 18, 4: 18}
    sheet.page.landscape = True
    sheet.page.fit_width = 1
    sheet.page.fit_height = 1
    return sheet


def _threshold_rows(
    portfolio: Portfolio, top: int, money: str, health_format: str
) -> list[Cells]:
    # Column C holds the numbers (named APM_RevenueThreshold, APM_HealthThreshold)
    # that formulas such as =APM_THRESHOLD("revenue") and the template's native
    # Quadrant column read.
    accounts = portfolio.accounts
    c = portfolio.classification
    rows = [
        ("Revenue", accounts.revenue_column, c.revenue_threshold, money),
        ("Health", accounts.health_column, c.health_threshold, health_format),
    ]
    rows += [
        (f"{name} segment", "revenue / health", pair[0], money)
        for name, pair in c.segment_thresholds.items()
    ]
    blocks = []
    for offset, (label, column, threshold, number_format) in enumerate(rows):
        row = top + offset
        value = None if threshold.value != threshold.value else threshold.value
        blocks += [
            Cells(row, 0, [[label, column]], look.LABEL),
            Cells(row, 2, [[value]], Style(bold=True, num_format=number_format)),
            Cells(
                row,
                3,
                [[threshold.describe(look.shown(threshold.value, number_format))]],
            ),
        ]
    return blocks


def _totals_table(
    name: str, label: str, totals: list[QuadrantTotals], top: int, money: str
) -> Table:
    share = Style(num_format=look.SHARE)
    return Table(
        name=name,
        top=top,
        left=0,
        style="Table Style Light 9",
        autofilter=False,
        columns=[
            Column(label, [t.name for t in totals], width=18),
            Column(
                "Accounts", [t.accounts for t in totals], Style(num_format=look.COUNT)
            ),
            Column("Share of accounts", [t.account_share for t in totals], share),
            Column("Revenue", [t.revenue for t in totals], Style(num_format=money)),
            Column("Share of revenue", [t.revenue_share for t in totals], share),
        ],
    )


def _threshold_line_cells(portfolio: Portfolio, top: int) -> Cells:
    # Two short helper ranges the chart draws as threshold lines.
    c = portfolio.classification
    health = portfolio.accounts.health
    revenue = portfolio.accounts.revenue
    low_h, high_h = _span(health, c.health_threshold.value)
    low_r, high_r = _span(revenue, c.revenue_threshold.value)
    rows = [
        ["Chart lines", "Health", "Revenue"],
        ["Revenue threshold", low_h, c.revenue_threshold.value],
        ["Revenue threshold", high_h, c.revenue_threshold.value],
        ["Health threshold", c.health_threshold.value, low_r],
        ["Health threshold", c.health_threshold.value, high_r],
    ]
    clean = [[None if v != v else v for v in row] for row in rows]
    return Cells(top, 0, clean, look.NOTE)


def _span(values: np.ndarray, threshold: float) -> tuple[float, float]:
    known = values[~np.isnan(values)]
    if known.size == 0:
        return (0.0, 1.0)
    low = min(float(known.min()), threshold if threshold == threshold else np.inf)
    high = max(float(known.max()), threshold if threshold == threshold else -np.inf)
    return (low, high)


def _chart(
    portfolio: Portfolio, quadrant_sheets: list[SheetPlan], lines_top: int
) -> ScatterChart:
    accounts = portfolio.accounts
    series = []
    for key, sheet in zip(QUADRANT_KEYS, quadrant_sheets, strict=True):
        table = sheet.tables()[0]
        if table.rows == 0:
            continue
        headers = [column.header for column in table.columns]
        revenue_col = headers.index(accounts.revenue_column)
        health_col = headers.index(accounts.health_column)
        first, last = table.top + 1, table.top + table.rows
        series.append(
            ScatterSeries(
                name=portfolio.settings.quadrants[key].name,
                x=SeriesRef(sheet.name, health_col, first, last),
                y=SeriesRef(sheet.name, revenue_col, first, last),
                colour=portfolio.settings.quadrants[key].colour,
            )
        )
    for offset, name in ((1, "Revenue threshold"), (3, "Health threshold")):
        row = lines_top + offset
        series.append(
            ScatterSeries(
                name=name,
                x=SeriesRef(SUMMARY, 1, row, row + 1),
                y=SeriesRef(SUMMARY, 2, row, row + 1),
                colour=look.MUTED,
                line=True,
                dash=True,
            )
        )
    return ScatterChart(
        title="Accounts by health and revenue",
        x_title=f"Health: {accounts.health_column}",
        y_title=f"Revenue: {accounts.revenue_column}",
        series=series,
        row=2,
        col=6,
        x_num_format=look.health_format(accounts.health_scale),
        y_num_format=look.money_format(portfolio.settings),
    )
