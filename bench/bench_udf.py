"""Time =APM_TIER over 100,000 accounts: one array call against 100,000 cell calls.

Both get the cells as xlwings hands them over (``ndim=2``: a list of one-cell rows)
and the thresholds as arguments, and run the shipped code unchanged: here there is
no Excel, so looking for the calling workbook fails fast. In Excel each cell call
also reads the named cells through COM, which makes cell calls far slower still.

Each figure is the best of several runs. Run: python bench/bench_udf.py [ROWS]
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from xlapm import udfs

REVENUE_THRESHOLD = 100_000.0
HEALTH_THRESHOLD = 0.5


def accounts(count: int, messy: bool) -> tuple[list[list[Any]], list[list[Any]]]:
    """Revenue and health columns; ``messy`` adds blanks, texts and error values."""
    generator = np.random.default_rng(42)
    revenue: list[Any] = generator.uniform(0, 2 * REVENUE_THRESHOLD, count).tolist()
    health: list[Any] = generator.uniform(0, 1, count).tolist()
    for position in range(0, count if messy else 0, 1_000):
        revenue[position] = None
        health[position + 1] = "45%"
        revenue[position + 2] = "#N/A"
    return [[value] for value in revenue], [[value] for value in health]


def best_of(runs: int, action: Any) -> tuple[float, Any]:
    """The fastest of ``runs`` runs: the machine's other work only adds time."""
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def compare(count: int, messy: bool) -> None:
    revenue, health = accounts(count, messy)
    limits = (REVENUE_THRESHOLD, HEALTH_THRESHOLD)

    array_seconds, column = best_of(10, lambda: udfs.APM_TIER(revenue, health, *limits))
    scalar_seconds, cells = best_of(
        3,
        lambda: [
            udfs.APM_TIER(r[0], h[0], *limits)
            for r, h in zip(revenue, health, strict=True)
        ],
    )

    same = [row[0] for row in column] == cells
    kind = "numbers, blanks, texts, #N/A" if messy else "plain numbers"
    print(f"APM_TIER over {count:,} accounts ({kind})")
    print(f"  one array call:        {array_seconds * 1000:9.1f} ms")
    print(f"  {count:,} cell calls: {scalar_seconds * 1000:9.1f} ms")
    print(f"  ratio: {scalar_seconds / array_seconds:,.0f}x; same results: {same}")


def main(count: int) -> None:
    compare(count, messy=False)
    compare(count, messy=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
