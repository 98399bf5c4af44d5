"""A classified portfolio: accounts, their quadrants and segments, and the totals.

This is what every sheet, formula and report is made from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xlapm.core.accounts import Accounts, health_threshold_rule
from xlapm.core.classify import Classification, classify
from xlapm.core.settings import QUADRANT_KEYS, UNSCORED, Settings


@dataclass(frozen=True)
class QuadrantTotals:
    """How many accounts and how much revenue one quadrant or segment holds."""

    name: str
    accounts: int
    revenue: float
    account_share: float
    revenue_share: float


@dataclass
class Portfolio:
    """Accounts with the matrix applied."""

    accounts: Accounts
    settings: Settings
    classification: Classification

    @property
    def quadrants(self) -> np.ndarray:
        """Each account's quadrant name, UNSCORED where a metric is missing."""
        names = np.array([*self.settings.quadrant_names(), UNSCORED], dtype=object)
        return names[self.classification.quadrant]

    @property
    def segments(self) -> np.ndarray:
        """Each account's size segment name ('' where revenue is missing)."""
        names = np.array([s.name for s in self.settings.segments] + [""], dtype=object)
        return names[self.classification.segment]

    @property
    def playbooks(self) -> np.ndarray:
        """Each account's playbook in one line (its quadrant's approach and cadence)."""
        lines = [
            f"{quadrant.approach.value}: {quadrant.cadence}"
            for quadrant in self.settings.quadrants.values()
        ]
        texts = np.array([*lines, "Fix the data to score this account"], dtype=object)
        return texts[self.classification.quadrant]

    def members(self, key: str) -> np.ndarray:
        """Positions of the accounts in quadrant ``key``, highest revenue first."""
        positions = np.flatnonzero(
            self.classification.quadrant == QUADRANT_KEYS.index(key)
        )
        order = np.argsort(-self.accounts.revenue[positions], kind="stable")
        return positions[order]

    def unscored(self) -> np.ndarray:
        """Positions of the accounts that could not be placed."""
        return np.flatnonzero(self.classification.quadrant == -1)

    def quadrant_totals(self) -> list[QuadrantTotals]:
        """Totals for the four quadrants, then UNSCORED."""
        codes = self.classification.quadrant
        labels = [*self.settings.quadrant_names(), UNSCORED]
        return self._totals(codes, [*range(4), -1], labels)

    def segment_totals(self) -> list[QuadrantTotals]:
        """Totals per size segment, scored accounts only."""
        scored = self.classification.quadrant >= 0
        codes = np.where(scored, self.classification.segment, -2)
        labels = [segment.name for segment in self.settings.segments]
        return self._totals(codes, list(range(len(labels))), labels)

    def _totals(
        self, codes: np.ndarray, wanted: list[int], labels: list[str]
    ) -> list[QuadrantTotals]:
        revenue = np.nan_to_num(self.accounts.revenue)
        total_accounts = max(len(codes), 1)
        scored_revenue = float(revenue[self.classification.quadrant >= 0].sum()) or 1.0
        totals = []
        for code, label in zip(wanted, labels, strict=True):
            members = codes == code
            amount = float(revenue[members].sum()) if code >= 0 else 0.0
            totals.append(
                QuadrantTotals(
                    name=label,
                    accounts=int(members.sum()),
                    revenue=amount,
                    account_share=float(members.sum()) / total_accounts,
                    revenue_share=amount / scored_revenue,
                )
            )
        return totals


def score_portfolio(accounts: Accounts, settings: Settings) -> Portfolio:
    """Classify ``accounts`` with ``settings``, reading health thresholds in scale."""
    scale = accounts.health_scale
    in_scale = settings.model_copy(
        update={
            "health_threshold": health_threshold_rule(settings.health_threshold, scale),
            "segment_thresholds": {
                name: override.model_copy(
                    update={
                        "health": override.health
                        and health_threshold_rule(override.health, scale)
                    }
                )
                for name, override in settings.segment_thresholds.items()
            },
        }
    )
    result = classify(accounts.revenue, accounts.health, in_scale)
    return Portfolio(accounts=accounts, settings=settings, classification=result)
