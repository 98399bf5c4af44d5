"""The settings a CS lead chooses once: axes, thresholds, quadrants, segments.

Settings load from a TOML file (``--config``) and command-line flags override them.
Defaults follow the team's usual playbooks; every name and colour can be changed.
"""

from __future__ import annotations

import re
import sys
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from xlapm.core.quarterly_settings import QuarterlySettings
from xlapm.core.values import parse_number
from xlapm.errors import SettingsError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

QUADRANT_KEYS = ("tier1", "invest", "ramp", "maintain")
UNSCORED = "UNSCORED"


class Approach(str, Enum):
    """How a CSM works with an account: personally or through programmes."""

    ONE_TO_ONE = "one-to-one"
    ONE_TO_MANY = "one-to-many"
    MIXED = "one-to-one and one-to-many"


class HealthScale(str, Enum):
    """How plain numbers in the health column are to be read.

    ``fraction``: 0.45 means 45%. ``percent``: 45 means 45%. ``number``: a plain
    measure such as tenure in months, shown as it is. ``auto`` picks one per column.
    """

    AUTO = "auto"
    FRACTION = "fraction"
    PERCENT = "percent"
    NUMBER = "number"


_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


class ThresholdRule(BaseModel):
    """Where an axis splits high from low: a fixed value, the median or a percentile.

    >>> ThresholdRule.parse("p75").describe()
    '75th percentile'
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["value", "median", "percentile"] = "median"
    value: float | None = None
    percentile: float | None = None
    percent: bool = False  # typed as "50%": already a fraction, whatever the scale

    @classmethod
    def parse(cls, text: str | float | int) -> ThresholdRule:
        """Read ``median``, ``pNN`` (a percentile) or a number such as ``120000``."""
        if isinstance(text, bool):
            raise SettingsError(
                f"Threshold {text!r} is not a number, 'median' or a percentile "
                "like 'p75'."
            )
        if isinstance(text, int | float):
            return cls(kind="value", value=float(text))

        cleaned = str(text).strip().lower().replace(" ", "")
        if cleaned == "median":
            return cls(kind="median")
        match = _PERCENTILE.match(cleaned)
        if match:
            return cls(kind="percentile", percentile=float(match.group(1)))
        number, percent = _threshold_number(str(text))
        return cls(kind="value", value=number, percent=percent)

    def describe(self) -> str:
        """The rule in words, as the Summary and Settings sheets show it."""
        if self.kind == "median":
            return "median"
        if self.kind == "percentile":
            return f"{_ordinal(self.percentile or 0)} percentile"
        return "fixed value"

    def as_text(self) -> str:
        """The rule as typed in Settings: ``median``, ``p75`` or a number."""
        if self.kind == "median":
            return "median"
        if self.kind == "percentile":
            return f"p{self.percentile:g}"
        return f"{(self.value or 0) * 100:g}%" if self.percent else f"{self.value:g}"


def _threshold_number(text: str) -> tuple[float, bool]:
    parsed = parse_number(text)
    if parsed.number is None:
        raise SettingsError(
            f"Threshold {text!r} is not a number, 'median' or a percentile like 'p75'."
        )
    return parsed.number, parsed.percent


def _ordinal(number: float) -> str:
    whole = int(number)
    if whole != number:
        return f"{number:g}th"
    suffix = (
        "th"
        if 10 <= whole % 100 <= 20
        else {1: "st", 2: "nd", 3: "rd"}.get(whole % 10, "th")
    )
    return f"{whole}{suffix}"


class Quadrant(BaseModel):
    """One quadrant of the matrix and its playbook."""

    model_config = ConfigDict(extra="forbid")

    name: str
    colour: str = Field(pattern=r"^#[0-9A-Fa-f]{6}$")
    approach: Approach
    activities: list[str]
    cadence: str
    summary: str

    @field_validator("name")
    @classmethod
    def _name_is_usable(cls, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError("a quadrant needs a name")
        return name


class Segment(BaseModel):
    """A size segment: accounts whose revenue is at least ``min_revenue``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    min_revenue: float = 0.0
    approach: Approach


