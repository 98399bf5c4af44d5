"""The plan of every sheet xlapm owns in a matrix workbook, in tab order."""

from __future__ import annotations

from collections.abc import Sequence

from xlapm.core.portfolio import Portfolio
from xlapm.core.settings import QUADRANT_KEYS
from xlapm.layout.accounts_sheet import plan_accounts_sheet
from xlapm.layout.matrix_sheet import plan_matrix_sheet
from xlapm.layout.plan import Column, SheetPlan, WorkbookPlan
from xlapm.layout.quadrant_sheets import plan_quadrant_sheet
from xlapm.layout.reference_sheets import plan_issues_sheet, plan_playbooks_sheet
from xlapm.layout.settings_sheet import plan_settings_sheet
from xlapm.layout.summary_sheet import plan_summary_sheet


def plan_workbook(
    portfolio: Portfolio,
    *,
    include_accounts: bool = True,
    include_settings: bool = True,
    account_extras: Sequence[Column] = (),
    more_sheets: Sequence[SheetPlan] = (),
) -> WorkbookPlan:
    """Matrix, Summary, the four quadrant sheets, Accounts, Playbooks, Settings, issues.

    ``include_accounts`` is False when a person's own Accounts sheet is the input
    (a rebuild in place), and ``include_settings`` is False once a workbook has a
    Settings sheet a person may have edited. ``account_extras`` are columns added
    to Accounts (such as time allocation).
    """
    # Time Share and Hours stay on Accounts and the CSM sheets: repeating them on
    # every quadrant sheet would add a quarter of a large portfolio's cells.
    quadrant_sheets = [plan_quadrant_sheet(portfolio, key) for key in QUADRANT_KEYS]
    sheets = [
        plan_matrix_sheet(portfolio),
        plan_summary_sheet(portfolio, quadrant_sheets),
    ]
    sheets += quadrant_sheets
    if include_accounts:
        sheets.append(plan_accounts_sheet(portfolio, account_extras))
    sheets.append(plan_playbooks_sheet(portfolio.settings))
    if include_settings:
        sheets.append(settings_plan(portfolio))
    sheets.extend(more_sheets)
    sheets.append(
        plan_issues_sheet(portfolio.accounts.issues, portfolio.accounts.source)
    )
    return WorkbookPlan(sheets=sheets)


def settings_plan(portfolio: Portfolio) -> SheetPlan:
    """The Settings sheet as this portfolio was scored."""
    accounts = portfolio.accounts
    return plan_settings_sheet(
        portfolio.settings,
        columns=(accounts.revenue_column, accounts.health_column),
        health_scale=accounts.health_scale,
        csms=_csm_names(portfolio),
    )


def _csm_names(portfolio: Portfolio) -> list[str]:
    csms = portfolio.accounts.csms
    if csms is None:
        return []
    return sorted({str(csm).strip() for csm in csms if csm and str(csm).strip()})
