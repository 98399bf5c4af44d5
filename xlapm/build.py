"""The headless build: from a CRM export or workbook to a matrix workbook.

This is the job behind ``xlapm build``; it knows nothing of the command line.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from xlapm.core.accounts import prepare_accounts
from xlapm.core.portfolio import Portfolio, score_portfolio
from xlapm.core.reading import read_table
from xlapm.core.settings import Settings
from xlapm.errors import OwnershipConflict, XlapmError
from xlapm.layout.settings_sheet import SETTINGS
from xlapm.layout.workbook import plan_workbook
from xlapm.package.atomic import atomic_replace
from xlapm.package.splice import owned_sheets, sheet_names
from xlapm.progress import SILENT, Progress
from xlapm.quarterly import quarterly_additions
from xlapm.writers.xlsx import write_workbook

log = logging.getLogger(__name__)


@dataclass
class BuildResult:
    """What a build produced, for the command line to report."""

    portfolio: Portfolio
    output: Path
    seconds: dict[str, float] = field(default_factory=dict)


def load_portfolio(
    source: Path, settings: Settings, timings: dict[str, float] | None = None
) -> Portfolio:
    """Read ``source``, clean its accounts and classify them."""
    timings = timings if timings is not None else {}
    started = time.perf_counter()
    table = read_table(source, sheet=settings.sheet, decimal=settings.decimal)
    timings["read"] = time.perf_counter() - started

    started = time.perf_counter()
    accounts = prepare_accounts(table, settings)
    portfolio = score_portfolio(accounts, settings)
    timings["classify"] = time.perf_counter() - started
    return portfolio


def build_workbook(
    source: Path,
    output: Path,
    settings: Settings,
    progress: Progress = SILENT,
) -> BuildResult:
    """Build the matrix workbook for ``source`` at ``output``, written atomically."""
    timings: dict[str, float] = {}
    refuse_persons_workbook(output)
    portfolio = load_portfolio(source, settings, timings)

    started = time.perf_counter()
    additions = quarterly_additions(portfolio)
    plan = plan_workbook(
        portfolio,
        account_extras=additions.account_columns,
        more_sheets=additions.sheets,
    )
    timings["layout"] = time.perf_counter() - started

    started = time.perf_counter()
    atomic_replace(output, lambda temporary: write_workbook(plan, temporary, progress))
    timings["write"] = time.perf_counter() - started
    log.debug("build timings: %s", timings)
    return BuildResult(portfolio=portfolio, output=output, seconds=timings)


def refuse_persons_workbook(output: Path) -> None:
    """Stop before ``build`` would overwrite a workbook that holds a person's sheets.

    ``build`` writes a whole new file; an existing matrix workbook may be replaced,
    but a person's own workbook must be refreshed with ``rebuild`` instead.
    """
    if not output.exists():
        return
    try:
        names = sheet_names(output)
        owned = set(owned_sheets(output))
    except XlapmError:
        raise OwnershipConflict(
            f"{output} exists and is not a workbook xlapm wrote; it was left as it is.",
            hint="Choose another file with -o.",
        ) from None
    persons = [name for name in names if name not in owned and name != SETTINGS]
    if persons:
        shown = ", ".join(f"'{name}'" for name in persons[:5])
        raise OwnershipConflict(
            f"{output} has sheets a person made ({shown}); build would replace "
            "the whole file.",
            hint=f"Run 'xlapm rebuild {output.name}' to refresh it in place, or "
            "choose another file with -o.",
        )


def default_output(source: Path) -> Path:
    """``accounts.csv`` → ``accounts_matrix.xlsx`` beside it."""
    return source.with_name(f"{source.stem}_matrix.xlsx")


def sample_accounts() -> Path:
    """The bundled sample export that ``xlapm demo`` builds from."""
    return Path(str(resources.files("xlapm") / "data" / "sample_accounts.csv"))