def _default_quadrants() -> dict[str, Quadrant]:
    return {
        "tier1": Quadrant(
            name="TIER 1",
            colour="#2E7D32",
            approach=Approach.ONE_TO_ONE,
            summary="High revenue, healthy: the accounts that hurt most if they churn.",
            activities=[
                "Meet one-to-one and plan ahead, not only when asked",
                "Grow champions and an executive sponsor",
                "Plan events and joint activities for the quarter",
            ],
            cadence="Every two weeks",
        ),
        "invest": Quadrant(
            name="INVEST",
            colour="#F9A825",
            approach=Approach.ONE_TO_ONE,
            summary="High revenue, low health: give focus to lift usage into TIER 1.",
            activities=[
                "Find what blocks usage and agree a recovery plan",
                "Run enablement sessions with the main teams",
                "Review engagement every month with the sponsor",
            ],
            cadence="Weekly",
        ),
        "ramp": Quadrant(
            name="RAMP",
            colour="#C62828",
            approach=Approach.ONE_TO_MANY,
            summary="Low revenue, low health: boost adoption through programmes.",
            activities=[
                "Adoption e-mails, release news and live webinars",
                "Self-serve training and use-case e-mail campaigns",
                "A health check call only where it is needed",
            ],
            cadence="Monthly campaign",
        ),
        "maintain": Quadrant(
            name="MAINTAIN",
            colour="#1565C0",
            approach=Approach.ONE_TO_MANY,
            summary="Low revenue, healthy: keep them well with light-touch monitoring.",
            activities=[
                "Watch usage reports and alert the CSM when usage declines",
                "Self-serve training and e-mail campaigns",
            ],
            cadence="Quarterly check of usage",
        ),
    }


def _default_segments() -> list[Segment]:
    return [
        Segment(name="Commercial", min_revenue=0, approach=Approach.ONE_TO_MANY),
        Segment(name="Enterprise", min_revenue=100_000, approach=Approach.MIXED),
        Segment(name="Strategic", min_revenue=1_000_000, approach=Approach.ONE_TO_ONE),
    ]


class Columns(BaseModel):
    """Which columns of the account table hold what; ``None`` means find it."""

    model_config = ConfigDict(extra="forbid")

    revenue: str | None = None
    health: str | None = None
    account_id: str | None = None
    account_name: str | None = None
    csm: str | None = None


class SegmentThresholds(BaseModel):
    """Thresholds that apply inside one segment instead of the portfolio's."""

    model_config = ConfigDict(extra="forbid")

    revenue: ThresholdRule | None = None
    health: ThresholdRule | None = None

    @field_validator("revenue", "health", mode="before")
    @classmethod
    def _parse_rule(cls, value: Any) -> Any:
        return _rule_from_toml(value)


