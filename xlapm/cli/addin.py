"""``xlapm addin build`` and ``xlapm addin install``: the Excel add-in."""

from __future__ import annotations

from pathlib import Path

import click

from xlapm.addin import build_addin, build_shipped_addins, install_addin
from xlapm.cli import main


@main.group()
def addin() -> None:
    """The Excel add-in: the Account Matrix ribbon tab and the APM_ formulas."""


@addin.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write only this .xlam, from workbook/ as it is; without it, regenerate "
    "workbook/vba/xlwings_udfs.bas and rebuild the committed and packaged add-ins.",
)
@click.option("-q", "--quiet", is_flag=True, help="Say nothing when done.")
def build(output: Path | None, quiet: bool) -> None:
    """Build xlapm.xlam from the sources in workbook/ of a source checkout.

    Without --output it first writes workbook/vba/xlwings_udfs.bas, the VBA
    wrappers through which Excel calls the APM_ formulas, from xlapm.udfs with
    xlwings' own generator, then rebuilds workbook/xlapm.xlam and the copy in
    the package. Run it after changing a formula, the ribbon or a .bas file.

    Example:

    \b
        xlapm addin build -o build/xlapm.xlam
    """
    if output is not None and output.suffix.lower() != ".xlam":
        raise click.BadParameter(
            f"'{output.name}' must end in .xlam.", param_hint="'-o' / '--output'"
        )
    written = (build_addin(output),) if output else build_shipped_addins()
    if not quiet:
        for path in written:
            click.echo(f"Wrote {path}")


@addin.command()
@click.option(
    "--file",
    "addin_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The .xlam to install (default: the add-in shipped with xlapm).",
)
def install(addin_file: Path | None) -> None:
    """Install the add-in into Excel (Windows or macOS), with Excel closed.

    xlwings copies it to Excel's XLSTART folder, so Excel opens it at every
    start. Python, xlwings and xlapm must be installed for the CSM.

    Example:

    \b
        xlapm addin install
    """
    click.echo(install_addin(addin_file))
