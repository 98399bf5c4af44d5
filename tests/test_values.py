"""Numbers as CSMs type them: one rule, read one value or a whole column."""

from __future__ import annotations

import datetime
import decimal
import math

import numpy as np
import pandas as pd
import pytest

from xlapm.core import values
from xlapm.core.values import (
    BLANK,
    NOT_A_NUMBER,
    NOT_FINITE,
    SHORTHAND,
    TRUE_OR_FALSE,
    ParsedValue,
    parse_number,
    parse_number_column,
    unwrap_excel_text,
    unwrap_excel_text_column,
)

AMBIGUOUS_DOT = "is not a number (the decimal mark here is '.')"
AMBIGUOUS_COMMA = "is not a number (the decimal mark here is ',')"

# (value, decimal mark, number, percent, problem)
CASES = [
    (1250000, ".", 1250000.0, False, None),
    (0.45, ".", 0.45, False, None),
    (np.int64(7), ".", 7.0, False, None),
    (np.float32(2.5), ".", 2.5, False, None),
    (decimal.Decimal("12.5"), ".", 12.5, False, None),
    (True, ".", None, False, TRUE_OR_FALSE),
    (np.bool_(False), ".", None, False, TRUE_OR_FALSE),
    (None, ".", None, False, BLANK),
    (float("nan"), ".", None, False, BLANK),
    (math.inf, ".", None, False, NOT_FINITE),
    ("", ".", None, False, BLANK),
    ("   ", ".", None, False, BLANK),
    ("1200", ".", 1200.0, False, None),
    ("-12.5", ".", -12.5, False, None),
    ("$12,345.67", ".", 12345.67, False, None),
    ("USD 98,000", ".", 98000.0, False, None),
    ("usd 98,000", ".", 98000.0, False, None),
    ("98 000 EUR", ".", 98000.0, False, None),
    ("€1.234,56", ",", 1234.56, False, None),
    ("1.234.567,89 €", ",", 1234567.89, False, None),
    ("£5", ".", 5.0, False, None),
    ("CHF 1'200.50", ".", 1200.5, False, None),
    ("US$ 40", ".", 40.0, False, None),
    ("45%", ".", 0.45, True, None),
    ("12.5 %", ".", 0.125, True, None),
    ("12,5 %", ",", 0.125, True, None),
    (" 1 200 ", ".", 1200.0, False, None),
    ("1\u00a0200", ".", 1200.0, False, None),
    ("1\u202f200,5", ",", 1200.5, False, None),
    ("1'200", ".", 1200.0, False, None),
    ("1’200", ",", 1200.0, False, None),
    ("12,34,567", ".", 1234567.0, False, None),
    ("($5,000.00)", ".", -5000.0, False, None),
    ("$(5,000.00)", ".", -5000.0, False, None),
    ("(5.000,00 €)", ",", -5000.0, False, None),
    ("-$5", ".", -5.0, False, None),
    ("$-5", ".", -5.0, False, None),
    ("5000-", ".", -5000.0, False, None),
    ("\u22127", ".", -7.0, False, None),
    ("+5", ".", 5.0, False, None),
    (".5", ".", 0.5, False, None),
    ("1.2E+06", ".", 1200000.0, False, None),
    ("0012345678", ".", 12345678.0, False, None),
    ("1,500", ".", 1500.0, False, None),
    ("1,5", ".", None, False, AMBIGUOUS_DOT),
    ("0,45", ".", None, False, AMBIGUOUS_DOT),
    ("€1.234,56", ".", None, False, AMBIGUOUS_DOT),
    ("0.45", ",", None, False, AMBIGUOUS_COMMA),
    ("$12,345.67", ",", None, False, AMBIGUOUS_COMMA),
    ("1,500", ",", 1.5, False, None),
    ("1.500", ",", 1500.0, False, None),
    ("1.2k", ".", None, False, SHORTHAND),
    ("3M", ".", None, False, SHORTHAND),
    ("$2.5bn", ".", None, False, SHORTHAND),
    ("n/a", ".", None, False, "is marked as missing ('n/a')"),
    ("NA", ".", None, False, "is marked as missing ('NA')"),
    ("N/A", ".", None, False, "is marked as missing ('N/A')"),
    ("-", ".", None, False, "is marked as missing ('-')"),
    ("—", ".", None, False, "is marked as missing ('—')"),
    ("null", ".", None, False, "is marked as missing ('null')"),
    ("None", ".", None, False, "is marked as missing ('None')"),
    ("(blank)", ".", None, False, "is marked as missing ('(blank)')"),
    ("#N/A", ".", None, False, "is an Excel error (#N/A)"),
    ("#DIV/0!", ".", None, False, "is an Excel error (#DIV/0!)"),
    ("#VALUE!", ".", None, False, "is an Excel error (#VALUE!)"),
    ("#REF!", ".", None, False, "is an Excel error (#REF!)"),
    ("#NAME?", ".", None, False, "is an Excel error (#NAME?)"),
    ("#SPILL!", ".", None, False, "is an Excel error (#SPILL!)"),
    ("abc", ".", None, False, NOT_A_NUMBER),
    ("--5", ".", None, False, NOT_A_NUMBER),
    ("-(5)", ".", None, False, NOT_A_NUMBER),
    ("(5", ".", None, False, NOT_A_NUMBER),
    ("$5 EUR", ".", None, False, NOT_A_NUMBER),
    ("$45%", ".", None, False, NOT_A_NUMBER),
    ("XYZ 5", ".", None, False, NOT_A_NUMBER),
    ("2024-01-15", ".", None, False, NOT_A_NUMBER),
    ("1 2", ".", None, False, NOT_A_NUMBER),
    ("1e999", ".", None, False, NOT_FINITE),
    ("9" * 400, ".", None, False, NOT_FINITE),
    (10**400, ".", None, False, NOT_FINITE),
    (datetime.date(2024, 1, 2), ".", None, False, values.A_DATE),
    (datetime.datetime(2024, 1, 2, 9, 30), ".", None, False, values.A_DATE),
    ([1, 2], ".", None, False, NOT_A_NUMBER),
]


