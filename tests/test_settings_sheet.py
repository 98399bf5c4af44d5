"""The Settings sheet: what it shows is what a rebuild reads back."""

from __future__ import annotations

from typing import Any

import pytest

from xlapm.core.settings import HealthScale, Settings, ThresholdRule
from xlapm.layout.plan import Cells, SheetPlan
from xlapm.layout.settings_sheet import plan_settings_sheet, settings_from_rows


def cell_rows(sheet: SheetPlan) -> list[list[Any]]:
    """The sheet's values as rows, as calamine would read them back."""
    grid: dict[int, dict[int, Any]] = {}
    for block in sheet.blocks:
        if isinstance(block, Cells):
            for r, row in enumerate(block.values):
                for c, value in enumerate(row):
                    grid.setdefault(block.row + r, {})[block.col + c] = value
    width = 1 + max(col for row in grid.values() for col in row)
    return [
        [grid.get(r, {}).get(c) for c in range(width)] for r in range(max(grid) + 1)
    ]


def set_value(rows: list[list[Any]], label: str, value: Any, col: int = 1) -> None:
    (row,) = [row for row in rows if row[0] == label]
    row[col] = value


def test_unchanged_sheet_reads_back_as_the_same_settings():
    settings = Settings.model_validate(
        {
            "revenue_threshold": "p75",
            "health_threshold": "50%",
            "health_scale": "percent",
        }
    )
    rows = cell_rows(plan_settings_sheet(settings, ("ARR", "Usage"), None, ["Ana"]))

    back = settings_from_rows(rows, Settings())

    assert back.revenue_threshold == settings.revenue_threshold
    assert back.health_threshold.value == pytest.approx(0.5)
    assert back.health_scale is HealthScale.PERCENT
    assert back.columns.revenue == "ARR"
    assert back.quarterly == settings.quarterly
    assert back.quadrant_names() == settings.quadrant_names()


def test_a_cs_leads_edits_are_read_back():
    rows = cell_rows(
        plan_settings_sheet(Settings(), ("ARR", "Adoption"), None, ["Ana", "Bo"])
    )
    set_value(rows, "Revenue threshold rule", "value")
    set_value(rows, "Revenue fixed value", 250_000)
    set_value(rows, "tier1", "CROWN")
    set_value(rows, "tier1", 7, col=5)
    set_value(rows, "Hours per CSM per quarter", 400)
    set_value(rows, "Ana", 120)
    set_value(rows, "Alert: health drop of more than", 0.2)

    back = settings_from_rows(rows, Settings())

    assert back.revenue_threshold == ThresholdRule(kind="value", value=250_000)
    assert back.quadrant_names()[0] == "CROWN"
    assert back.quarterly.quadrant_weights.tier1 == 7
    assert back.quarterly.capacity_hours == 400
    assert back.quarterly.capacity_of("Ana") == 120
    assert back.quarterly.capacity_of("Bo") == 400
    assert back.quarterly.alerts.health_drop == 0.2


def test_segments_typed_by_a_person_replace_the_defaults():
    rows = cell_rows(plan_settings_sheet(Settings()))
    set_value(rows, "Strategic", 2_000_000)

    back = settings_from_rows(rows, Settings())

    assert back.segments[2].min_revenue == 2_000_000
