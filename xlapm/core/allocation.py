"""Time allocation: where each CSM's hours go this quarter, account by account.

Every account gets an effort weight: its quadrant's weight × its segment's weight
(``QuarterlySettings``). An account's Time Share is its weight divided by the sum of
the weights of its CSM's accounts, so each CSM's shares add up to 100%; Hours are
the share × that CSM's capacity. Accounts with no CSM are planned together under
"Unassigned", as if one more CSM with the default capacity owned them.

The one-to-one cap: a CSM keeps at most ``max_one_to_one`` accounts in one-to-one
quadrants (TIER 1 and INVEST by default). Beyond that, their lowest-revenue
one-to-one accounts (ties: by name) are flagged *over cap* and weighed as a
one-to-many account (``overflow_weight`` × segment weight). Unassigned accounts
have no CSM whose week could overflow, so the cap does not apply to them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xlapm.core.history import cell_text
from xlapm.core.portfolio import Portfolio
from xlapm.core.quarterly_settings import QuarterlySettings
from xlapm.core.settings import QUADRANT_KEYS, UNSCORED, Approach

UNASSIGNED = "Unassigned"
ONE_TO_ONE = "one-to-one"
ONE_TO_MANY = "one-to-many"
OVER_CAP = "one-to-many (over the one-to-one cap)"


@dataclass(frozen=True)
class QuadrantTime:
    """One CSM's time in one quadrant."""

    csm: str
    quadrant: str
    accounts: int
    revenue: float
    share: float
    hours: float

    def sentence(self) -> str:
        """``TIER 1: 45% of your time on 12 accounts (216 h)``."""
        noun = "account" if self.accounts == 1 else "accounts"
        return (
            f"{self.quadrant}: {self.share:.0%} of your time on "
            f"{self.accounts:,} {noun} ({self.hours:,.0f} h)"
        )


@dataclass
class Allocation:
    """Each account's plan, position by position like the portfolio's accounts.

    ``csm`` is the CSM (or Unassigned), ``weight`` the effort weight, ``share`` the
    Time Share (a fraction) and ``hours`` the Hours. ``one_to_one`` marks accounts
    planned one-to-one after the cap, ``over_cap`` those the cap moved to
    one-to-many. ``capacity`` holds each CSM's hours, in ``csm_names`` order.
    """

    csm: np.ndarray
    quadrant: np.ndarray
    revenue: np.ndarray
    weight: np.ndarray
    share: np.ndarray
    hours: np.ndarray
    one_to_one: np.ndarray
    over_cap: np.ndarray
    capacity: dict[str, float]
    quadrant_names: tuple[str, ...]
    settings: QuarterlySettings

    def csm_names(self) -> list[str]:
        """The CSMs in alphabetical order, then Unassigned if any account has none."""
        return list(self.capacity)

    def of_csm(self, csm: str) -> np.ndarray:
        """True for each account of ``csm``.

        Comparing an object array of names costs a pass over every account; a
        team sheet asks per CSM and quadrant, so masks come from integer codes
        made once.
        """
        codes, names = self._csm_codes
        found = np.flatnonzero(names == csm)
        if not found.size:
            return np.zeros(len(self.csm), dtype=bool)
        return codes == found[0]

    def in_quadrant(self, name: str) -> np.ndarray:
        """True for each account in quadrant ``name`` (or UNSCORED)."""
        codes, names = self._quadrant_codes
        found = np.flatnonzero(names == name)
        if not found.size:
            return np.zeros(len(self.quadrant), dtype=bool)
        return codes == found[0]

    @functools.cached_property
    def _csm_codes(self) -> tuple[np.ndarray, np.ndarray]:
        codes, names = pd.factorize(pd.Series(self.csm, dtype=object))
        return codes, np.asarray(names, dtype=object)

    @functools.cached_property
    def _quadrant_codes(self) -> tuple[np.ndarray, np.ndarray]:
        codes, names = pd.factorize(pd.Series(self.quadrant, dtype=object))
        return codes, np.asarray(names, dtype=object)

    def members(self, csm: str) -> np.ndarray:
        """Positions of ``csm``'s accounts, by quadrant then highest revenue first."""
        positions = np.flatnonzero(self.of_csm(csm))
        order = [*self.quadrant_names, UNSCORED]
        rank = np.array([order.index(name) for name in self.quadrant[positions]])
        revenue = np.nan_to_num(self.revenue[positions], nan=-np.inf)
        return positions[np.lexsort((-revenue, rank))]

    def plans(self) -> np.ndarray:
        """How each account is planned: one-to-one, one-to-many or over the cap."""
        return self._plans.copy()

    @functools.cached_property
    def _plans(self) -> np.ndarray:
        plan = np.where(self.one_to_one, ONE_TO_ONE, ONE_TO_MANY).astype(object)
        plan[self.over_cap] = OVER_CAP
        return plan

    def time_by_quadrant(self, csm: str) -> list[QuadrantTime]:
        """``csm``'s accounts, revenue, share and hours in each quadrant.

        The four quadrants always, then UNSCORED when the CSM has such accounts.
        """
        mine = self.of_csm(csm)
        names = list(self.quadrant_names)
        if (mine & self.in_quadrant(UNSCORED)).any():
            names.append(UNSCORED)
        return [
            self._time_in(csm, mine & self.in_quadrant(name), name) for name in names
        ]

    def summary_lines(self, csm: str) -> list[str]:
        """One sentence per quadrant: ``TIER 1: 45% of your time on 12 accounts``."""
        return [time.sentence() for time in self.time_by_quadrant(csm)]

    def _time_in(self, csm: str, members: np.ndarray, name: str) -> QuadrantTime:
        return QuadrantTime(
            csm=csm,
            quadrant=name,
            accounts=int(members.sum()),
            revenue=float(np.nansum(self.revenue[members])),
            share=float(self.share[members].sum()),
            hours=float(self.hours[members].sum()),
        )


