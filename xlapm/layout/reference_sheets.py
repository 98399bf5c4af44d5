"""The Playbooks and Data Issues sheets."""

from __future__ import annotations

from xlapm.core.accounts import DataIssue
from xlapm.core.settings import QUADRANT_KEYS, Settings
from xlapm.layout import look
from xlapm.layout.plan import Cells, Column, SheetPlan, Style, Table

PLAYBOOKS = "Playbooks"
DATA_ISSUES = "Data Issues"


def plan_playbooks_sheet(settings: Settings) -> SheetPlan:
    """What to do with the accounts of each quadrant and segment."""
    quadrants = [settings.quadrants[key] for key in QUADRANT_KEYS]
    wrap = Style(wrap=True, valign="top")
    playbooks = Table(
        name="Playbooks",
        top=3,
        left=0,
        style="Table Style Medium 9",
        columns=[
            Column("Quadrant", [q.name for q in quadrants], Style(bold=True), 14),
            Column("Approach", [q.approach.value for q in quadrants], wrap, 16),
            Column("Summary", [q.summary for q in quadrants], wrap, 40),
            Column(
                "Activities", ["\n".join(q.activities) for q in quadrants], wrap, 56
            ),
            Column("Cadence", [q.cadence for q in quadrants], wrap, 22),
            Column("Colour", [q.colour for q in quadrants], width=10),
        ],
    )
    segments_top = playbooks.last_row + 3
    segments = Table(
        name="Segments",
        top=segments_top,
        left=0,
        style="Table Style Medium 9",
        columns=[
            Column("Segment", [s.name for s in settings.segments], Style(bold=True)),
            Column(
                "Minimum revenue",
                [s.min_revenue for s in settings.segments],
                Style(num_format=settings.currency_format),
            ),
            Column("Approach", [s.approach.value for s in settings.segments], wrap),
        ],
    )
    sheet = SheetPlan(name=PLAYBOOKS, gridlines=False)
    sheet.blocks += [
        Cells(0, 0, [["Playbooks"]], look.TITLE),
        Cells(
            1, 0, [["Where a CSM's time goes, quadrant by quadrant."]], look.SUBTITLE
        ),
        playbooks,
        Cells(segments_top - 1, 0, [["Segments"]], look.HEADING),
        segments,
    ]
    sheet.heights = {4 + offset: 64 for offset in range(4)}
    sheet.page.landscape = True
    sheet.page.fit_width = 1
    sheet.page.fit_height = 1
    return sheet


def plan_issues_sheet(issues: list[DataIssue], source: str) -> SheetPlan:
    """Every problem in the input: row, column, value, problem and what was done."""
    sheet = SheetPlan(name=DATA_ISSUES)
    if not issues:
        sheet.blocks += [
            Cells(0, 0, [["Data Issues"]], look.TITLE),
            Cells(1, 0, [[f"No problems found in {source}."]], look.SUBTITLE),
        ]
        return sheet

    summary = f"{len(issues):,} problems in {source}; rows are as in the file."
    table = Table(
        name="DataIssues",
        top=2,
        left=0,
        style="Table Style Light 11",
        columns=[
            Column("Row", [issue.row for issue in issues], width=8),
            Column("Column", [issue.column for issue in issues], width=20),
            Column("Value", [issue.value for issue in issues], width=24),
            Column("Problem", [issue.problem for issue in issues], width=56),
            Column("What xlapm did", [issue.action for issue in issues], width=48),
        ],
    )
    sheet.blocks += [
        Cells(0, 0, [["Data Issues"]], look.TITLE),
        Cells(1, 0, [[summary]], look.SUBTITLE),
        table,
    ]
    sheet.freeze = (3, 0)
    return sheet