def _case_id(case: tuple) -> str:
    return f"{repr(case[0])[:24]}@{case[1]}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(case) for case in CASES])
def test_parse_number_reads_a_value_as_a_csm_typed_it(case: tuple) -> None:
    value, mark, number, percent, problem = case

    assert parse_number(value, mark) == ParsedValue(number, percent, problem)


@pytest.mark.parametrize("mark", [".", ","])
def test_column_and_scalar_entry_points_agree_on_every_case(mark: str) -> None:
    cells = [case[0] for case in CASES]

    column = parse_number_column(pd.Series(cells, dtype=object), mark)

    for position, cell in enumerate(cells):
        expected = parse_number(cell, mark)
        got = column.values[position]
        assert (None if np.isnan(got) else got) == expected.number, repr(cell)
        assert column.percent[position] == expected.percent, repr(cell)
        assert column.problems[position] == expected.problem, repr(cell)


@pytest.mark.parametrize("mark", [".", ","])
def test_column_and_scalar_entry_points_agree_on_random_number_like_text(
    mark: str,
) -> None:
    alphabet = list("0123456789.,' $€%()-+eEkM/#!naN") + ["\u00a0", "USD ", "n/a"]
    generator = np.random.default_rng(11)
    texts = [
        "".join(generator.choice(alphabet, size=generator.integers(0, 10)))
        for _ in range(5000)
    ]

    column = parse_number_column(pd.Series(texts, dtype=object), mark)

    for position, text in enumerate(texts):
        expected = parse_number(text, mark)
        got = column.values[position]
        assert (None if np.isnan(got) else got) == expected.number, repr(text)
        assert column.percent[position] == expected.percent, repr(text)
        assert column.problems[position] == expected.problem, repr(text)


@pytest.mark.parametrize(
    ("mark", "template"),
    [(".", "${:,.2f}"), (",", "{:,.2f} €"), (".", "{:,.2f}"), (",", "({:,.2f})")],
)
def test_amounts_formatted_with_separators_read_back_to_the_same_number(
    mark: str, template: str
) -> None:
    amounts = np.round(np.random.default_rng(5).random(300) * 1e7, 2)
    texts = [template.format(amount) for amount in amounts]
    if mark == ",":
        # Swap the marks the way a European locale prints the same amount.
        texts = [text.translate(str.maketrans(",.", ".,")) for text in texts]
    sign = -1.0 if "(" in template else 1.0

    column = parse_number_column(pd.Series(texts, dtype=object), mark)

    assert column.values.tolist() == (sign * amounts).tolist()


