"""The quarterly settings: a CSM's hours, effort weights, caps and alert thresholds.

A CS lead sets these once, next to the matrix settings (``[quarterly]`` in the TOML
file). The defaults follow the playbooks: one-to-one quadrants weigh more than
one-to-many ones, and bigger segments weigh more than smaller ones.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

# A 13-week quarter less one week of holidays, training and admin, at 40 h a week.
DEFAULT_CAPACITY_HOURS = 12 * 40.0


class QuadrantWeights(BaseModel):
    """Effort per account in each quadrant, relative to a MAINTAIN account (1.0).

    INVEST weighs most (its playbook meets weekly), then TIER 1 (every two weeks);
    RAMP gets programmes plus the odd health check, MAINTAIN light monitoring.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tier1: float = Field(3.0, gt=0)
    invest: float = Field(4.0, gt=0)
    ramp: float = Field(1.5, gt=0)
    maintain: float = Field(1.0, gt=0)

    def of(self, key: str) -> float:
        """The weight of quadrant ``key`` (``tier1``, ``invest``, ``ramp``...)."""
        return float(getattr(self, key))


def _default_segment_weights() -> dict[str, float]:
    return {"Commercial": 1.0, "Enterprise": 2.0, "Strategic": 3.0}


class AlertSettings(BaseModel):
    """When the Alerts sheet raises an account.

    ``health_drop`` is in the health column's scale as scored: for an adoption rate
    (a fraction) 0.10 means ten percentage points; for a plain score it is points of
    that score. An alert needs a drop of *more* than ``health_drop``.
    ``invest_quarters`` is how many snapshots in a row, the current one included,
    an account must have been INVEST before it is called stalled.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    health_drop: float = Field(0.10, ge=0)
    invest_quarters: int = Field(3, ge=2)


class QuarterlySettings(BaseModel):
    """Time allocation and alerts for a quarter.

    - ``capacity_hours``: the hours a CSM gives to their accounts in a quarter,
      480 by default (12 working weeks × 40 h); ``capacity_overrides`` sets it per
      CSM, by name as the export spells it (case and spacing ignored).
    - An account's effort weight is its quadrant weight × its segment weight
      (segments not listed weigh ``other_segment_weight``); an UNSCORED account
      weighs ``unscored_weight``.
    - ``max_one_to_one``: at most this many accounts in one-to-one quadrants per
      CSM (None: no cap). The CSM's lowest-revenue one-to-one accounts beyond the cap
      are flagged as over the cap and weighed ``overflow_weight`` × segment weight,
      the effort of a one-to-many programme account.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    capacity_hours: float = Field(DEFAULT_CAPACITY_HOURS, gt=0)
    capacity_overrides: dict[str, float] = Field(default_factory=dict)
    quadrant_weights: QuadrantWeights = Field(default_factory=QuadrantWeights)
    segment_weights: dict[str, float] = Field(default_factory=_default_segment_weights)
    other_segment_weight: float = Field(1.0, gt=0)
    unscored_weight: float = Field(1.0, gt=0)
    max_one_to_one: int | None = Field(20, ge=0)
    overflow_weight: float = Field(1.5, gt=0)
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @field_validator("capacity_overrides", "segment_weights")
    @classmethod
    def _positive(cls, values: dict[str, float]) -> dict[str, float]:
        bad = [name for name, value in values.items() if not value > 0]
        if bad:
            raise ValueError(f"{', '.join(bad)} must be more than 0")
        return values

    def capacity_of(self, csm: str) -> float:
        """The quarter's hours of ``csm``: their override, else ``capacity_hours``."""
        wanted = _name_key(csm)
        for name, hours in self.capacity_overrides.items():
            if _name_key(name) == wanted:
                return float(hours)
        return float(self.capacity_hours)

    def segment_weight(self, segment: str) -> float:
        """The effort weight of size segment ``segment``."""
        return float(self.segment_weights.get(segment, self.other_segment_weight))


def _name_key(name: str) -> str:
    return " ".join(str(name).split()).casefold()
