"""Working on a workbook's zip package without losing what a person made.

A rebuild renders xlapm's own sheets into a standalone *fragment* workbook, then
``splice_owned_sheets`` moves those sheets into the person's workbook part by part:
only the sheets xlapm owns change, every other part of the package is copied byte for
byte.

- ``safety``: opens a package only after refusing zip bombs, encryption and DTDs.
- ``atomic``: replaces a file in one step, or not at all.
- ``splice``: the merge itself, and the ownership marker it relies on.
- ``limits``: Excel's own limits on sheet names, defined names, rows and cell text.
"""

from xlapm.package.atomic import atomic_replace
from xlapm.package.limits import (
    MAX_CELL_TEXT,
    MAX_ROWS,
    make_sheet_names,
    validate_defined_name,
    validate_sheet_name,
    validate_sheet_names,
)
from xlapm.package.safety import open_package
from xlapm.package.splice import (
    OWNED_MARKER,
    SpliceReport,
    owned_sheets,
    sheet_names,
    splice_owned_sheets,
)

__all__ = [
    "MAX_CELL_TEXT",
    "MAX_ROWS",
    "OWNED_MARKER",
    "SpliceReport",
    "atomic_replace",
    "make_sheet_names",
    "open_package",
    "owned_sheets",
    "sheet_names",
    "splice_owned_sheets",
    "validate_defined_name",
    "validate_sheet_name",
    "validate_sheet_names",
]
