"""What the command line says after a build: columns chosen, counts, problems."""

from __future__ import annotations

import click

from xlapm.build import BuildResult
from xlapm.core.portfolio import Portfolio
from xlapm.layout.look import threshold_texts

_ISSUE_ROWS_SHOWN = 8


def report_build(result: BuildResult) -> None:
    """A few lines on standard output about ``result``."""
    report_portfolio(result.portfolio)
    click.echo(f"Wrote {result.output}")


def report_portfolio(portfolio: Portfolio) -> None:
    """Columns used, thresholds, quadrant counts and a one-line issue summary."""
    accounts = portfolio.accounts
    chosen = [
        f"revenue '{accounts.revenue_column}'",
        f"health '{accounts.health_column}' ({accounts.health_scale.value})",
    ]
    if accounts.name_column:
        chosen.append(f"name '{accounts.name_column}'")
    if accounts.id_column:
        chosen.append(f"ID '{accounts.id_column}'")
    if accounts.csm_column:
        chosen.append(f"CSM '{accounts.csm_column}'")
    click.echo(
        f"{accounts.source}: {len(accounts):,} accounts; columns: " + ", ".join(chosen)
    )
    revenue, health = threshold_texts(portfolio)
    click.echo(f"Thresholds: revenue {revenue}, health {health}")
    counts = "  ".join(f"{t.name} {t.accounts:,}" for t in portfolio.quadrant_totals())
    click.echo(f"Quadrants: {counts}")
    issues = accounts.issues
    if issues:
        rows = sorted({issue.row for issue in issues if issue.row is not None})
        shown = ", ".join(str(row) for row in rows[:_ISSUE_ROWS_SHOWN])
        more = "…" if len(rows) > _ISSUE_ROWS_SHOWN else ""
        click.echo(
            f"{len(issues):,} data issues on rows {shown}{more}: "
            "see the Data Issues sheet."
        )
