"""The Settings sheet: the settings in force, as named cells a person can change.

The same labels are read back by ``settings_from_rows``: a rebuild of a workbook takes
its thresholds, quadrant names and segments from this sheet, so a CS lead sets them
once in the template.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xlapm.core.settings import QUADRANT_KEYS, HealthScale, Settings, ThresholdRule
from xlapm.layout import look
from xlapm.layout.plan import Cells, DefinedName, ListValidation, SheetPlan, Style

SETTINGS = "Settings"
RULE_CHOICES = ["median", "p25", "p33", "p50", "p67", "p75", "p90", "value"]
SCALE_CHOICES = [scale.value for scale in HealthScale]
APPROACH_CHOICES = ["one-to-one", "one-to-many", "one-to-one and one-to-many"]

# label, defined name, dropdown choices, help text
_ROWS: list[tuple[str, str | None, list[str] | None, str]] = [
    (
        "Revenue column",
        "APM_RevenueColumn",
        None,
        "Header of the revenue metric (ARR).",
    ),
    ("Health column", "APM_HealthColumn", None, "Header of the health metric."),
    (
        "Health scale",
        "APM_HealthScale",
        SCALE_CHOICES,
        "fraction: 0.45 is 45%; percent: 45 is 45%; number: shown as it is.",
    ),
    (
        "Revenue threshold rule",
        "APM_RevenueRule",
        RULE_CHOICES,
        "median, a percentile such as p75, or value (use the fixed value below).",
    ),
    ("Revenue fixed value", "APM_RevenueValue", None, "Used when the rule is value."),
    (
        "Health threshold rule",
        "APM_HealthRule",
        RULE_CHOICES,
        "median, a percentile such as p75, or value (use the fixed value below).",
    ),
    (
        "Health fixed value",
        "APM_HealthValue",
        None,
        "Used when the rule is value; in the column's own scale (50 or 50% or 0.5).",
    ),
    ("Currency format", "APM_CurrencyFormat", None, "Excel number format for revenue."),
]
FIRST_ROW = 4
QUADRANT_TOP = FIRST_ROW + len(_ROWS) + 2
SEGMENT_TOP = QUADRANT_TOP + 7


def plan_settings_sheet(
    settings: Settings,
    columns: tuple[str, str] | None = None,
    health_scale: HealthScale | None = None,
    csms: Sequence[str] = (),
) -> SheetPlan:
    """The Settings sheet for ``settings``, with the columns and scale found.

    ``csms`` get a row each for their hours per quarter.

    The thresholds in force live on the Summary sheet (an owned sheet that every
    rebuild refreshes); this sheet holds only what a person chooses.
    """
    sheet = SheetPlan(name=SETTINGS, gridlines=False, owned=False)
    sheet.blocks += [
        Cells(0, 0, [["Settings"]], look.TITLE),
        Cells(
            1,
            0,
            [
                [
                    "Change the yellow cells, then rebuild. xlapm reads them every "
                    "time; a value on a threshold counts as high."
                ]
            ],
            look.SUBTITLE,
        ),
        Cells(FIRST_ROW - 1, 0, [["Setting", "Value", "What it means"]], look.LABEL),
    ]
    names: list[DefinedName] = []
    values = _values(settings, columns, health_scale)
    for offset, (label, name, choices, help_text) in enumerate(_ROWS):
        row = FIRST_ROW + offset
        shown = Style(
            fill=look.INPUT.fill,
            border_colour=look.INPUT.border_colour,
            num_format=_format(label, settings),
        )
        sheet.blocks += [
            Cells(row, 0, [[label]], look.LABEL),
            Cells(row, 1, [[values[label]]], shown),
            Cells(row, 2, [[help_text]], look.NOTE),
        ]
        if name:
            names.append(DefinedName(name, f"={SETTINGS}!$B${row + 1}"))
        if choices:
            sheet.validations.append(
                ListValidation(
                    ref=f"B{row + 1}",
                    choices=choices,
                    strict=False,
                    prompt="Pick from the list or type e.g. p80",
                )
            )

    sheet.blocks += _quadrant_rows(settings, names)
    sheet.blocks += _segment_rows(settings, names)
    sheet.blocks += _planning_rows(settings, csms)
    sheet.widths = {0: 26, 1: 22, 2: 60, 3: 30, 4: 26}
    sheet.names = names
    return sheet


def _values(
    settings: Settings,
    columns: tuple[str, str] | None,
    scale: HealthScale | None,
) -> dict[str, Any]:
    revenue_col, health_col = columns or (
        settings.columns.revenue or "",
        settings.columns.health or "",
    )
    return {
        "Revenue column": revenue_col,
        "Health column": health_col,
        "Health scale": (scale or settings.health_scale).value,
        "Revenue threshold rule": _rule_text(settings.revenue_threshold),
        "Revenue fixed value": settings.revenue_threshold.value,
        "Health threshold rule": _rule_text(settings.health_threshold),
        "Health fixed value": _fixed_health(settings.health_threshold),
        "Currency format": settings.currency_format,
    }


def _format(label: str, settings: Settings) -> str | None:
    if label == "Revenue fixed value":
        return settings.currency_format
    return None


def _rule_text(rule: ThresholdRule) -> str:
    return "value" if rule.kind == "value" else rule.as_text()


def _fixed_health(rule: ThresholdRule) -> str | float | None:
    if rule.kind != "value":
        return None
    return rule.as_text() if rule.percent else rule.value


def _quadrant_rows(settings: Settings, names: list[DefinedName]) -> list[Cells]:
    top = QUADRANT_TOP
    blocks = [
        Cells(top - 1, 0, [["Quadrant"]], look.HEADING),
        Cells(
            top,
            0,
            [["Key", "Name", "Colour", "Approach", "Cadence", "Effort weight"]],
            look.LABEL,
        ),
    ]
    weights = settings.quarterly.quadrant_weights
    for offset, key in enumerate(QUADRANT_KEYS):
        quadrant = settings.quadrants[key]
        row = top + 1 + offset
        swatch = Style(fill=quadrant.colour, font_colour=look.ink_on(quadrant.colour))
        blocks += [
            Cells(row, 0, [[key]], look.LABEL),
            Cells(row, 1, [[quadrant.name]], look.INPUT),
            Cells(row, 2, [[quadrant.colour]], swatch),
            Cells(
                row,
                3,
                [[quadrant.approach.value, quadrant.cadence, weights.of(key)]],
                look.INPUT,
            ),
        ]
        names.append(DefinedName(f"APM_{key.title()}Name", f"={SETTINGS}!$B${row + 1}"))
    return blocks


def _segment_rows(settings: Settings, names: list[DefinedName]) -> list[Cells]:
    top = SEGMENT_TOP
    blocks = [
        Cells(top - 1, 0, [["Segments (by revenue)"]], look.HEADING),
        Cells(
            top,
            0,
            [["Segment", "Minimum revenue", "Approach", "Effort weight"]],
            look.LABEL,
        ),
    ]
    quarterly = settings.quarterly
    money = Style(fill=look.INPUT.fill, num_format=settings.currency_format)
    for offset, segment in enumerate(settings.segments):
        row = top + 1 + offset
        blocks += [
            Cells(row, 0, [[segment.name]], look.INPUT),
            Cells(row, 1, [[segment.min_revenue]], money),
            Cells(
                row,
                2,
                [[segment.approach.value, quarterly.segment_weight(segment.name)]],
                look.INPUT,
            ),
        ]
    first, last = top + 2, top + 1 + len(settings.segments)
    names += [
        DefinedName("APM_SegmentNames", f"={SETTINGS}!$A${first}:$A${last}"),
        DefinedName("APM_SegmentMins", f"={SETTINGS}!$B${first}:$B${last}"),
    ]
    return blocks


# label, field of QuarterlySettings (a dotted path into alerts), help text
_PLANNING: list[tuple[str, str, str]] = [
    ("Hours per CSM per quarter", "capacity_hours",
     "What a CSM gives to their accounts in a quarter; per CSM below."),
    ("Most one-to-one accounts per CSM", "max_one_to_one",
     "Beyond it, the lowest-revenue ones are flagged and planned one-to-many."),
    ("Overflow weight", "overflow_weight",
     "Effort of an account over the cap (times its segment weight)."),
    ("Alert: health drop of more than", "alerts.health_drop",
     "MAINTAIN accounts whose health fell more than this since last quarter."),
    ("Alert: INVEST quarters in a row", "alerts.invest_quarters",
     "INVEST accounts that stayed INVEST this many quarters."),
]  # fmt: skip
_CSM_HEADER = ["CSM", "Hours per quarter"]


def _planning_rows(settings: Settings, csms: Sequence[str]) -> list[Cells]:
    quarterly = settings.quarterly
    top = SEGMENT_TOP + len(settings.segments) + 3
    blocks = [Cells(top - 1, 0, [["Quarterly planning"]], look.HEADING)]
    for offset, (label, path, help_text) in enumerate(_PLANNING):
        value: Any = quarterly
        for part in path.split("."):
            value = getattr(value, part)
        blocks += [
            Cells(top + offset, 0, [[label]], look.LABEL),
            Cells(top + offset, 1, [[value]], look.INPUT),
            Cells(top + offset, 2, [[help_text]], look.NOTE),
        ]
    csm_top = top + len(_PLANNING) + 1
    blocks += [
        Cells(csm_top, 0, [_CSM_HEADER], look.LABEL),
        Cells(csm_top, 2, [["Blank: the hours per CSM above."]], look.NOTE),
    ]
    for offset, csm in enumerate(csms):
        # Only a CSM's own figure is written, so changing the default moves
        # everyone who has none.
        hours = quarterly.capacity_overrides.get(csm)
        blocks += [
            Cells(csm_top + 1 + offset, 0, [[csm]], look.INPUT),
            Cells(csm_top + 1 + offset, 1, [[hours]], look.INPUT),
        ]
    return blocks


def settings_from_rows(rows: list[list[Any]], base: Settings) -> Settings:
    """Settings read back from a Settings sheet's cell values (row by row).

    Labels are found wherever they are in column A, so a person may insert rows.
    Missing labels keep ``base``'s values.
    """
    by_label = {
        str(row[0]).strip(): row[1:] for row in rows if row and isinstance(row[0], str)
    }
    update: dict[str, Any] = {}
    columns = base.columns.model_copy(
        update={
            "revenue": _text(by_label, "Revenue column") or base.columns.revenue,
            "health": _text(by_label, "Health column") or base.columns.health,
        }
    )
    update["columns"] = columns
    scale = _text(by_label, "Health scale")
    if scale in SCALE_CHOICES:
        update["health_scale"] = HealthScale(scale)
    for axis in ("Revenue", "Health"):
        rule = _read_rule(by_label, axis)
        if rule is not None:
            update[f"{axis.lower()}_threshold"] = rule
    currency = _text(by_label, "Currency format")
    if currency:
        update["currency_format"] = currency

    merged = base.model_dump()
    merged.update(update)
    merged["quadrants"] = _read_quadrants(by_label, base)
    merged["segments"] = _read_segments(rows, base)
    merged["quarterly"] = _read_planning(rows, by_label, base)
    return Settings.model_validate(merged)


def _read_planning(
    rows: list[list[Any]], by_label: dict[str, list[Any]], base: Settings
) -> dict[str, Any]:
    planning = base.quarterly.model_dump()
    for label, path, _ in _PLANNING:
        value = (by_label.get(label) or [None])[0]
        if isinstance(value, int | float) and not isinstance(value, bool):
            *parents, leaf = path.split(".")
            target = planning
            for parent in parents:
                target = target[parent]
            target[leaf] = value
    weights = planning["quadrant_weights"]
    for key in QUADRANT_KEYS:
        cells = list(by_label.get(key) or []) + [None] * 5
        if isinstance(cells[4], int | float) and not isinstance(cells[4], bool):
            weights[key] = float(cells[4])
    for row in _rows_below(rows, ["Segment", "Minimum revenue"]):
        if len(row) > 3 and isinstance(row[3], int | float):
            planning["segment_weights"][str(row[0]).strip()] = float(row[3])
    for row in _rows_below(rows, _CSM_HEADER):
        if len(row) > 1 and isinstance(row[1], int | float):
            planning["capacity_overrides"][str(row[0]).strip()] = float(row[1])
    return planning


def _rows_below(rows: list[list[Any]], header: list[str]) -> list[list[Any]]:
    """The rows under ``header`` (matched on its first cells) up to a blank one."""
    start = next(
        (index for index, row in enumerate(rows) if list(row[: len(header)]) == header),
        None,
    )
    if start is None:
        return []
    found = []
    for row in rows[start + 1 :]:
        if not row or not isinstance(row[0], str) or not row[0].strip():
            break
        found.append(list(row))
    return found


def _text(by_label: dict[str, list[Any]], label: str) -> str | None:
    cells = by_label.get(label)
    if not cells or cells[0] is None:
        return None
    text = str(cells[0]).strip()
    return text or None


def _read_rule(by_label: dict[str, list[Any]], axis: str) -> ThresholdRule | None:
    rule = _text(by_label, f"{axis} threshold rule")
    if rule is None:
        return None
    if rule.casefold() == "value":
        fixed = by_label.get(f"{axis} fixed value", [None])[0]
        if fixed is None or fixed == "":
            return None
        return ThresholdRule.parse(fixed)
    return ThresholdRule.parse(rule)


def _read_quadrants(by_label: dict[str, list[Any]], base: Settings) -> dict[str, Any]:
    quadrants = {key: base.quadrants[key].model_dump() for key in QUADRANT_KEYS}
    for key in QUADRANT_KEYS:
        cells = by_label.get(key)
        if not cells:
            continue
        name, colour, approach, cadence = (list(cells) + [None] * 4)[:4]
        if isinstance(name, str) and name.strip():
            quadrants[key]["name"] = name.strip()
        if isinstance(colour, str) and colour.strip():
            quadrants[key]["colour"] = colour.strip()
        if approach in APPROACH_CHOICES:
            quadrants[key]["approach"] = approach
        if isinstance(cadence, str) and cadence.strip():
            quadrants[key]["cadence"] = cadence.strip()
    return quadrants


def _read_segments(rows: list[list[Any]], base: Settings) -> list[dict[str, Any]]:
    segments = []
    for row in _rows_below(rows, ["Segment", "Minimum revenue"]):
        minimum = row[1] if len(row) > 1 and isinstance(row[1], int | float) else 0
        approach = row[2] if len(row) > 2 and row[2] in APPROACH_CHOICES else None
        segments.append(
            {
                "name": row[0].strip(),
                "min_revenue": float(minimum),
                "approach": approach or "one-to-many",
            }
        )
    return segments or [segment.model_dump() for segment in base.segments]
