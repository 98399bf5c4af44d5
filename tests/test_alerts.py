"""Alert rules, on the sample quarters and at their boundaries.

Data: the three quarters in ``tests/data/quarters/``, a 25-company slice of
``../shared/data/maven_crm_accounts.csv`` (Maven Analytics "CRM Sales Opportunities",
kisaraF/CRM-Sales_Analysis) with made-up adoption; ``tests/data/quarters/README.md``
lists which accounts were built to trip, or just miss, each rule. The boundary tests
use small histories typed in the test.
"""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError
from quarters import SETTINGS, build_history

from xlapm.core.alerts import AlertRule, find_alerts, rule_title
from xlapm.core.history import read_history
from xlapm.core.quarterly_settings import AlertSettings, QuarterlySettings
from xlapm.core.settings import Settings
from xlapm.errors import InputError

HEADER = ["Quarter", "Account ID", "Account", "Quadrant", "Health", "Revenue"]


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return build_history()


def with_alerts(health_drop: float = 0.10, invest_quarters: int = 3) -> Settings:
    alerts = AlertSettings(health_drop=health_drop, invest_quarters=invest_quarters)
    return SETTINGS.model_copy(update={"quarterly": QuarterlySettings(alerts=alerts)})


def raised(alerts: list) -> set[tuple[AlertRule, str]]:
    return {(alert.rule, alert.account) for alert in alerts}


def test_the_sample_quarters_raise_the_planned_alerts(history: pd.DataFrame):
    alerts = find_alerts(history, SETTINGS)

    assert [(alert.rule, alert.account) for alert in alerts] == [
        (AlertRule.SLIPPED, "Conecom"),
        (AlertRule.SLIPPED, "Acme Corporation"),
        (AlertRule.HEALTH_DROP, "Bioholding"),
        (AlertRule.HEALTH_DROP, "Blackzim"),
        (AlertRule.STALLED, "Codehow"),
        (AlertRule.STALLED, "Faxquote"),
    ]


def test_an_alert_carries_what_the_csm_needs(history: pd.DataFrame):
    bioholding = next(
        a for a in find_alerts(history, SETTINGS) if a.account_id == "MV-0004"
    )

    assert bioholding.quarter == "2024Q4"
    assert bioholding.csm == "Bo Chen"
    assert (bioholding.previous_quadrant, bioholding.quadrant) == (
        "MAINTAIN",
        "MAINTAIN",
    )
    assert (bioholding.previous_health, bioholding.health) == (0.78, 0.67)
    assert bioholding.detail == (
        "Was MAINTAIN in 2024Q3; health fell from 78% to 67%, by more than 10 points."
    )


def test_a_drop_of_exactly_the_limit_does_not_alert(history: pd.DataFrame):
    # Betatech 80% → 70% and Cancity 55% → 45% fall by exactly ten points.
    accounts = {alert.account for alert in find_alerts(history, SETTINGS)}

    assert "Betatech" not in accounts
    assert "Cancity" not in accounts


def test_a_lower_limit_catches_the_smaller_drops(history: pd.DataFrame):
    # Doncon fell 53% → 44%: nine points, exactly at 0.09, just over 0.089.
    at_limit = raised(find_alerts(history, with_alerts(health_drop=0.09)))
    under = raised(find_alerts(history, with_alerts(health_drop=0.089)))

    assert (AlertRule.HEALTH_DROP, "Doncon") not in at_limit
    assert (AlertRule.HEALTH_DROP, "Doncon") in under
    assert (AlertRule.HEALTH_DROP, "Betatech") in at_limit
    assert (AlertRule.HEALTH_DROP, "Cancity") in at_limit


@pytest.mark.parametrize(
    ("before", "after", "alerts"),
    [
        (0.80, 0.70, False),  # exactly 10 points
        (0.55, 0.45, False),  # exactly 10 points, 0.10000000000000009 in binary
        (0.80, 0.6999, True),  # just over
        (0.80, 0.699, True),
        (0.80, 0.7001, False),  # just under
        (0.80, 0.85, False),  # a rise
        (0.80, None, False),  # no health now: nothing to compare
    ],
)
def test_health_drop_boundary(before: float, after: float | None, alerts: bool):
    rows = [
        HEADER,
        ["2024Q3", "A1", "Acme", "MAINTAIN", before, 1000],
        ["2024Q4", "A1", "Acme", "MAINTAIN" if after else "UNSCORED", after, 1000],
    ]

    found = raised(find_alerts(read_history(rows), SETTINGS))

    assert ((AlertRule.HEALTH_DROP, "Acme") in found) is alerts


def test_health_drop_only_watches_maintain_accounts():
    rows = [
        HEADER,
        ["2024Q3", "A1", "Acme", "TIER 1", 0.90, 900_000],
        ["2024Q3", "A2", "Betatech", "RAMP", 0.45, 1_000],
        ["2024Q4", "A1", "Acme", "TIER 1", 0.60, 900_000],
        ["2024Q4", "A2", "Betatech", "RAMP", 0.10, 1_000],
    ]

    assert find_alerts(read_history(rows), SETTINGS) == []


@pytest.mark.parametrize(
    ("now", "alerts"),
    [
        ("INVEST", True),
        ("MAINTAIN", True),
        ("RAMP", True),
        ("TIER 1", False),
        ("UNSCORED", False),
    ],
)
def test_tier1_slipped(now: str, alerts: bool):
    rows = [
        HEADER,
        ["2024Q3", "A1", "Acme", "TIER 1", 0.9, 900_000],
        ["2024Q4", "A1", "Acme", now, 0.4, 900_000],
    ]

    found = raised(find_alerts(read_history(rows), SETTINGS))

    assert ((AlertRule.SLIPPED, "Acme") in found) is alerts


