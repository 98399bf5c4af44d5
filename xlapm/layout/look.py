"""The shared look of owned sheets: colours, number formats, common styles."""

from __future__ import annotations

import math
import re

from xlapm.core.portfolio import Portfolio
from xlapm.core.settings import HealthScale, Settings
from xlapm.layout.plan import Style

INK = "#1F2937"
MUTED = "#6B7280"
PAPER = "#F3F4F6"
UNSCORED_COLOUR = "#9E9E9E"

TITLE = Style(bold=True, size=16, font_colour=INK)
SUBTITLE = Style(italic=True, font_colour=MUTED)
HEADING = Style(bold=True, size=12, font_colour=INK)
LABEL = Style(bold=True, font_colour=INK)
NOTE = Style(font_colour=MUTED, wrap=True, valign="top")
WRAP = Style(wrap=True, valign="top")
INPUT = Style(fill="#FFF8C5", border_colour="#D1D5DB")
COUNT = "#,##0"
SHARE = "0.0%"


def tint(colour: str, amount: float = 0.8) -> str:
    """``colour`` mixed with white: 0 keeps it, 1 gives white. Used for sticky cells.

    >>> tint("#000000", 0.5)
    '#808080'
    """
    red, green, blue = (int(colour[index : index + 2], 16) for index in (1, 3, 5))
    mixed = (round(part + (255 - part) * amount) for part in (red, green, blue))
    return "#" + "".join(f"{part:02X}" for part in mixed)


def ink_on(colour: str) -> str:
    """Black or white text, whichever reads better on ``colour``."""
    red, green, blue = (int(colour[index : index + 2], 16) for index in (1, 3, 5))
    luminance = 0.299 * red + 0.587 * green + 0.114 * blue
    return INK if luminance > 150 else "#FFFFFF"


def money_format(settings: Settings) -> str:
    """The number format for revenue cells, as the CS lead set it."""
    return settings.currency_format


def health_format(scale: HealthScale) -> str:
    """Percent for adoption-like health, a plain number for scores and months."""
    if scale in (HealthScale.FRACTION, HealthScale.PERCENT):
        return "0.0%"
    return "#,##0.##"


def currency_symbol(settings: Settings) -> str:
    """The symbol in the currency format (``$`` in ``$#,##0``), or ''."""
    match = re.search(r'[$€£¥]|"([^"]+)"', settings.currency_format)
    if not match:
        return ""
    return match.group(1) or match.group(0)


def compact_money(value: float, symbol: str) -> str:
    """A short amount for a sticky note: ``$1.2M``, ``$98K``, ``$640``.

    >>> compact_money(1_250_000, "$")
    '$1.25M'
    """
    if value != value:
        return ""
    sign = "-" if value < 0 else ""
    amount = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if amount >= limit:
            return f"{sign}{symbol}{_three_digits(amount / limit)}{suffix}"
    return f"{sign}{symbol}{_three_digits(amount)}"


def _three_digits(amount: float) -> str:
    if amount >= 100 or amount == math.floor(amount):
        return f"{amount:,.0f}"
    return f"{amount:.3g}"


def shown(value: float, number_format: str) -> str:
    """A value as its number format shows it, roughly: ``$204,800``, ``42.0%``.

    >>> shown(0.42, "0.0%"), shown(204800, "$#,##0")
    ('42.0%', '$204,800')
    """
    if value != value:
        return "not set (no account has this metric)"
    if "%" in number_format:
        return f"{value:.1%}"
    symbol = next((sign for sign in "$€£¥" if sign in number_format), "")
    digits = 0 if abs(value) >= 100 else 2
    text = f"{abs(value):,.{digits}f}"
    if not symbol:
        text = text.rstrip("0").rstrip(".") if "." in text else text
    return f"{'-' if value < 0 else ''}{symbol}{text}"


def threshold_texts(portfolio: Portfolio) -> tuple[str, str]:
    """The revenue and health thresholds in words: ``median = $204,800``."""
    c = portfolio.classification
    money = money_format(portfolio.settings)
    health = health_format(portfolio.accounts.health_scale)
    return (
        c.revenue_threshold.describe(shown(c.revenue_threshold.value, money)),
        c.health_threshold.describe(shown(c.health_threshold.value, health)),
    )


def health_text(value: float, scale: HealthScale) -> str:
    """Health as a sticky note shows it: ``45%`` or ``29``."""
    if value != value:
        return ""
    if scale in (HealthScale.FRACTION, HealthScale.PERCENT):
        return f"{value:.0%}"
    return f"{value:,.4g}"


def table_name(text: str) -> str:
    """A valid, readable Excel Table name from a sheet or quadrant name."""
    cleaned = re.sub(r"[^0-9A-Za-z_]", "_", text.strip()) or "Table"
    # Excel refuses table names that read as a cell reference (A1, R1C1).
    looks_like_cell = re.fullmatch(r"[A-Za-z]{1,3}\d+|[RrCc]\d*", cleaned)
    if looks_like_cell or not re.match(r"[A-Za-z_]", cleaned):
        cleaned = "T_" + cleaned
    return cleaned[:250]
