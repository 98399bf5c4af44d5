"""What the command line says after a build: columns chosen, counts, problems."""

from __future__ import annotations

import click

from xlapm.build import BuildResult
from xlapm.core.portfolio import Portfolio
from xlapm.layout.look import threshold_texts
from xlapm.quarterly import QuarterlyAdditions

_ISSUE_ROWS_SHOWN = 8
_ALERTS_SHOWN = 10


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


def report_quarter(additions: QuarterlyAdditions, quarter: str) -> None:
    """Movements and alerts after a snapshot, in a few lines."""
    for warning in additions.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if additions.movements is None:
        click.echo(f"{quarter} is the first quarter stored; movements start next time.")
        return
    click.echo(f"Moves: {additions.movements.describe()}")
    if not additions.alerts:
        click.echo("No alerts.")
        return
    click.echo(f"{len(additions.alerts):,} alerts (see the Alerts sheet):")
    for alert in additions.alerts[:_ALERTS_SHOWN]:
        click.echo(f"  {alert.account}: {alert.detail}")
    if len(additions.alerts) > _ALERTS_SHOWN:
        click.echo(f"  … and {len(additions.alerts) - _ALERTS_SHOWN:,} more")