def test_a_lost_tier1_account_is_a_movement_not_an_alert():
    rows = [
        HEADER,
        ["2024Q3", "A1", "Acme", "TIER 1", 0.9, 900_000],
        ["2024Q4", "A2", "Betatech", "RAMP", 0.4, 900],
    ]

    assert find_alerts(read_history(rows), SETTINGS) == []


def invest_history(quadrants: list[str | None]) -> pd.DataFrame:
    # Another account is in every quarter, so a None is Codehow missing from a
    # snapshot that was taken.
    rows = [HEADER]
    for number, quadrant in enumerate(quadrants, start=1):
        if quadrant is not None:
            rows.append([f"2024Q{number}", "A1", "Codehow", quadrant, 0.3, 600_000])
        rows.append([f"2024Q{number}", "A9", "Other", "RAMP", 0.3, 600])
    return read_history(rows)


@pytest.mark.parametrize(
    ("quadrants", "needed", "alerts"),
    [
        (["INVEST", "INVEST", "INVEST"], 3, True),
        (["RAMP", "INVEST", "INVEST"], 3, False),  # two in a row, three needed
        (["RAMP", "INVEST", "INVEST"], 2, True),
        (["INVEST", "INVEST", "INVEST", "INVEST"], 4, True),
        (["INVEST", "TIER 1", "INVEST", "INVEST"], 3, False),
        (["INVEST", None, "INVEST", "INVEST"], 3, False),  # missing in 2024Q2
        (["INVEST", "INVEST"], 3, False),  # not enough quarters yet
        (["INVEST", "INVEST", "MAINTAIN"], 2, False),  # left INVEST this quarter
    ],
)
def test_invest_stalled(quadrants: list[str | None], needed: int, alerts: bool):
    settings = with_alerts(invest_quarters=needed)

    found = raised(find_alerts(invest_history(quadrants), settings))

    assert ((AlertRule.STALLED, "Codehow") in found) is alerts


def test_a_quarter_with_no_snapshot_does_not_break_the_run():
    # The run counts snapshots taken: 2024Q2 was never taken, so Q1, Q3, Q4 are
    # three in a row.
    rows = [HEADER]
    for quarter in ("2024Q1", "2024Q3", "2024Q4"):
        rows.append([quarter, "A1", "Codehow", "INVEST", 0.3, 600_000])

    found = raised(find_alerts(read_history(rows), SETTINGS))

    assert found == {(AlertRule.STALLED, "Codehow")}


def test_stalled_detail_names_the_quarters():
    alerts = find_alerts(invest_history(["INVEST"] * 3), SETTINGS)

    assert alerts[0].detail == "INVEST in each of the last 3 quarters (2024Q1–2024Q3)."


def test_alerts_for_an_earlier_quarter(history: pd.DataFrame):
    # 2024Q3: dambase and Donquadtech slipped from TIER 1; nothing has stalled yet.
    alerts = find_alerts(history, SETTINGS, quarter="2024Q3")

    assert raised(alerts) == {
        (AlertRule.SLIPPED, "dambase"),
        (AlertRule.SLIPPED, "Donquadtech"),
    }


def test_one_quarter_has_no_alerts_yet(history: pd.DataFrame):
    only = history[history["Quarter"] == "2024Q4"]

    assert find_alerts(only, SETTINGS) == []
    assert find_alerts(history.iloc[:0], SETTINGS) == []


def test_an_unknown_quarter_is_refused(history: pd.DataFrame):
    with pytest.raises(InputError) as raised_error:
        find_alerts(history, SETTINGS, quarter="2025Q1")

    assert str(raised_error.value) == (
        "The history has no quarter 2025Q1; it holds 2024Q2, 2024Q3, 2024Q4."
    )


def test_rule_titles_follow_the_quadrant_names():
    assert rule_title(AlertRule.HEALTH_DROP, SETTINGS) == "MAINTAIN health drop"
    assert rule_title(AlertRule.SLIPPED, SETTINGS) == "TIER 1 slipped"
    assert rule_title(AlertRule.STALLED, SETTINGS) == "INVEST stalled"


@pytest.mark.parametrize(
    "values",
    [{"health_drop": -0.1}, {"invest_quarters": 1}, {"invest_quarters": "often"}],
)
def test_alert_settings_are_checked(values: dict):
    with pytest.raises(ValidationError):
        AlertSettings(**values)


def test_alert_settings_defaults():
    alerts = Settings().quarterly.alerts

    assert (alerts.health_drop, alerts.invest_quarters) == (0.10, 3)


def test_a_slip_says_when_the_median_threshold_moved():
    built = build_history(("2024Q3", "2024Q4"), Settings())
    before = built[built["Quarter"] == "2024Q3"]["Revenue threshold"].iloc[0]
    after = built[built["Quarter"] == "2024Q4"]["Revenue threshold"].iloc[0]

    slipped = [a for a in find_alerts(built) if a.rule is AlertRule.SLIPPED]

    assert before != after
    assert slipped
    assert all(
        f"The revenue threshold moved from {before:,.0f} to {after:,.0f}." in a.detail
        for a in slipped
    )


def test_a_slip_under_fixed_thresholds_says_nothing_of_thresholds(
    history: pd.DataFrame,
):
    slipped = [a for a in find_alerts(history) if a.rule is AlertRule.SLIPPED]

    assert slipped
    assert not any("threshold moved" in alert.detail for alert in slipped)