class Settings(BaseModel):
    """Everything that shapes a matrix build."""

    # A misspelt key in a settings file is an error, not silently the default.
    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    columns: Columns = Field(default_factory=Columns)
    revenue_threshold: ThresholdRule = Field(default_factory=ThresholdRule)
    health_threshold: ThresholdRule = Field(default_factory=ThresholdRule)
    health_scale: HealthScale = HealthScale.AUTO
    decimal: Literal[".", ","] | None = None
    sheet: str | None = None
    currency_format: str = "$#,##0"
    quadrants: dict[str, Quadrant] = Field(default_factory=_default_quadrants)
    segments: list[Segment] = Field(default_factory=_default_segments)
    segment_thresholds: dict[str, SegmentThresholds] = Field(default_factory=dict)
    quarterly: QuarterlySettings = Field(default_factory=QuarterlySettings)

    @field_validator("revenue_threshold", "health_threshold", mode="before")
    @classmethod
    def _parse_rule(cls, value: Any) -> Any:
        return _rule_from_toml(value)

    @field_validator("quadrants")
    @classmethod
    def _all_quadrants(cls, quadrants: dict[str, Quadrant]) -> dict[str, Quadrant]:
        missing = [key for key in QUADRANT_KEYS if key not in quadrants]
        if missing:
            raise ValueError(f"quadrants {', '.join(missing)} are missing")
        names = [quadrants[key].name.casefold() for key in QUADRANT_KEYS]
        if len(set(names)) < 4 or UNSCORED.casefold() in names:
            raise ValueError("the four quadrant names must differ and not be UNSCORED")
        return {key: quadrants[key] for key in QUADRANT_KEYS}

    @model_validator(mode="after")
    def _segment_thresholds_name_segments(self) -> Settings:
        names = {segment.name for segment in self.segments}
        unknown = [name for name in self.segment_thresholds if name not in names]
        if unknown:
            raise ValueError(
                f"segment_thresholds names {', '.join(unknown)}, which is not a "
                f"segment (segments: {', '.join(sorted(names))})"
            )
        return self

    @field_validator("segments")
    @classmethod
    def _segments_ascend(cls, segments: list[Segment]) -> list[Segment]:
        if not segments:
            raise ValueError("at least one segment is needed")
        bounds = [segment.min_revenue for segment in segments]
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError(
                "segment min_revenue values must rise from one to the next"
            )
        return segments

    def quadrant_names(self) -> list[str]:
        """The four names in the order TIER 1, INVEST, RAMP, MAINTAIN."""
        return [self.quadrants[key].name for key in QUADRANT_KEYS]


def _rule_from_toml(value: Any) -> Any:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            return ThresholdRule.parse(value)
        except SettingsError as error:
            # As a ValueError, pydantic names the setting that holds the value.
            raise ValueError(error.message) from None
    return value


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Settings from a TOML file (optional), then ``overrides`` that are not None.

    ``overrides`` use the flat names of the command line: ``revenue``, ``health``,
    ``revenue_threshold``, ``health_threshold``, ``health_scale``, ``decimal``,
    ``sheet``.
    """
    data: dict[str, Any] = _read_toml(path) if path else {}
    if "quadrants" in data:
        data["quadrants"] = _over_default_quadrants(data["quadrants"])
    return _validated(_with_flags(data, overrides), path)


def apply_overrides(settings: Settings, **overrides: Any) -> Settings:
    """``settings`` with the command-line ``overrides`` that are not None applied.

    A rebuild reads a workbook's Settings sheet first, then flags win over it.
    """
    return _validated(_with_flags(settings.model_dump(), overrides), None)


def _with_flags(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    overrides = dict(overrides)
    columns = dict(data.pop("columns", {}) or {})
    for flag in ("revenue", "health", "account_id", "account_name", "csm"):
        value = overrides.pop(flag, None)
        if value is not None:
            columns[flag] = value
    data["columns"] = columns
    data.update({key: value for key, value in overrides.items() if value is not None})
    return data


def _validated(data: dict[str, Any], path: Path | None) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise SettingsError(
            _explain(error, path),
            hint="The README's 'Settings file' section lists every setting.",
        ) from None


def _over_default_quadrants(given: Any) -> Any:
    # A CS lead may rename one quadrant without restating the other three.
    if not isinstance(given, dict):
        return given
    merged = {key: q.model_dump() for key, q in _default_quadrants().items()}
    for key, fields in given.items():
        if key in merged and isinstance(fields, dict):
            merged[key].update(fields)
        else:
            merged[key] = fields
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"Settings file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(
            f"Settings file {path} is not valid TOML: {error}."
        ) from None


def _explain(error: ValidationError, path: Path | None) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "segment_thresholds"
    source = f" in {path.name}" if path else ""
    message = str(first["msg"]).removeprefix("Value error, ").rstrip(".")
    if first["type"] == "extra_forbidden":
        message = "is not a setting xlapm knows (a typo?)"
    return f"Setting '{where}'{source}: {message}."
