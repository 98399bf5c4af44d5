"""The matrix rule: which quadrant and which segment an account belongs to.

One rule serves a single account (a formula in a cell) and a whole table (a rebuild):
an account is *high* on an axis when its value is at or above the threshold, so a
value exactly on a threshold counts as high.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xlapm.core.settings import QUADRANT_KEYS, UNSCORED, Settings, ThresholdRule

# Index = 2 * high revenue + high health, the one table both entry points read.
_QUADRANT_BY_LEVEL = ("ramp", "maintain", "invest", "tier1")


@dataclass(frozen=True)
class Threshold:
    """A threshold in force: its value and the rule that produced it."""

    value: float
    rule: ThresholdRule

    def describe(self, shown: str | None = None) -> str:
        """``median = 64.76``; ``shown`` is the value as the sheet formats it."""
        text = shown if shown is not None else f"{self.value:,.4g}"
        if self.rule.kind == "value":
            return f"fixed = {text}"
        return f"{self.rule.describe()} = {text}"


def resolve_threshold(rule: ThresholdRule, values: np.ndarray) -> Threshold:
    """The threshold value of ``rule`` over the accounts' ``values`` (NaN ignored).

    Percentiles interpolate linearly between accounts, as Excel's PERCENTILE.INC
    and MEDIAN do, so a template formula and a rebuild agree.

    >>> resolve_threshold(ThresholdRule.parse("median"), np.array([1.0, 3.0])).value
    2.0
    """
    if rule.kind == "value":
        return Threshold(float(rule.value or 0.0), rule)

    known = values[~np.isnan(values)]
    if known.size == 0:
        return Threshold(float("nan"), rule)
    percentile = 50.0 if rule.kind == "median" else float(rule.percentile or 0.0)
    return Threshold(float(np.percentile(known, percentile)), rule)


def quadrant_key(
    revenue: float | None,
    health: float | None,
    revenue_threshold: float,
    health_threshold: float,
) -> str | None:
    """The quadrant key (``tier1``…) of one account, or None when it is unscored.

    >>> quadrant_key(250_000, 0.8, 100_000, 0.5)
    'tier1'
    """
    if revenue is None or health is None or revenue != revenue or health != health:
        return None
    level = 2 * (revenue >= revenue_threshold) + (health >= health_threshold)
    return _QUADRANT_BY_LEVEL[level]


def quadrant_codes(
    revenue: np.ndarray,
    health: np.ndarray,
    revenue_threshold: np.ndarray | float,
    health_threshold: np.ndarray | float,
) -> np.ndarray:
    """Vectorised ``quadrant_key``: an index into ``QUADRANT_KEYS`` or -1 (unscored).

    Thresholds may be one value or one per account (per-segment thresholds).
    """
    with np.errstate(invalid="ignore"):
        level = 2 * (revenue >= revenue_threshold) + (health >= health_threshold)
    order = np.array([QUADRANT_KEYS.index(key) for key in _QUADRANT_BY_LEVEL])
    codes = order[level]
    scored = ~(np.isnan(revenue) | np.isnan(health))
    scored &= ~(np.isnan(revenue_threshold) | np.isnan(health_threshold))
    return np.where(scored, codes, -1)


def quadrant_labels(codes: np.ndarray, settings: Settings) -> np.ndarray:
    """The quadrant names for ``quadrant_codes``, UNSCORED where -1."""
    names = np.array([*settings.quadrant_names(), UNSCORED], dtype=object)
    return names[codes]


def segment_codes(revenue: np.ndarray, settings: Settings) -> np.ndarray:
    """An index into ``settings.segments`` for each revenue, -1 where it is missing.

    Revenue below the first band's minimum still falls in the first segment.
    """
    bounds = np.array([segment.min_revenue for segment in settings.segments[1:]])
    codes = np.searchsorted(bounds, revenue, side="right")
    return np.where(np.isnan(revenue), -1, codes)


def segment_name(revenue: float | None, settings: Settings) -> str | None:
    """The size segment of one revenue value.

    >>> segment_name(250_000, Settings())
    'Enterprise'
    """
    if revenue is None or revenue != revenue:
        return None
    code = int(segment_codes(np.array([float(revenue)]), settings)[0])
    return settings.segments[code].name


@dataclass(frozen=True)
class Classification:
    """The result of classifying a table of accounts."""

    quadrant: np.ndarray  # codes into QUADRANT_KEYS, -1 unscored
    segment: np.ndarray  # codes into settings.segments, -1 unknown
    revenue_threshold: Threshold
    health_threshold: Threshold
    segment_thresholds: dict[str, tuple[Threshold, Threshold]]


def classify(
    revenue: np.ndarray, health: np.ndarray, settings: Settings
) -> Classification:
    """Classify every account at once; NaN in either metric leaves it unscored.

    A median or percentile is taken over the accounts that have that metric, as
    Excel's MEDIAN over the column does, so a native formula agrees with a rebuild.
    """
    scored_revenue = revenue
    scored_health = health

    revenue_threshold = resolve_threshold(settings.revenue_threshold, scored_revenue)
    health_threshold = resolve_threshold(settings.health_threshold, scored_health)
    segments = segment_codes(revenue, settings)

    revenue_limits = np.full(revenue.shape, revenue_threshold.value)
    health_limits = np.full(health.shape, health_threshold.value)
    per_segment: dict[str, tuple[Threshold, Threshold]] = {}
    for index, segment in enumerate(settings.segments):
        override = settings.segment_thresholds.get(segment.name)
        if override is None:
            continue
        members = segments == index
        own_revenue = resolve_threshold(
            override.revenue or settings.revenue_threshold,
            np.where(members, scored_revenue, np.nan),
        )
        own_health = resolve_threshold(
            override.health or settings.health_threshold,
            np.where(members, scored_health, np.nan),
        )
        revenue_limits[members] = own_revenue.value
        health_limits[members] = own_health.value
        per_segment[segment.name] = (own_revenue, own_health)

    codes = quadrant_codes(revenue, health, revenue_limits, health_limits)
    return Classification(
        codes, segments, revenue_threshold, health_threshold, per_segment
    )
