"""Excel's limits on sheet names, defined names, rows and cell text."""

from __future__ import annotations

import pytest

from xlapm.errors import ExcelLimitError
from xlapm.package.limits import (
    MAX_CELL_TEXT,
    MAX_ROWS,
    make_sheet_names,
    validate_cell_text,
    validate_defined_name,
    validate_row_count,
    validate_sheet_name,
    validate_sheet_names,
)


def test_the_limits_are_excels() -> None:
    assert MAX_ROWS == 1_048_576
    assert MAX_CELL_TEXT == 32_767


@pytest.mark.parametrize(
    "name",
    ["Matrix", "TIER 1", "O'Brien", "Q3 - 2026", "É" * 31, "😀" * 15, "Histories"],
)
def test_valid_sheet_names_are_returned(name: str) -> None:
    assert validate_sheet_name(name) == name


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "a sheet name cannot be blank"),
        ("   ", "a sheet name cannot be blank"),
        ("A" * 32, "Excel allows at most 31 characters"),
        # An emoji is two UTF-16 units, and Excel counts units.
        ("😀" * 16, "Excel allows at most 31 characters"),
        ("Q1/Q2", "it contains /; Excel forbids [ ] : * ? / \\ in sheet names"),
        ("[a]:b", "it contains : [ ]; Excel forbids [ ] : * ? / \\ in sheet names"),
        ("tab\there", "control characters cannot be stored in a workbook"),
        ("'Quoted", "a sheet name cannot start or end with an apostrophe (')"),
        ("Quoted'", "a sheet name cannot start or end with an apostrophe (')"),
        ("History", "Excel reserves the name 'History'"),
        ("history", "Excel reserves the name 'History'"),
    ],
)
def test_invalid_sheet_names_name_the_rule(name: str, rule: str) -> None:
    with pytest.raises(ExcelLimitError) as raised:
        validate_sheet_name(name)

    assert str(raised.value) == f"Sheet name {name!r} is not allowed: {rule}"
    assert raised.value.hint == "Choose another sheet name."


@pytest.mark.parametrize(
    ("names", "clash"),
    [
        (["Matrix", "TIER 1", "matrix"], ("matrix", "Matrix")),
        (["Ärger", "ÄRGER"], ("ÄRGER", "Ärger")),
    ],
)
def test_two_sheet_names_excel_holds_the_same_are_refused(
    names: list[str], clash: tuple[str, str]
) -> None:
    with pytest.raises(ExcelLimitError) as raised:
        validate_sheet_names(names)

    assert str(raised.value) == (
        f"Sheet name {clash[0]!r} is used twice (also as {clash[1]!r}); Excel "
        "needs every sheet name to differ, ignoring case"
    )


def test_distinct_sheet_names_are_returned_in_order() -> None:
    assert validate_sheet_names(["Matrix", "ß", "ss"]) == ["Matrix", "ß", "ss"]


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["Ana / Lee"], ["Ana - Lee"]),
        (["Ana", "ana", "ANA"], ["Ana", "ana (2)", "ANA (3)"]),
        (["A" * 40, "A" * 40], ["A" * 31, "A" * 27 + " (2)"]),
        (["History"], ["History (2)"]),
        (["[Q3] EMEA: North*"], ["(Q3) EMEA- North"]),
        (["", "  "], ["Sheet", "Sheet (2)"]),
        (["'Quoted'"], ["Quoted"]),
        (["Line\nbreak"], ["Line break"]),
        # Cut to 31 characters, then the space left at the end goes.
        (["B" * 30 + " x"], ["B" * 30]),
    ],
)
def test_make_sheet_names(names: list[str], expected: list[str]) -> None:
    made = make_sheet_names(names)

    assert made == expected
    assert all(validate_sheet_name(name) == name for name in made)


def test_make_sheet_names_avoids_names_already_taken() -> None:
    assert make_sheet_names(["matrix", "Data"], taken=["Matrix"]) == [
        "matrix (2)",
        "Data",
    ]


@pytest.mark.parametrize(
    "name", ["APM_Threshold", "_xlapm_owned", "\\backslash", "Q3.ARR", "XFE1", "RC1x"]
)
def test_valid_defined_names_are_returned(name: str) -> None:
    assert validate_defined_name(name) == name


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "a name cannot be blank"),
        ("1abc", "the first character must be a letter, _ or \\"),
        ("my name", "only letters, digits, _, . and \\ are allowed (no spaces)"),
        ("A1", "it reads as a cell reference"),
        ("xfd1048576", "it reads as a cell reference"),
        ("R1C1", "it reads as a cell reference"),
        ("R", "it reads as a cell reference"),
        ("c", "it reads as a cell reference"),
        ("a" * 256, "Excel allows at most 255 characters"),
    ],
)
def test_invalid_defined_names_name_the_rule(name: str, rule: str) -> None:
    with pytest.raises(ExcelLimitError) as raised:
        validate_defined_name(name)

    assert str(raised.value) == f"Name {name!r} is not allowed: {rule}"


def test_cell_text_and_row_counts() -> None:
    assert validate_cell_text("x" * MAX_CELL_TEXT) == "x" * MAX_CELL_TEXT
    assert validate_row_count(MAX_ROWS, "Matrix") == MAX_ROWS

    with pytest.raises(ExcelLimitError) as raised:
        validate_cell_text("y" * (MAX_CELL_TEXT + 1))
    assert str(raised.value) == (
        "Text starting 'yyyyyyyyyyyyyyyyyyyy' has 32,768 characters; "
        "an Excel cell holds at most 32,767"
    )
    with pytest.raises(ExcelLimitError) as raised:
        validate_row_count(MAX_ROWS + 1, "Matrix")
    assert str(raised.value) == (
        "Sheet 'Matrix' would need 1,048,577 rows; "
        "an Excel sheet holds at most 1,048,576"
    )
