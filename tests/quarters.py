"""Three quarters of one portfolio, for the history, movement and alert tests.

Source: tests/data/quarters/ (see its README: the first 25 companies of
../shared/data/maven_crm_accounts.csv with made-up CSMs, adoption and changes).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from xlapm.build import load_portfolio
from xlapm.core.history import merge_history, take_snapshot
from xlapm.core.portfolio import Portfolio
from xlapm.core.settings import Settings

QUARTERS = Path(__file__).parent / "data" / "quarters"
# Fixed thresholds, so each account's quadrant is the one the data README tables.
SETTINGS = Settings(revenue_threshold=250_000, health_threshold=0.5)
ALL_QUARTERS = ("2024Q2", "2024Q3", "2024Q4")


def load_quarter(quarter: str, settings: Settings = SETTINGS) -> Portfolio:
    """The portfolio exported at the end of ``quarter``, scored."""
    return load_portfolio(QUARTERS / f"maven_{quarter}.csv", settings)


def build_history(
    quarters: Sequence[str] = ALL_QUARTERS, settings: Settings = SETTINGS
) -> pd.DataFrame:
    """The Quarter History after a snapshot of each of ``quarters``."""
    built = None
    for quarter in quarters:
        built = merge_history(
            built, take_snapshot(load_quarter(quarter, settings), quarter)
        )
    return built
