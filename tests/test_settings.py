"""Settings: threshold rules, TOML files, flags over files, bad values."""

from pathlib import Path

import pytest

from xlapm.core.settings import HealthScale, Settings, ThresholdRule, load_settings
from xlapm.errors import SettingsError


@pytest.mark.parametrize(
    ("text", "kind", "value", "percentile"),
    [
        ("median", "median", None, None),
        (" Median ", "median", None, None),
        ("p75", "percentile", None, 75.0),
        ("P90", "percentile", None, 90.0),
        ("120000", "value", 120000.0, None),
        ("$120,000", "value", 120000.0, None),
        (0.5, "value", 0.5, None),
    ],
)
def test_threshold_rule_reads_median_percentiles_and_values(
    text, kind, value, percentile
):
    rule = ThresholdRule.parse(text)

    assert (rule.kind, rule.value, rule.percentile) == (kind, value, percentile)


def test_threshold_typed_as_percent_is_a_fraction_marked_as_percent():
    rule = ThresholdRule.parse("50%")

    assert rule.value == 0.5
    assert rule.percent


@pytest.mark.parametrize("text", ["middle", "p", "p101", "", True])
def test_threshold_rule_rejects_words_it_does_not_know(text):
    with pytest.raises(SettingsError, match="not a number, 'median' or a percentile"):
        ThresholdRule.parse(text)


def test_defaults_have_four_quadrants_and_three_segments():
    settings = Settings()

    assert settings.quadrant_names() == ["TIER 1", "INVEST", "RAMP", "MAINTAIN"]
    assert [s.name for s in settings.segments] == [
        "Commercial",
        "Enterprise",
        "Strategic",
    ]


def test_toml_file_sets_columns_thresholds_and_quadrant_names(tmp_path: Path):
    config = tmp_path / "apm.toml"
    config.write_text(
        """
revenue_threshold = 250000
health_threshold = "p60"
health_scale = "percent"

[columns]
revenue = "Annual Revenue"
health = "Usage"

[quadrants.tier1]
name = "CROWN"
colour = "#112233"
approach = "one-to-one"
activities = ["Call often"]
cadence = "Weekly"
summary = "Best accounts"
""",
        encoding="utf-8",
    )

    settings = load_settings(config)

    assert settings.columns.revenue == "Annual Revenue"
    assert settings.revenue_threshold.value == 250000
    assert settings.health_threshold.percentile == 60
    assert settings.health_scale is HealthScale.PERCENT
    assert settings.quadrant_names()[0] == "CROWN"
    assert settings.quadrant_names()[1] == "INVEST"


def test_flags_override_the_file(tmp_path: Path):
    config = tmp_path / "apm.toml"
    config.write_text('revenue_threshold = "p75"\n[columns]\nrevenue = "ARR"\n')

    settings = load_settings(
        config, revenue="MRR", revenue_threshold=ThresholdRule.parse("median")
    )

    assert settings.columns.revenue == "MRR"
    assert settings.revenue_threshold.kind == "median"


def test_bad_colour_in_file_names_the_setting(tmp_path: Path):
    config = tmp_path / "apm.toml"
    config.write_text(
        '[quadrants.ramp]\nname = "RAMP"\ncolour = "red"\napproach = "one-to-many"\n'
        'activities = []\ncadence = "x"\nsummary = "y"\n'
    )

    with pytest.raises(
        SettingsError, match=r"Setting 'quadrants\.ramp\.colour' in apm"
    ):
        load_settings(config)


def test_segments_must_rise(tmp_path: Path):
    config = tmp_path / "apm.toml"
    config.write_text(
        '[[segments]]\nname = "Big"\nmin_revenue = 100\napproach = "one-to-one"\n'
        '[[segments]]\nname = "Small"\nmin_revenue = 0\napproach = "one-to-many"\n'
    )

    with pytest.raises(SettingsError, match="must rise"):
        load_settings(config)


def test_missing_config_file_is_a_settings_error(tmp_path: Path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_misspelt_setting_is_named_not_ignored(tmp_path: Path):
    config = tmp_path / "apm.toml"
    config.write_text("revenue_treshold = 5\n")

    with pytest.raises(SettingsError) as raised:
        load_settings(config)

    assert raised.value.message == (
        "Setting 'revenue_treshold' in apm.toml: is not a setting xlapm knows "
        "(a typo?)."
    )


def test_bad_threshold_in_file_names_the_setting(tmp_path: Path):
    config = tmp_path / "apm.toml"
    config.write_text('health_threshold = "lots"\n')

    with pytest.raises(SettingsError, match=r"^Setting 'health_threshold' in apm"):
        load_settings(config)


def test_threshold_for_a_segment_that_does_not_exist_is_refused(tmp_path: Path):
    config = tmp_path / "apm.toml"
    config.write_text('[segment_thresholds.Gold]\nhealth = "p75"\n')

    with pytest.raises(SettingsError, match="Gold, which is not a segment"):
        load_settings(config)
