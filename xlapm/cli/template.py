"""``xlapm template``: write the distributable template workbook."""

from __future__ import annotations

from pathlib import Path

import click

from xlapm.cli import main
from xlapm.template import write_template


@main.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("templates/AccountMatrix.xlsx"),
    show_default=True,
    help="Workbook to write.",
)
@click.option("-q", "--quiet", is_flag=True, help="Say nothing when done.")
def template(output: Path, quiet: bool) -> None:
    """Write the template workbook a CS lead hands out to CSMs.

    It holds Instructions, an Accounts table with a dozen sample accounts whose
    Quadrant and Segment columns are native Excel formulas (they work without
    Python), Settings with dropdowns, Playbooks, and the matrix sheets built from
    the samples. Generating it twice gives the same workbook.

    Example:

    \b
        xlapm template -o AccountMatrix.xlsx
    """
    if output.suffix.lower() != ".xlsx":
        raise click.BadParameter(
            f"'{output.name}' must end in .xlsx.", param_hint="'-o' / '--output'"
        )
    write_template(output)
    if not quiet:
        click.echo(f"Wrote {output}")