def test_column_of_plain_numbers_takes_the_same_rule_as_one_value() -> None:
    texts = [f"{number:.2f}" for number in np.random.default_rng(7).random(500) * 1e6]

    column = parse_number_column(pd.Series(texts, dtype=object))

    assert column.values.tolist() == [parse_number(text).number for text in texts]


def test_numeric_column_is_read_without_text_rules() -> None:
    column = parse_number_column(pd.Series([1.5, np.nan, 3.0, np.inf]))

    assert column.values[[0, 2]].tolist() == [1.5, 3.0]
    assert column.problems.tolist() == [None, BLANK, None, NOT_FINITE]
    assert not column.percent.any()


def test_nullable_integer_column_reports_missing_as_blank() -> None:
    column = parse_number_column(pd.Series([1, None, 3], dtype="Int64"))

    assert column.values[[0, 2]].tolist() == [1.0, 3.0]
    assert column.problems.tolist() == [None, BLANK, None]


def test_pandas_string_column_reads_like_object_text() -> None:
    texts = ["$1,200", "45%", None, "n/a"]

    as_strings = parse_number_column(pd.Series(texts, dtype="str"))
    as_objects = parse_number_column(pd.Series(texts, dtype=object))

    assert np.array_equal(as_strings.values, as_objects.values, equal_nan=True)
    assert as_strings.problems.tolist() == as_objects.problems.tolist()


def test_missing_value_is_never_read_as_zero() -> None:
    column = parse_number_column(pd.Series(["", "n/a", None, "-", "#N/A"]))

    assert np.isnan(column.values).all()
    assert all(column.problems)


def test_bool_column_is_not_a_number() -> None:
    column = parse_number_column(pd.Series([True, False]))

    assert np.isnan(column.values).all()
    assert column.problems.tolist() == [TRUE_OR_FALSE, TRUE_OR_FALSE]


def test_column_keeps_positions_of_a_filtered_series() -> None:
    accounts = pd.Series(["$5", "n/a", "7"], index=[10, 20, 30])

    column = parse_number_column(accounts)

    assert column.values[[0, 2]].tolist() == [5.0, 7.0]
    assert column.problems[1] == "is marked as missing ('n/a')"


def test_column_reads_each_distinct_messy_text_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []
    read_text = values._read_text

    def counting(text: str, mark: str) -> tuple:
        seen.append(text)
        return read_text(text, mark)

    monkeypatch.setattr(values, "_read_text", counting)
    messy = [f"${index % 100:,}.00" for index in range(10_000)]

    parse_number_column(pd.Series(messy, dtype=object))

    assert sorted(seen) == sorted(set(messy))


def test_column_of_130000_messy_texts_is_read_without_problems() -> None:
    generator = np.random.default_rng(3)
    amounts = generator.random(130_000) * 2e6
    kinds = ["${:,.2f}", "USD {:,.0f}", "{:.1f}%", "({:,.2f})", "{:.2f}"]
    messy = [kinds[index % 5].format(amount) for index, amount in enumerate(amounts)]

    column = parse_number_column(pd.Series(messy, dtype=object))

    assert not any(column.problems)
    assert column.percent.sum() == 26_000
    assert (column.values[3::5] < 0).all()


def test_unknown_decimal_mark_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="decimal must be"):
        parse_number("1", decimal=";")


@pytest.mark.parametrize(
    ("text", "unwrapped"),
    [
        ('="0012345678"', "0012345678"),
        ('=("0012345678")', "0012345678"),
        ('= ( "0098765432" )', "0098765432"),
        ('="Acme ""Best"" Co"', 'Acme "Best" Co'),
        ("=A1*2", "=A1*2"),
        ('=("0012"', '=("0012"'),
        ("0012345678", "0012345678"),
        (None, None),
    ],
)
def test_unwrap_excel_text_keeps_leading_zeros(
    text: str | None, unwrapped: str | None
) -> None:
    assert unwrap_excel_text(text) == unwrapped


def test_unwrap_excel_text_column_matches_the_scalar_form() -> None:
    cells = ['="0012"', None, 5, "Acme", '=("0098")', "=A1"]

    unwrapped = unwrap_excel_text_column(pd.Series(cells, dtype=object))

    expected = [unwrap_excel_text(cell) for cell in cells]  # type: ignore[arg-type]
    assert unwrapped.tolist() == expected


def test_unwrap_excel_text_column_leaves_a_numeric_column_alone() -> None:
    numbers = pd.Series([1.0, 2.0])

    assert unwrap_excel_text_column(numbers) is numbers
