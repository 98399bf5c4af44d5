"""Time =APM_TIER over 100,000 accounts: one array call against 100,000 cell calls.

Both get the cells as xlwings hands them over (``ndim=2``: a list of one-cell rows)
and the thresholds as arguments, and run the shipped code unchanged: here there is
no Excel, so looking for the calling workbook fails fast. In Excel each cell call
also reads the named cells through COM, which makes cell calls far slower still.

Each figure is the median of several runs, the array calls spread between the
rounds of cell calls so that both see the same load on a shared machine.

Run: python bench/bench_udf.py [ROWS] [ROUNDS]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from xlapm import udfs

REVENUE_THRESHOLD = 100_000.0
HEALTH_THRESHOLD = 0.5
ARRAY_CALLS_PER_ROUND = 7


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


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def compare(count: int, messy: bool, rounds: int) -> float:
    """Print the timings of both ways and return the ratio of their medians."""
    revenue, health = accounts(count, messy)
    limits = (REVENUE_THRESHOLD, HEALTH_THRESHOLD)

    def array_call() -> Any:
        return udfs.APM_TIER(revenue, health, *limits)

    def cell_calls() -> list[Any]:
        # What Excel does for one formula per cell: one call, its own work each time.
        return [
            udfs.APM_TIER(r[0], h[0], *limits)
            for r, h in zip(revenue, health, strict=True)
        ]

    array_seconds: list[float] = []
    scalar_seconds: list[float] = []
    for _ in range(rounds):
        for _ in range(ARRAY_CALLS_PER_ROUND):
            seconds, column = timed(array_call)
            array_seconds.append(seconds)
        seconds, cells = timed(cell_calls)
        scalar_seconds.append(seconds)

    array_median = statistics.median(array_seconds)
    scalar_median = statistics.median(scalar_seconds)
    same = [row[0] for row in column] == cells
    kind = "numbers, blanks, texts, #N/A" if messy else "plain numbers"
    print(f"APM_TIER over {count:,} accounts ({kind})")
    print(
        f"  one array call:       {array_median * 1000:9.1f} ms"
        f"  (median of {len(array_seconds)}, best {min(array_seconds) * 1000:.1f})"
    )
    print(
        f"  {count:,} cell calls: {scalar_median * 1000:9.1f} ms"
        f"  (median of {rounds}, {scalar_median / count * 1e6:.1f} µs a call)"
    )
    ratio = scalar_median / array_median
    print(f"  ratio: {ratio:,.0f}x; same results: {same}")
    return ratio


def main(count: int, rounds: int) -> None:
    ratios = {
        "plain numbers": compare(count, messy=False, rounds=rounds),
        "mixed input": compare(count, messy=True, rounds=rounds),
    }
    print("ratio of medians: " + ", ".join(f"{k} {v:,.0f}x" for k, v in ratios.items()))


if __name__ == "__main__":
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    main(rows, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
