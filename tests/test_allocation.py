"""Time allocation: shares, hours, the one-to-one cap and the quarterly settings.

Data: ``tests/data/quarters/maven_2024Q4.csv``, a 22-company slice of
``../shared/data/maven_crm_accounts.csv`` (Maven Analytics "CRM Sales Opportunities",
kisaraF/CRM-Sales_Analysis) with made-up CSMs and adoption; see
``tests/data/quarters/README.md``. Small tables typed in a test are written to a
temporary CSV.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from xlapm.build import load_portfolio
from xlapm.core.allocation import (
    ONE_TO_MANY,
    ONE_TO_ONE,
    OVER_CAP,
    UNASSIGNED,
    Allocation,
    allocate_time,
    csm_groups,
)
from xlapm.core.portfolio import Portfolio
from xlapm.core.quarterly_settings import QuadrantWeights, QuarterlySettings
from xlapm.core.settings import Settings, load_settings
from xlapm.errors import SettingsError

QUARTERS = Path(__file__).parent / "data" / "quarters"
SETTINGS = Settings(revenue_threshold=250_000, health_threshold=0.5)


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return load_portfolio(QUARTERS / "maven_2024Q4.csv", SETTINGS)


def capped(cap: int | None) -> QuarterlySettings:
    return QuarterlySettings(max_one_to_one=cap)


def shares_of(allocation: Allocation, portfolio: Portfolio, csm: str) -> dict:
    mine = allocation.csm == csm
    return dict(
        zip(portfolio.accounts.names[mine], allocation.share[mine], strict=True)
    )


def write_accounts(path: Path, rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Account ID", "Account", "CSM", "ARR", "Adoption"])
        writer.writerows(rows)
    return path


def test_each_csms_time_shares_add_up_to_100_percent(portfolio: Portfolio):
    allocation = allocate_time(portfolio)

    assert allocation.csm_names() == ["Ana Lee", "Bo Chen", "Carla Diaz", UNASSIGNED]
    for csm in allocation.csm_names():
        mine = allocation.csm == csm
        assert abs(allocation.share[mine].sum() - 1.0) < 1e-9
        assert abs(allocation.hours[mine].sum() - 480.0) < 1e-6


def test_a_share_is_the_accounts_weight_over_its_csms_weights(portfolio: Portfolio):
    # Carla Diaz: Bioplex RAMP Commercial 1.5 × 1, Bubba Gump, Codehow and Doncon
    # INVEST Enterprise 4 × 2, Dalttechnology UNSCORED Commercial 1 × 1, Donware
    # RAMP Enterprise 1.5 × 2: 29.5 in all.
    allocation = allocate_time(portfolio)

    shares = shares_of(allocation, portfolio, "Carla Diaz")
    assert shares["Codehow"] == pytest.approx(8 / 29.5, abs=1e-12)
    assert shares["Bioplex"] == pytest.approx(1.5 / 29.5, abs=1e-12)
    assert shares["Dalttechnology"] == pytest.approx(1 / 29.5, abs=1e-12)
    codehow = portfolio.accounts.names.tolist().index("Codehow")
    assert allocation.hours[codehow] == pytest.approx(480 * 8 / 29.5)


def test_accounts_without_a_csm_are_planned_as_unassigned(portfolio: Portfolio):
    allocation = allocate_time(portfolio)

    assert shares_of(allocation, portfolio, UNASSIGNED) == {
        "Fasehatice": pytest.approx(12 / 20),  # INVEST Strategic 4 × 3
        "Finjob": pytest.approx(8 / 20),  # INVEST Enterprise 4 × 2
    }


def test_the_summary_line_per_quadrant(portfolio: Portfolio):
    # Bo Chen's weights: TIER 1 6 + 9 + 9 + 6, INVEST 8, MAINTAIN 1 + 2: 41 in all.
    allocation = allocate_time(portfolio, capped(None))

    assert allocation.summary_lines("Bo Chen") == [
        "TIER 1: 73% of your time on 4 accounts (351 h)",
        "INVEST: 20% of your time on 1 account (94 h)",
        "RAMP: 0% of your time on 0 accounts (0 h)",
        "MAINTAIN: 7% of your time on 2 accounts (35 h)",
    ]
    assert allocation.summary_lines("Carla Diaz")[-1] == (
        "UNSCORED: 3% of your time on 1 account (16 h)"
    )


def test_a_csms_own_capacity(portfolio: Portfolio):
    settings = QuarterlySettings(capacity_overrides={" ana  LEE": 240})

    allocation = allocate_time(portfolio, settings)

    assert allocation.capacity == {
        "Ana Lee": 240.0,
        "Bo Chen": 480.0,
        "Carla Diaz": 480.0,
        UNASSIGNED: 480.0,
    }
    assert allocation.hours[allocation.csm == "Ana Lee"].sum() == pytest.approx(240)


def test_the_cap_moves_the_lowest_revenue_one_to_one_accounts(portfolio: Portfolio):
    # Bo Chen has five one-to-one accounts: Dontechi 1,154,500, Cheers 1,067,475,
    # Conecom 380,165, Bluth Company 310,580 and Finhigh 275,608.
    allocation = allocate_time(portfolio, capped(3))

    names = portfolio.accounts.names
    assert sorted(names[allocation.over_cap]) == ["Bluth Company", "Finhigh"]
    for csm in ("Ana Lee", "Bo Chen", "Carla Diaz"):
        assert allocation.one_to_one[allocation.csm == csm].sum() <= 3
    bluth = names.tolist().index("Bluth Company")
    assert allocation.weight[bluth] == 1.5 * 2  # overflow weight × Enterprise
    assert allocation.plans()[bluth] == OVER_CAP


def test_the_cap_keeps_shares_at_100_percent(portfolio: Portfolio):
    allocation = allocate_time(portfolio, capped(1))

    for csm in allocation.csm_names():
        assert abs(allocation.share[allocation.csm == csm].sum() - 1.0) < 1e-9


def test_unassigned_accounts_are_not_capped(portfolio: Portfolio):
    allocation = allocate_time(portfolio, capped(0))

    unassigned = allocation.csm == UNASSIGNED
    assert not allocation.over_cap[unassigned].any()
    assert allocation.one_to_one[unassigned].sum() == 2
    assert allocation.over_cap.sum() == 2 + 5 + 3  # Ana, Bo and Carla's


def test_no_cap_flags_nothing(portfolio: Portfolio):
    allocation = allocate_time(portfolio, capped(None))

    assert not allocation.over_cap.any()
    assert set(allocation.plans()) == {ONE_TO_ONE, ONE_TO_MANY}


def test_the_default_cap_is_20(portfolio: Portfolio):
    assert QuarterlySettings().max_one_to_one == 20
    assert not allocate_time(portfolio).over_cap.any()


def test_a_revenue_tie_at_the_cap_goes_by_name(tmp_path: Path):
    source = write_accounts(
        tmp_path / "ties.csv",
        [
            ["1", "Zeta", "Ana", 500_000, "80%"],
            ["2", "Alpha", "Ana", 500_000, "80%"],
            ["3", "Mid", "Ana", 700_000, "20%"],
            ["4", "Small", "Ana", 1_000, "80%"],
        ],
    )
    portfolio = load_portfolio(source, SETTINGS)

    allocation = allocate_time(portfolio, capped(2))

    assert portfolio.accounts.names[allocation.over_cap].tolist() == ["Zeta"]


def test_a_portfolio_without_csms_is_one_unassigned_plan(tmp_path: Path):
    source = tmp_path / "no_csm.csv"
    source.write_text("Account,ARR,Adoption\nAcme,300000,70%\nBeta,1000,20%\n")
    portfolio = load_portfolio(source, SETTINGS)

    allocation = allocate_time(portfolio)

    assert allocation.csm_names() == [UNASSIGNED]
    assert allocation.share.tolist() == pytest.approx([6 / 7.5, 1.5 / 7.5])


def test_csm_names_are_grouped_ignoring_case_and_spacing():
    csms = np.array(["Ana Lee", " ana  lee", None, "", "Bo", float("nan")], object)

    assert csm_groups(csms, 6).tolist() == [
        "Ana Lee",
        "Ana Lee",
        UNASSIGNED,
        UNASSIGNED,
        "Bo",
        UNASSIGNED,
    ]


def test_segment_weights_rank_strategic_over_enterprise_over_commercial():
    settings = QuarterlySettings()

    assert settings.segment_weight("Strategic") > settings.segment_weight("Enterprise")
    assert settings.segment_weight("Enterprise") > settings.segment_weight("Commercial")
    assert settings.segment_weight("Partner") == settings.other_segment_weight


def test_one_to_one_quadrants_weigh_more():
    weights = QuadrantWeights()

    assert min(weights.tier1, weights.invest) > max(weights.ramp, weights.maintain)
    assert QuarterlySettings().capacity_hours == 480


@pytest.mark.parametrize(
    "values",
    [
        {"capacity_hours": 0},
        {"capacity_overrides": {"Ana": -5}},
        {"segment_weights": {"Strategic": 0}},
        {"quadrant_weights": {"tier1": 0}},
        {"max_one_to_one": -1},
        {"overflow_weight": 0},
    ],
)
def test_quarterly_settings_are_checked(values: dict):
    with pytest.raises(ValidationError):
        QuarterlySettings(**values)


def test_quarterly_settings_load_from_toml(tmp_path: Path):
    config = tmp_path / "xlapm.toml"
    config.write_text(
        "[quarterly]\n"
        "capacity_hours = 400\n"
        "max_one_to_one = 12\n"
        "[quarterly.capacity_overrides]\n"
        '"Ana Lee" = 240\n'
        "[quarterly.quadrant_weights]\n"
        "invest = 5\n"
        "[quarterly.alerts]\n"
        "health_drop = 0.05\n"
        "invest_quarters = 2\n",
        encoding="utf-8",
    )

    quarterly = load_settings(config).quarterly

    assert quarterly.capacity_of("Ana Lee") == 240
    assert quarterly.capacity_of("Bo Chen") == 400
    assert quarterly.max_one_to_one == 12
    assert quarterly.quadrant_weights.invest == 5
    assert quarterly.quadrant_weights.tier1 == 3
    assert (quarterly.alerts.health_drop, quarterly.alerts.invest_quarters) == (0.05, 2)


def test_a_bad_quarterly_setting_names_its_place(tmp_path: Path):
    config = tmp_path / "xlapm.toml"
    config.write_text("[quarterly.alerts]\ninvest_quarters = 1\n", encoding="utf-8")

    with pytest.raises(SettingsError) as raised:
        load_settings(config)

    assert str(raised.value) == (
        "Setting 'quarterly.alerts.invest_quarters' in xlapm.toml: "
        "Input should be greater than or equal to 2."
    )
