"""``xlapm rebuild``: refresh the owned sheets of a workbook in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from xlapm.cli import main
from xlapm.cli.options import settings_options, split_flags
from xlapm.cli.progress import progress_for
from xlapm.cli.report import report_portfolio
from xlapm.rebuild import rebuild_workbook


@main.command()
@click.argument(
    "workbook", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--force",
    is_flag=True,
    help="Write even when something xlapm cannot keep would be lost.",
)
@click.option(
    "--backup", is_flag=True, help="Keep the previous version as WORKBOOK.bak.xlsx."
)
@click.option(
    "--recalculate",
    is_flag=True,
    help="Compute formulas saved without results (uses LibreOffice).",
)
@settings_options
def rebuild(
    workbook: Path,
    force: bool,
    backup: bool,
    recalculate: bool,
    quiet: bool,
    **flags: Any,
) -> None:
    """Refresh the matrix sheets of a workbook, keeping everything else as it was.

    Reads the accounts from the workbook's Accounts table (or --sheet), the
    settings from its Settings sheet (flags win), and replaces only the sheets
    xlapm made; those it no longer writes (the sheet of a CSM with no accounts
    left) are removed. The first run on a workbook adds them, Settings included.

    Example:

    \b
        xlapm rebuild my_accounts.xlsx --backup
    """
    config, overrides = split_flags(flags)
    result = rebuild_workbook(
        workbook,
        config=config,
        flags=overrides,
        force=force,
        backup=backup,
        recalculate=recalculate,
        progress=progress_for(quiet),
    )
    if quiet:
        return
    report_portfolio(result.portfolio)
    changed = result.splice.replaced + result.splice.added
    click.echo(f"Rebuilt {len(changed)} sheets in {workbook}")
    if result.splice.removed:
        removed = ", ".join(result.splice.removed)
        click.echo(f"Removed sheets xlapm no longer writes: {removed}")
    if result.splice.backup:
        click.echo(f"Previous version kept as {result.splice.backup}")
