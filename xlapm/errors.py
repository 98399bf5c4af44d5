"""The two families of errors a user can meet: bad input, and file problems.

Every message is written for a CSM: what is wrong, where (file, sheet, row, column),
and, in ``hint``, what to do about it.
"""

from __future__ import annotations


class XlapmError(Exception):
    """Something the user can fix; ``hint`` says how."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(XlapmError):
    """The data, settings or arguments given to xlapm cannot be used as they are."""


class ColumnNotFound(InputError):
    """A column the matrix needs is not in the account table."""


class SettingsError(InputError):
    """A setting has a value xlapm cannot use."""


class ExcelLimitError(InputError):
    """A value breaks one of Excel's own limits (sheet names, cell text, rows)."""


class OwnershipConflict(InputError):
    """A sheet a person made has the name of a sheet xlapm would write."""


class FileProblem(XlapmError):
    """A file cannot be read, written or trusted."""


class WorkbookLocked(FileProblem):
    """The workbook is open in Excel or read-only, so it cannot be replaced."""


class UnsafeWorkbook(FileProblem):
    """The file is not a workbook xlapm will open (hostile XML, a zip bomb)."""


class WouldLoseContent(FileProblem):
    """Writing would drop something a person made; nothing was written."""
