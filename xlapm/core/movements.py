"""How accounts moved between two quarters of the history.

Quadrants are ranked by how far along the playbooks an account is:

    RAMP (0)  <  MAINTAIN (1) = INVEST (1)  <  TIER 1 (2)

A move to a higher rank is *up* (INVEST → TIER 1, RAMP → MAINTAIN), to a lower one
*down* (TIER 1 → MAINTAIN, INVEST → RAMP), and between the two middle quadrants
*sideways* (MAINTAIN ↔ INVEST: more revenue but less health, or the reverse).
A move from or to UNSCORED has no direction (*unscored*): the data changed, not the
account. Accounts only in the later quarter are *new*, only in the earlier *lost*.

``move_label`` writes a move the way a cell shows it, and the formula
``=APM_MOVE(previous, current)`` returns the same text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from xlapm.core.history import (
    ACCOUNT,
    ACCOUNT_ID,
    CSM,
    HEALTH,
    QUADRANT,
    QUARTER,
    REVENUE,
    cell_text,
    match_keys,
    quarters,
)
from xlapm.core.settings import QUADRANT_KEYS, UNSCORED, Settings
from xlapm.errors import InputError

UP = "up"
DOWN = "down"
SIDEWAYS = "sideways"
SAME = "same"
NEW = "new"
LOST = "lost"
UNSCORED_MOVE = "unscored"

QUADRANT_RANK = {"ramp": 0, "maintain": 1, "invest": 1, "tier1": 2}
NEW_LABEL = "NEW"
LOST_LABEL = "LOST"
ARROWS = {UP: "▲", DOWN: "▼", SIDEWAYS: "►", UNSCORED_MOVE: "?"}

# The order the moved accounts are listed in: what needs attention first.
LISTING_ORDER = (DOWN, UP, SIDEWAYS, UNSCORED_MOVE, NEW, LOST, SAME)

FROM = "From"
TO = "To"
MOVE = "Move"
DIRECTION = "Direction"
PREVIOUS_REVENUE = "Previous revenue"
PREVIOUS_HEALTH = "Previous health"
MOVEMENT_COLUMNS = (
    ACCOUNT,
    ACCOUNT_ID,
    CSM,
    FROM,
    TO,
    MOVE,
    DIRECTION,
    REVENUE,
    PREVIOUS_REVENUE,
    HEALTH,
    PREVIOUS_HEALTH,
)


def direction(
    previous: object, current: object, settings: Settings | None = None
) -> str:
    """The direction of a move between quadrant names: ``up``, ``down``, ``same``…

    A blank ``previous`` is ``new``, a blank ``current`` is ``lost``.

    >>> direction("INVEST", "TIER 1")
    'up'
    """
    settings = settings or Settings()
    before, after = cell_text(previous), cell_text(current)
    if before is None and after is None:
        return SAME
    if before is None:
        return NEW
    if after is None:
        return LOST

    from_key, to_key = _key_of(before, settings), _key_of(after, settings)
    if _shown(before, settings) == _shown(after, settings):
        return SAME
    if from_key is None or to_key is None:
        return UNSCORED_MOVE
    change = QUADRANT_RANK[to_key] - QUADRANT_RANK[from_key]
    return UP if change > 0 else DOWN if change < 0 else SIDEWAYS


def move_label(
    previous: object, current: object, settings: Settings | None = None
) -> str:
    """A move as a cell shows it: ``▲ INVEST → TIER 1``, ``= TIER 1``, ``NEW``.

    Down is ``▼``, sideways ``►``, a move from or to UNSCORED ``?``; an account
    only in the later quarter is ``NEW``, only in the earlier ``LOST``, and two
    blanks give ``""``.

    >>> move_label("TIER 1", "MAINTAIN")
    '▼ TIER 1 → MAINTAIN'
    """
    settings = settings or Settings()
    before, after = cell_text(previous), cell_text(current)
    if before is None and after is None:
        return ""

    way = direction(before, after, settings)
    if way == NEW:
        return NEW_LABEL
    if way == LOST:
        return LOST_LABEL
    if way == SAME:
        return f"= {_shown(after, settings)}"
    return f"{ARROWS[way]} {_shown(before, settings)} → {_shown(after, settings)}"


def _key_of(name: str, settings: Settings) -> str | None:
    wanted = name.casefold()
    for key in QUADRANT_KEYS:
        if settings.quadrants[key].name.casefold() == wanted:
            return key
    return None


def _shown(name: str, settings: Settings) -> str:
    # Names are shown as the settings spell them, so "tier 1" reads "TIER 1".
    key = _key_of(name, settings)
    if key is not None:
        return settings.quadrants[key].name
    return UNSCORED if name.casefold() == UNSCORED.casefold() else name


@dataclass
class Movements:
    """Every account of two quarters, where it was and where it went.

    ``accounts`` holds ``MOVEMENT_COLUMNS``, one row per account in either
    quarter. ``counts`` and ``revenue`` are the from→to matrix: rows are the
    earlier quarter's quadrant (then UNSCORED, then NEW), columns the later one's
    (then UNSCORED, then LOST). Revenue is the later quarter's, except in the LOST
    column, which holds the revenue the lost accounts had.
    """

    previous_quarter: str
    current_quarter: str
    accounts: pd.DataFrame
    counts: pd.DataFrame
    revenue: pd.DataFrame
    warning: str | None = None

    def changed(self) -> pd.DataFrame:
        """Accounts in both quarters whose quadrant changed."""
        moved = ~self.accounts[DIRECTION].isin([SAME, NEW, LOST])
        return self.accounts[moved]

    def new(self) -> pd.DataFrame:
        """Accounts only in the later quarter."""
        return self.accounts[self.accounts[DIRECTION] == NEW]

    def lost(self) -> pd.DataFrame:
        """Accounts only in the earlier quarter."""
        return self.accounts[self.accounts[DIRECTION] == LOST]

    def tally(self) -> dict[str, int]:
        """How many accounts went each way, in ``LISTING_ORDER``."""
        found = self.accounts[DIRECTION].value_counts()
        return {way: int(found.get(way, 0)) for way in LISTING_ORDER}

    def describe(self) -> str:
        """The moves in one line: ``3 up, 2 down, 1 sideways, 4 new, 2 lost``."""
        tally = self.tally()
        shown = [UP, DOWN, SIDEWAYS, NEW, LOST]
        if tally[UNSCORED_MOVE]:
            shown.insert(3, UNSCORED_MOVE)
        return ", ".join(f"{tally[way]} {way}" for way in shown)


def pick_quarters(
    history: pd.DataFrame, previous: str | None = None, current: str | None = None
) -> tuple[str, str]:
    """The two quarters to compare: the last two, or those given.

    ``current`` defaults to the latest quarter, ``previous`` to the one before it.

    Raises:
        InputError: a quarter is not in the history, or there is nothing earlier.
    """
    held = quarters(history)
    for quarter in (previous, current):
        if quarter is not None and quarter not in held:
            raise InputError(
                f"The history has no quarter {quarter}; it holds "
                f"{', '.join(held) or 'no quarters yet'}.",
                hint="Take a snapshot of that quarter first.",
            )
    current = current or (held[-1] if held else None)
    earlier = [quarter for quarter in held if current and quarter < current]
    previous = previous or (earlier[-1] if earlier else None)
    if current is None or previous is None:
        raise InputError(
            f"Movements need two quarters; the history holds "
            f"{', '.join(held) or 'none'}.",
            hint="Take a snapshot again next quarter to see how accounts moved.",
        )
    if previous >= current:
        raise InputError(
            f"Quarter {previous} must come before {current} to compare them.",
            hint="Give the earlier quarter first.",
        )
    return previous, current


def compare_quarters(
    history: pd.DataFrame,
    previous: str | None = None,
    current: str | None = None,
    settings: Settings | None = None,
) -> Movements:
    """How accounts moved from ``previous`` to ``current`` (default: the last two).

    Args:
        history: the history, as ``merge_history`` or ``read_history`` return it.
        previous: the earlier quarter, such as ``2024Q3``.
        current: the later quarter, such as ``2024Q4``.
        settings: whose quadrant names rank the moves (default settings if None).

    Raises:
        InputError: see ``pick_quarters``.
    """
    settings = settings or Settings()
    previous, current = pick_quarters(history, previous, current)
    keys, warning = match_keys(history, [previous, current])
    rows = history.loc[keys.index].assign(_key=keys)

    before = rows[rows[QUARTER] == previous].set_index("_key")
    after = rows[rows[QUARTER] == current].set_index("_key")
    accounts = _paired(before, after, settings)
    counts, revenue = _matrix(accounts, settings)
    return Movements(previous, current, accounts, counts, revenue, warning)


def _paired(
    before: pd.DataFrame, after: pd.DataFrame, settings: Settings
) -> pd.DataFrame:
    # Keys of the later quarter first, in its order, then those only lost.
    order = after.index.append(before.index.difference(after.index, sort=False))
    was = before.reindex(order)
    now = after.reindex(order)
    known = now[ACCOUNT].notna()

    paired = pd.DataFrame(
        {
            ACCOUNT_ID: now[ACCOUNT_ID].where(known, was[ACCOUNT_ID]),
            ACCOUNT: now[ACCOUNT].where(known, was[ACCOUNT]),
            CSM: now[CSM].where(known, was[CSM]),
            FROM: was[QUADRANT],
            TO: now[QUADRANT],
            REVENUE: now[REVENUE],
            PREVIOUS_REVENUE: was[REVENUE],
            HEALTH: now[HEALTH],
            PREVIOUS_HEALTH: was[HEALTH],
        }
    ).reset_index(drop=True)
    for column in (ACCOUNT_ID, ACCOUNT, CSM, FROM, TO):
        paired[column] = _none_for_blank(paired[column])
    _label_moves(paired, settings)
    return _listed(paired)[list(MOVEMENT_COLUMNS)]


def _none_for_blank(column: pd.Series) -> pd.Series:
    # Object dtype keeps None for a blank; pandas 3 would infer str and use NaN.
    return column.astype(object).where(column.notna(), None)


def _label_moves(paired: pd.DataFrame, settings: Settings) -> None:
    # A history has a handful of distinct quadrant pairs, so each is labelled once.
    pairs = list(zip(paired[FROM], paired[TO], strict=True))
    names = {name: _named(name, settings) for pair in set(pairs) for name in pair}
    labels = {pair: move_label(*pair, settings) for pair in set(pairs)}
    ways = {pair: direction(*pair, settings) for pair in set(pairs)}

    paired[FROM] = pd.Series([names[start] for start, _ in pairs], dtype=object)
    paired[TO] = pd.Series([names[end] for _, end in pairs], dtype=object)
    paired[MOVE] = pd.Series([labels[pair] for pair in pairs], dtype=object)
    paired[DIRECTION] = pd.Series([ways[pair] for pair in pairs], dtype=object)


def _named(name: object, settings: Settings) -> str | None:
    text = cell_text(name)
    return None if text is None else _shown(text, settings)


def _listed(paired: pd.DataFrame) -> pd.DataFrame:
    rank = paired[DIRECTION].map(LISTING_ORDER.index)
    amount = paired[REVENUE].fillna(paired[PREVIOUS_REVENUE]).fillna(-np.inf)
    ordered = paired.assign(_rank=rank, _amount=-amount)
    ordered = ordered.sort_values(["_rank", "_amount"], kind="stable")
    return ordered.drop(columns=["_rank", "_amount"]).reset_index(drop=True)


def _matrix(
    accounts: pd.DataFrame, settings: Settings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = [*settings.quadrant_names(), UNSCORED]
    seen = set(accounts[FROM].dropna()) | set(accounts[TO].dropna())
    others = sorted(seen - set(names))
    rows = [*names, *others, NEW_LABEL]
    columns = [*names, *others, LOST_LABEL]

    start = accounts[FROM].fillna(NEW_LABEL)
    end = accounts[TO].fillna(LOST_LABEL)
    lost = end == LOST_LABEL
    amount = accounts[REVENUE].where(~lost, accounts[PREVIOUS_REVENUE]).fillna(0.0)

    grouped = pd.DataFrame({FROM: start, TO: end, "amount": amount}).groupby([FROM, TO])
    counts = grouped.size().unstack(fill_value=0)
    revenue = grouped["amount"].sum().unstack(fill_value=0.0)
    counts = counts.reindex(index=rows, columns=columns, fill_value=0).astype(int)
    revenue = revenue.reindex(index=rows, columns=columns, fill_value=0.0)
    for frame in (counts, revenue):
        frame.index.name, frame.columns.name = FROM, TO
    return counts, revenue.astype(float)
