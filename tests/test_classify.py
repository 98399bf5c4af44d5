"""The matrix rule: one rule for one account and for a whole table."""

import numpy as np
import pytest

from xlapm.core.classify import (
    classify,
    quadrant_codes,
    quadrant_key,
    resolve_threshold,
    segment_codes,
    segment_name,
)
from xlapm.core.settings import QUADRANT_KEYS, Settings, ThresholdRule


@pytest.mark.parametrize(
    ("revenue", "health", "expected"),
    [
        (100.0, 0.5, "tier1"),  # exactly on both thresholds counts as high
        (99.99, 0.5, "maintain"),
        (100.0, 0.4999, "invest"),
        (99.99, 0.4999, "ramp"),
        (1e9, 1.0, "tier1"),
        (0.0, 0.0, "ramp"),
    ],
)
def test_value_on_a_threshold_counts_as_high(revenue, health, expected):
    assert quadrant_key(revenue, health, 100.0, 0.5) == expected


@pytest.mark.parametrize(
    ("revenue", "health"), [(None, 0.5), (5.0, None), (float("nan"), 0.2)]
)
def test_missing_metric_leaves_account_unscored(revenue, health):
    assert quadrant_key(revenue, health, 1.0, 0.5) is None


def test_vectorised_rule_agrees_with_scalar_rule_on_every_account():
    rng = np.random.default_rng(3)
    revenue = rng.choice([99.0, 100.0, 101.0, np.nan], size=400)
    health = rng.choice([0.49, 0.5, 0.51, np.nan], size=400)

    codes = quadrant_codes(revenue, health, 100.0, 0.5)

    for code, rev, hea in zip(codes, revenue, health, strict=True):
        key = quadrant_key(rev, hea, 100.0, 0.5)
        assert (QUADRANT_KEYS[code] if code >= 0 else None) == key


def test_median_and_percentile_interpolate_like_excel():
    values = np.array([1.0, 2.0, 3.0, 4.0, np.nan])

    assert resolve_threshold(ThresholdRule.parse("median"), values).value == 2.5
    # Excel: =PERCENTILE.INC({1,2,3,4},0.75) = 3.25
    assert resolve_threshold(ThresholdRule.parse("p75"), values).value == 3.25
    assert resolve_threshold(ThresholdRule.parse("7"), values).value == 7.0


def test_median_over_no_accounts_is_nan_and_scores_nobody():
    settings = Settings()
    revenue = np.array([np.nan, np.nan])

    result = classify(revenue, np.array([0.1, 0.2]), settings)

    assert np.isnan(result.revenue_threshold.value)
    assert (result.quadrant == -1).all()


def test_threshold_describes_rule_and_value():
    threshold = resolve_threshold(ThresholdRule.parse("median"), np.array([1.0, 2.0]))

    assert threshold.describe("1.50") == "median = 1.50"


def test_segments_follow_revenue_bands_with_lower_bound_included():
    settings = Settings()
    revenue = np.array([0.0, 99_999.0, 100_000.0, 999_999.0, 1_000_000.0, np.nan, -5.0])

    codes = segment_codes(revenue, settings)

    assert codes.tolist() == [0, 0, 1, 1, 2, -1, 0]
    assert segment_name(1_000_000, settings) == "Strategic"
    assert segment_name(None, settings) is None


def test_per_segment_thresholds_apply_inside_their_segment_only():
    settings = Settings.model_validate(
        {
            "segment_thresholds": {"Strategic": {"health": "0.9"}},
            "revenue_threshold": 100_000,
            "health_threshold": 0.5,
        }
    )
    revenue = np.array([2_000_000.0, 200_000.0])
    health = np.array([0.8, 0.8])

    result = classify(revenue, health, settings)

    assert [QUADRANT_KEYS[c] for c in result.quadrant] == ["invest", "tier1"]
    assert result.segment_thresholds["Strategic"][1].value == 0.9
