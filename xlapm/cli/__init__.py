"""The ``xlapm`` command: a thin layer over the core and the file writer.

Core errors become one line and a hint, exit code 1; usage errors exit 2.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from xlapm import __version__
from xlapm.errors import XlapmError


class _Commands(click.Group):
    """Turns xlapm's own errors into ``Error: …`` and ``Hint: …`` lines."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except XlapmError as error:
            click.echo(f"Error: {error.message}", err=True)
            if error.hint:
                click.echo(f"Hint: {error.hint}", err=True)
            ctx.exit(1)


@click.group(
    name="xlapm",
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="xlapm")
@click.option("--debug", is_flag=True, help="Print debug detail on standard error.")
def main(debug: bool) -> None:
    """Account Prioritization Matrix: score accounts into TIER 1, INVEST, RAMP and
    MAINTAIN and write colour-coded matrix workbooks.

    Examples:

    \b
        xlapm demo
        xlapm build accounts.csv --revenue ARR --health "Adoption Rate"
        xlapm rebuild my_accounts.xlsx --backup
        xlapm snapshot my_accounts.xlsx --quarter 2024Q4 --accounts q4.csv

    Each command's --help has its own example.
    """
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")


def _register() -> None:
    # Each command group lives in its own module; importing registers it.
    from xlapm.cli import addin, build, rebuild, snapshot, template  # noqa: F401


_register()
