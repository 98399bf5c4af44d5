"""Finding the columns the matrix needs in a CRM export, whatever they are called.

Headers are compared ignoring case, spaces and punctuation, so ``Annual Recurring
Revenue``, ``annual_recurring_revenue`` and ``ANNUAL RECURRING REVENUE`` are one name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from xlapm.errors import ColumnNotFound

# Most specific first: the first known name present in the export wins.
KNOWN_NAMES: dict[str, tuple[str, ...]] = {
    "revenue": (
        "arr",
        "annualrecurringrevenue",
        "arrusd",
        "totalarr",
        "currentarr",
        "annualrevenue",
        "acv",
        "annualcontractvalue",
        "contractvalue",
        "revenue",
        "mrr",
        "monthlyrecurringrevenue",
    ),
    "health": (
        "adoption",
        "adoptionrate",
        "adoptionpercent",
        "adoptionpct",
        "adoptionscore",
        "healthscore",
        "customerhealthscore",
        "health",
        "usage",
        "usagerate",
        "productusage",
    ),
    "account_id": (
        "accountid",
        "accountnumber",
        "customerid",
        "crmid",
        "salesforceid",
        "sfdcid",
        "id",
    ),
    "account_name": (
        "accountname",
        "account",
        "companyname",
        "company",
        "customername",
        "customer",
        "name",
    ),
    "csm": (
        "csm",
        "csmname",
        "customersuccessmanager",
        "accountowner",
        "owner",
        "csmowner",
    ),
}

ROLE_WORDS = {
    "revenue": "revenue",
    "health": "health",
    "account_id": "account ID",
    "account_name": "account name",
    "csm": "CSM",
}

FLAGS = {"revenue": "--revenue", "health": "--health"}
_LOOSE_MIN = 6
# Enough for a wide CRM export (Telco has 21 columns); the hint stays one line-ish.
_LISTED = 40


def normalise(header: str) -> str:
    """A header reduced to lowercase letters and digits, for matching."""
    return re.sub(r"[^0-9a-z]", "", str(header).casefold())


def find_column(
    headers: Sequence[str], role: str, chosen: str | None, source: str
) -> str | None:
    """The header that plays ``role``: the one ``chosen`` by the user, or a known name.

    Raises ``ColumnNotFound`` when a chosen column is absent; returns None when no
    known name is present (the caller decides whether the role is required).
    """
    by_key = {normalise(header): header for header in reversed(headers)}
    if chosen is not None:
        found = by_key.get(normalise(chosen))
        if found is None:
            raise ColumnNotFound(
                f"{source} has no column '{chosen}' for the {ROLE_WORDS[role]}.",
                hint=f"Columns there: {_listing(headers)}.",
            )
        return found

    for known in KNOWN_NAMES[role]:
        if known in by_key:
            return by_key[known]
    return _loose_match(headers, role)


def _loose_match(headers: Sequence[str], role: str) -> str | None:
    # "Health Score (0-100)" starts with a known name; "Product Adoption Rate"
    # contains one. Short names such as "id" or "arr" must match exactly, as
    # they hide inside unrelated words ("Paid", "Carrier").
    keyed = [(normalise(header), header) for header in headers]
    for known in KNOWN_NAMES[role]:
        for key, header in keyed:
            if key.startswith(known) and len(known) >= _LOOSE_MIN:
                return header
    for known in KNOWN_NAMES[role]:
        for key, header in keyed:
            if known in key and len(known) >= _LOOSE_MIN:
                return header
    return None


def require_column(
    headers: Sequence[str], role: str, chosen: str | None, source: str
) -> str:
    """Like ``find_column`` but the role must be filled."""
    found = find_column(headers, role, chosen, source)
    if found is None:
        flag = FLAGS.get(role, "--config")
        raise ColumnNotFound(
            f"{source}: no column looks like the {ROLE_WORDS[role]} metric.",
            hint=f"Name it with {flag} COLUMN; columns there: {_listing(headers)}.",
        )
    return found


def _listing(headers: Sequence[str]) -> str:
    shown = ", ".join(str(header) for header in headers[:_LISTED])
    return shown + (", …" if len(headers) > _LISTED else "")
