"""``xlapm snapshot``: the quarterly routine in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from xlapm.cli import main
from xlapm.cli.options import settings_options, split_flags
from xlapm.cli.progress import progress_for
from xlapm.cli.report import report_portfolio, report_quarter
from xlapm.core.history import parse_quarter
from xlapm.errors import InputError
from xlapm.rebuild import rebuild_workbook


def _quarter(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_quarter(value)
    except InputError as error:
        raise click.BadParameter(error.message) from None


@main.command()
@click.argument(
    "workbook", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--quarter",
    required=True,
    callback=_quarter,
    metavar="YYYYQN",
    help="The quarter to store, such as 2024Q4.",
)
@click.option(
    "--accounts",
    "export",
    metavar="EXPORT",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Refresh the Accounts sheet from this CRM export first.",
)
@click.option(
    "--from",
    "previous",
    callback=_quarter,
    metavar="YYYYQN",
    help="Compare from this quarter (default: the one before --to).",
)
@click.option(
    "--to",
    "current",
    callback=_quarter,
    metavar="YYYYQN",
    help="Compare to this quarter (default: the latest).",
)
@click.option("--backup", is_flag=True, help="Keep the previous version as a .bak.")
@settings_options
def snapshot(
    workbook: Path,
    quarter: str,
    export: Path | None,
    previous: str | None,
    current: str | None,
    backup: bool,
    quiet: bool,
    **flags: Any,
) -> None:
    """Store this quarter's matrix in Quarter History and show what moved.

    Taking the same quarter again replaces its rows. From the second quarter on,
    the Movements and Alerts sheets compare the last two quarters (or --from and
    --to). Accounts are matched by ID, or by name when there is no ID column.

    Example:

    \b
        xlapm snapshot book.xlsx --quarter 2024Q4 --accounts q4.csv
    """
    config, overrides = split_flags(flags)
    result = rebuild_workbook(
        workbook,
        config=config,
        flags=overrides,
        backup=backup,
        accounts_export=export,
        quarter=quarter,
        compare=(previous, current),
        progress=progress_for(quiet),
    )
    if quiet:
        return
    report_portfolio(result.portfolio)
    report_quarter(result.quarterly, quarter)
    click.echo(f"Saved {quarter} in {workbook}")
