"""Options shared by every command that scores accounts (build, rebuild, snapshot)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from xlapm.core.settings import Settings, ThresholdRule, load_settings
from xlapm.errors import SettingsError

_THRESHOLD_HELP = "A number, 'median' (the default) or a percentile such as p75."


def _threshold(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return ThresholdRule.parse(value)
    except SettingsError as error:
        raise click.BadParameter(error.message) from None


SETTINGS_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--revenue", metavar="COLUMN", help="Column with the revenue (ARR)."),
    click.option("--health", metavar="COLUMN", help="Column with the health metric."),
    click.option(
        "--revenue-threshold",
        metavar="VALUE|median|pNN",
        callback=_threshold,
        help=_THRESHOLD_HELP,
    ),
    click.option(
        "--health-threshold",
        metavar="VALUE|median|pNN",
        callback=_threshold,
        help=_THRESHOLD_HELP,
    ),
    click.option(
        "--health-scale",
        type=click.Choice(["auto", "fraction", "percent", "number"]),
        help="How to read plain health numbers: 0.45 (fraction), 45 "
        "(percent) or a plain number; auto decides per column.",
    ),
    click.option(
        "--decimal",
        type=click.Choice([".", ","]),
        help="Decimal mark of text numbers; ',' for European exports.",
    ),
    click.option("--sheet", metavar="NAME", help="Sheet or Excel Table to read."),
    click.option(
        "--config",
        type=click.Path(dir_okay=False, path_type=Path),
        help="TOML file with settings; flags override it.",
    ),
    click.option("-q", "--quiet", is_flag=True, help="No progress bar, no summary."),
]


def settings_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the shared settings flags to ``command``."""
    for option in reversed(SETTINGS_OPTIONS):
        command = option(command)
    return command


SETTINGS_FLAGS = (
    "revenue",
    "health",
    "revenue_threshold",
    "health_threshold",
    "health_scale",
    "decimal",
    "sheet",
)


def split_flags(flags: dict[str, Any]) -> tuple[Path | None, dict[str, Any]]:
    """``--config`` and the settings flags, taken out of ``flags``."""
    config = flags.pop("config", None)
    return config, {name: flags.pop(name, None) for name in SETTINGS_FLAGS}


def settings_from_flags(flags: dict[str, Any]) -> Settings:
    """Settings from ``--config`` and the flags; pops the flags it used."""
    config, overrides = split_flags(flags)
    return load_settings(config, **overrides)
