"""``xlapm build`` and ``xlapm demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from xlapm.build import build_workbook, default_output, sample_accounts
from xlapm.cli import main
from xlapm.cli.options import settings_from_flags, settings_options
from xlapm.cli.progress import progress_for
from xlapm.cli.report import report_build


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Workbook to write (default: SOURCE_matrix.xlsx beside it).",
)
@settings_options
def build(source: Path, output: Path | None, quiet: bool, **flags: Any) -> None:
    """Build a matrix workbook from a CRM export (CSV) or a workbook (.xlsx).

    Reads the accounts, finds the revenue and health columns, scores every account
    into TIER 1, INVEST, RAMP or MAINTAIN and writes Matrix, Summary, one sheet per
    quadrant, Accounts, Playbooks, Settings and Data Issues.

    Example:

    \b
        xlapm build accounts.csv --revenue ARR --health "Adoption Rate" -o q4.xlsx
    """
    settings = settings_from_flags(flags)
    target = output or default_output(source)
    result = build_workbook(source, target, settings, progress_for(quiet))
    if not quiet:
        report_build(result)


@main.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("xlapm_demo.xlsx"),
    show_default=True,
    help="Workbook to write.",
)
@click.option("-q", "--quiet", is_flag=True, help="No summary.")
def demo(output: Path, quiet: bool) -> None:
    """Build a matrix workbook from the sample accounts that ship with xlapm.

    Example:

    \b
        xlapm demo -o demo.xlsx
    """
    settings = settings_from_flags({})
    result = build_workbook(sample_accounts(), output, settings, progress_for(quiet))
    if not quiet:
        report_build(result)
