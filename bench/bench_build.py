"""Benchmark: build and rebuild a 130,000-account portfolio against a plain baseline.

The baseline, measured in the same run, is what any tool must pay: a python-calamine
read of the input and an openpyxl write-only save of the same output cells (values
only, no styles, tables or charts). Every step runs in its own process, so each time
includes Python's start-up and the peak memory is that process's own.

    python bench/bench_build.py            # 130,000 accounts
    python bench/bench_build.py --accounts 20000

Targets: build <= 1.5x the baseline and <= 1 GiB; rebuild in place <= 2x.
"""

from __future__ import annotations

import argparse
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_portfolio(path: Path, accounts: int) -> None:
    """A synthetic CRM export as .xlsx: ID, name, CSM, industry, ARR, adoption."""
    import xlsxwriter

    rng = np.random.default_rng(42)
    arr = np.round(rng.lognormal(11.5, 1.1, accounts), 2)
    adoption = np.round(rng.beta(2.2, 2.0, accounts), 4)
    csms = [f"CSM {index:02d}" for index in range(40)]
    industries = ["Software", "Retail", "Finance", "Health", "Logistics"]

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Accounts")
    sheet.write_row(
        0, 0, ["Account ID", "Account Name", "CSM", "Industry", "ARR", "Adoption"]
    )
    for row in range(accounts):
        sheet.write_row(
            row + 1,
            0,
            [
                f"A{row:07d}",
                f"Company {row:06d}",
                csms[row % 40],
                industries[row % 5],
                float(arr[row]),
                float(adoption[row]),
            ],
        )
    book.close()


def output_cells(source: Path, cells_file: Path) -> None:
    """Every value xlapm writes, sheet by sheet, for the baseline to save."""
    from xlapm.build import load_portfolio
    from xlapm.core.settings import Settings
    from xlapm.layout.plan import Cells, Formula, Merge, Table
    from xlapm.layout.workbook import plan_workbook

    plan = plan_workbook(load_portfolio(source, Settings()))
    sheets = {}
    for sheet in plan.sheets:
        grid: dict[int, dict[int, object]] = {}
        for block in sheet.blocks:
            if isinstance(block, Table):
                for offset, column in enumerate(block.columns):
                    col = block.left + offset
                    grid.setdefault(block.top, {})[col] = column.header
                    for index, value in enumerate(column.values):
                        grid.setdefault(block.top + 1 + index, {})[col] = value
            elif isinstance(block, Cells):
                for r, row in enumerate(block.values):
                    for c, value in enumerate(row):
                        grid.setdefault(block.row + r, {})[block.col + c] = value
            elif isinstance(block, Merge):
                grid.setdefault(block.first_row, {})[block.first_col] = block.value
            elif isinstance(block, Formula):
                grid.setdefault(block.row, {})[block.col] = block.cached
        width = max((max(row) for row in grid.values() if row), default=0) + 1
        rows = []
        for index in range(max(grid, default=-1) + 1):
            row = grid.get(index, {})
            rows.append([row.get(col) for col in range(width)])
        sheets[sheet.name] = rows
    cells_file.write_bytes(pickle.dumps(sheets))


def baseline(source: Path, cells_file: Path, target: Path) -> None:
    """Calamine read of the input, then an openpyxl write-only save (timed)."""
    from openpyxl import Workbook
    from python_calamine import CalamineWorkbook

    sheets = pickle.loads(cells_file.read_bytes())
    started = time.perf_counter()
    book = CalamineWorkbook.from_path(str(source))
    book.get_sheet_by_index(0).to_python()

    out = Workbook(write_only=True)
    for name, rows in sheets.items():
        sheet = out.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out.save(target)
    print(f"{time.perf_counter() - started:.3f}")


def measure(command: list[str]) -> None:
    """Run ``command`` as this process's only child; print its time and peak KiB."""
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"{seconds} {peak}")


def timed(command: list[str]) -> tuple[float, float]:
    """Wall time and peak memory (MiB) of ``command`` in a process of its own."""
    done = subprocess.run(
        [sys.executable, __file__, "--phase", "measure", "--", *command],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds, peak = done.stdout.split()
    return float(seconds), float(peak) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=130_000)
    parser.add_argument(
        "--phase", choices=["cells", "baseline", "measure"], help=argparse.SUPPRESS
    )
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "measure":
        measure(args.paths)
        return
    args.paths = [Path(path) for path in args.paths]
    if args.phase == "cells":
        output_cells(*args.paths)
        return
    if args.phase == "baseline":
        baseline(*args.paths)
        return

    with tempfile.TemporaryDirectory(prefix="xlapm-bench-") as folder:
        work = Path(folder)
        source = work / "portfolio.xlsx"
        make_portfolio(source, args.accounts)
        cells = work / "cells.pickle"
        me = [sys.executable, __file__]
        subprocess.run([*me, "--phase", "cells", str(source), str(cells)], check=True)

        base_seconds, base_peak = timed(
            [*me, "--phase", "baseline", str(source), str(cells), str(work / "b.xlsx")]
        )
        built = work / "built.xlsx"
        xlapm = [sys.executable, "-m", "xlapm"]
        build_seconds, build_peak = timed(
            [*xlapm, "build", str(source), "-o", str(built), "-q"]
        )
        rebuild_seconds, rebuild_peak = timed([*xlapm, "rebuild", str(built), "-q"])

    print(f"accounts:           {args.accounts:,}")
    print(
        f"baseline:           {base_seconds:6.2f} s  peak {base_peak:6.0f} MiB "
        "(calamine read + openpyxl write-only save of the same cells)"
    )
    print(
        f"xlapm build:        {build_seconds:6.2f} s  peak {build_peak:6.0f} MiB  "
        f"ratio {build_seconds / base_seconds:.2f}x (target <= 1.5x, <= 1024 MiB)"
    )
    print(
        f"xlapm rebuild:      {rebuild_seconds:6.2f} s  peak {rebuild_peak:6.0f} MiB  "
        f"ratio {rebuild_seconds / base_seconds:.2f}x (target <= 2x)"
    )


if __name__ == "__main__":
    main()