def allocate_time(
    portfolio: Portfolio, settings: QuarterlySettings | None = None
) -> Allocation:
    """Plan each CSM's quarter over their accounts (see the module docstring).

    Args:
        portfolio: the scored accounts; their CSM column says who owns what.
        settings: capacity, weights and the cap; ``portfolio.settings.quarterly``
            when None.
    """
    settings = settings or portfolio.settings.quarterly
    csm = csm_groups(portfolio.accounts.csms, len(portfolio.accounts))
    segment_weight = _segment_weights(portfolio, settings)
    one_to_one = _one_to_one(portfolio)

    over_cap = _over_cap(csm, one_to_one, portfolio, settings.max_one_to_one)
    weight = _quadrant_weights(portfolio, settings) * segment_weight
    weight[over_cap] = settings.overflow_weight * segment_weight[over_cap]

    capacity = {name: settings.capacity_of(name) for name in _ordered(csm)}
    share = _shares(csm, weight)
    hours = share * np.array([capacity[name] for name in csm], dtype=float)
    return Allocation(
        csm=csm,
        quadrant=portfolio.quadrants,
        revenue=portfolio.accounts.revenue,
        weight=weight,
        share=share,
        hours=hours,
        one_to_one=one_to_one & ~over_cap,
        over_cap=over_cap,
        capacity=capacity,
        quadrant_names=tuple(portfolio.settings.quadrant_names()),
        settings=settings,
    )


def csm_groups(csms: np.ndarray | None, count: int) -> np.ndarray:
    """Each account's CSM as one spelling per person; blank is ``Unassigned``.

    Names that differ only in case or spacing (``ana lee``, ``Ana  Lee``) are one
    CSM, shown as first spelt in the export.
    """
    if csms is None:
        return np.full(count, UNASSIGNED, dtype=object)
    spelling: dict[str, str] = {}
    groups = []
    for value in csms:
        text = cell_text(value)
        if text is None:
            groups.append(UNASSIGNED)
            continue
        text = " ".join(text.split())
        groups.append(spelling.setdefault(text.casefold(), text))
    return np.array(groups, dtype=object)


def _ordered(csm: np.ndarray) -> list[str]:
    names = sorted({name for name in csm if name != UNASSIGNED}, key=str.casefold)
    return names + ([UNASSIGNED] if (csm == UNASSIGNED).any() else [])


def _quadrant_weights(portfolio: Portfolio, settings: QuarterlySettings) -> np.ndarray:
    weights = settings.quadrant_weights
    table = np.array([*map(weights.of, QUADRANT_KEYS), settings.unscored_weight])
    return table[portfolio.classification.quadrant].astype(float)


def _segment_weights(portfolio: Portfolio, settings: QuarterlySettings) -> np.ndarray:
    names = [segment.name for segment in portfolio.settings.segments]
    table = np.array(
        [*map(settings.segment_weight, names), settings.other_segment_weight]
    )
    return table[portfolio.classification.segment].astype(float)


def _one_to_one(portfolio: Portfolio) -> np.ndarray:
    quadrants = portfolio.settings.quadrants
    personal = [quadrants[key].approach is Approach.ONE_TO_ONE for key in QUADRANT_KEYS]
    return np.array([*personal, False])[portfolio.classification.quadrant]


def _over_cap(
    csm: np.ndarray, one_to_one: np.ndarray, portfolio: Portfolio, cap: int | None
) -> np.ndarray:
    over = np.zeros(len(csm), dtype=bool)
    if cap is None:
        return over

    revenue = np.nan_to_num(portfolio.accounts.revenue, nan=-np.inf)
    names = np.array([str(name).casefold() for name in portfolio.accounts.names])
    for name in _ordered(csm):
        if name == UNASSIGNED:
            continue
        positions = np.flatnonzero((csm == name) & one_to_one)
        # Highest revenue keeps its one-to-one slot; ties go by account name.
        ranked = positions[np.lexsort((names[positions], -revenue[positions]))]
        over[ranked[cap:]] = True
    return over


def _shares(csm: np.ndarray, weight: np.ndarray) -> np.ndarray:
    _, codes = np.unique(csm.astype(str), return_inverse=True)
    totals = np.bincount(codes, weights=weight)
    return weight / totals[codes]
