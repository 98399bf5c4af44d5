"""Reading account tables from the exports and workbooks CSMs really have."""

from __future__ import annotations

import datetime
import shutil
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from libreoffice import convert, needs_libreoffice
from openpyxl.worksheet.table import Table

from xlapm.core.reading import RawTable, find_uncached_formulas, read_table
from xlapm.core.values import parse_number_column
from xlapm.errors import FileProblem, InputError, UnsafeWorkbook

CASES = Path(__file__).parent / "data" / "cases"
DATA = Path(__file__).parent / "data"


def _numbers(table: RawTable, column: str) -> list[float | None]:
    read = parse_number_column(table.frame[column], table.decimal)
    return [None if np.isnan(number) else float(number) for number in read.values]


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# The shared cases, with the readings the shared README calls right.


def test_semicolon_export_with_decimal_commas_reads_three_accounts_by_four_columns():
    table = read_table(CASES / "C5_semicolon_decimal_comma.csv")

    assert table.frame.shape == (3, 4)
    assert list(table.frame.columns) == ["Account", "Account ID", "ARR", "Adoption"]
    assert (table.delimiter, table.decimal) == (";", ",")
    assert _numbers(table, "ARR") == [1250000.50, 98000.00, 310500.75]
    assert _numbers(table, "Adoption") == [45.5, 12.0, 78.25]
    assert list(table.frame["Account ID"]) == ["0012345678", "0098765432", "0011112222"]
    assert table.rows.tolist() == [2, 3, 4]


def test_bom_and_quoted_header_give_a_clean_first_column_name():
    table = read_table(CASES / "C6_bom_quoted_header.csv")

    assert table.frame.columns[0] == "Account Name"
    assert table.encoding == "utf-8-sig"
    assert _numbers(table, "ARR") == [120000.0, 98000.0]


def test_excel_unicode_text_is_utf16_with_tabs_and_keeps_accents():
    table = read_table(CASES / "C6_excel_unicode_text_utf16.txt")

    assert (table.encoding, table.delimiter) == ("utf-16-le", "\t")
    assert list(table.frame["Account Name"]) == ["Acme Café", "Beta"]
    assert _numbers(table, "Adoption Rate") == [0.45, 0.12]


def test_currency_percent_and_missing_values_are_read_and_missing_is_reported():
    table = read_table(CASES / "C7_currency_percent.csv")
    adoption = parse_number_column(table.frame["Adoption Rate"], table.decimal)

    assert _numbers(table, "ARR") == [1250000.0, 98000.0, -5000.0, 310500.75]
    assert _numbers(table, "Adoption Rate") == [0.45, 0.125, None, None]
    assert adoption.percent.tolist() == [True, True, False, False]
    assert adoption.problems.tolist() == [
        None,
        None,
        "is marked as missing ('n/a')",
        "is blank",
    ]
    assert table.rows.tolist() == [2, 3, 4, 5]


def test_telco_slice_reads_a_blank_total_charge_as_missing():
    """Lines 1 and 480-499 of shared/data/telco_customer_churn.csv (MD5 3b0bfab2…).

    Source line 490 (customer 4472-LVYGI, tenure 0), row 12 of the slice, has a
    single space as TotalCharges.
    """
    table = read_table(DATA / "telco_20_lines_480_499.csv")
    charges = parse_number_column(table.frame["TotalCharges"], table.decimal)
    new_customer = list(table.frame["customerID"]).index("4472-LVYGI")

    assert table.frame.shape == (20, 21)
    assert table.rows[new_customer] == 12
    assert table.frame["tenure"][new_customer] == "0"
    assert table.frame["TotalCharges"][new_customer] is None
    assert charges.problems[new_customer] == "is blank"
    assert np.count_nonzero(np.isnan(charges.values)) == 1


# Encodings and delimiters.


def test_cp1252_export_keeps_accents_and_euro_sign(tmp_path: Path):
    export = _write(
        tmp_path / "accounts.csv",
        "Account;ARR\r\nCafé Müller;€1.234,56\r\nSoleil Résidences;€98.000,00\r\n",
        "cp1252",
    )

    table = read_table(export)

    assert table.encoding == "cp1252"
    assert list(table.frame["Account"]) == ["Café Müller", "Soleil Résidences"]
    assert _numbers(table, "ARR") == [1234.56, 98000.0]


def test_cyrillic_cp1251_export_is_not_mistaken_for_cp1252(tmp_path: Path):
    export = _write(
        tmp_path / "accounts.csv",
        "Клиент;Выручка\nООО Ромашка;1000\nАО Березка;2000\n"
        "ИП Иванов Сергей Петрович;300\n",
        "cp1251",
    )

    table = read_table(export)

    assert list(table.frame["Клиент"])[0] == "ООО Ромашка"


def test_utf16_without_bom_is_found_by_its_nul_pattern(tmp_path: Path):
    export = _write(
        tmp_path / "accounts.txt", "Account\tARR\r\nAcme Café\t100\r\n", "utf-16-le"
    )

    table = read_table(export)

    assert table.encoding == "utf-16-le"
    assert list(table.frame["Account"]) == ["Acme Café"]


def test_utf16_big_endian_with_bom_is_read(tmp_path: Path):
    export = _write(
        tmp_path / "accounts.txt", "\ufeffAccount\tARR\nBeta\t5\n", "utf-16-be"
    )

    table = read_table(export)

    assert (table.encoding, list(table.frame.columns)) == (
        "utf-16-be",
        ["Account", "ARR"],
    )


@pytest.mark.parametrize(
    ("name", "delimiter"),
    [("a.tsv", "\t"), ("a.txt", "|"), ("a.csv", ";"), ("a.csv", ",")],
)
def test_delimiter_is_detected(tmp_path: Path, name: str, delimiter: str):
    lines = ["Account", "ARR", "Segment"], ["Acme", "1200", "SMB"], ["Beta", "5", "ENT"]
    export = _write(tmp_path / name, "\n".join(delimiter.join(x) for x in lines) + "\n")

    table = read_table(export)

    assert table.delimiter == delimiter
    assert table.frame.shape == (2, 3)
    assert _numbers(table, "ARR") == [1200.0, 5.0]


def test_delimiter_inside_quotes_does_not_count(tmp_path: Path):
    export = _write(
        tmp_path / "a.csv",
        'Account;ARR\n"Acme, Inc; EMEA";"1.200,50"\n"Beta, LLC";"98,5"\n',
    )

    table = read_table(export)

    assert table.delimiter == ";"
    assert list(table.frame["Account"]) == ["Acme, Inc; EMEA", "Beta, LLC"]
    assert _numbers(table, "ARR") == [1200.5, 98.5]


def test_excel_sep_line_sets_the_delimiter_and_is_not_a_row(tmp_path: Path):
    export = _write(tmp_path / "a.csv", "sep=;\nAccount;ARR\nAcme, Inc;5\n")

    table = read_table(export)

    assert (table.delimiter, list(table.frame.columns)) == (";", ["Account", "ARR"])
    assert table.rows.tolist() == [2]


def test_decimal_mark_can_be_given_for_a_comma_separated_file(tmp_path: Path):
    export = _write(tmp_path / "a.csv", 'Account,ARR\nAcme,"1.200,50"\n')

    table = read_table(export, decimal=",")

    assert table.decimal == ","
    assert _numbers(table, "ARR") == [1200.5]


# Headers, cells and row numbers.


def test_blank_lines_are_skipped_and_rows_stay_true_to_the_file(tmp_path: Path):
    export = _write(tmp_path / "a.csv", "\nAccount,ARR\nAcme,1\n\n , \nBeta,2\n")

    table = read_table(export)

    assert list(table.frame["Account"]) == ["Acme", "Beta"]
    assert table.rows.tolist() == [3, 6]


def test_quoted_line_break_stays_in_one_row_as_excel_shows_it(tmp_path: Path):
    export = _write(tmp_path / "a.csv", 'Account,Note\nAcme,"two\nlines"\nBeta,x\n')

    table = read_table(export)

    assert list(table.frame["Note"]) == ["two\nlines", "x"]
    assert table.rows.tolist() == [2, 3]


def test_headers_are_cleaned_named_and_made_unique(tmp_path: Path):
    export = _write(
        tmp_path / "a.csv", " \"Account\" ,ARR,,arr, 'Segment' \nAcme,1,x,2,SMB\n"
    )

    table = read_table(export)

    assert list(table.frame.columns) == [
        "Account",
        "ARR",
        "Column 3",
        "arr (2)",
        "Segment",
    ]


def test_empty_unnamed_column_from_trailing_delimiters_is_dropped(tmp_path: Path):
    export = _write(tmp_path / "a.csv", "Account;ARR;\nAcme;5;\nBeta;6;\n")

    table = read_table(export)

    assert list(table.frame.columns) == ["Account", "ARR"]


def test_cells_are_stripped_unwrapped_and_empty_ones_are_none(tmp_path: Path):
    export = _write(
        tmp_path / "a.csv", 'ID,Account,ARR\n="00123",  Acme  ,\n=("0042"),Beta, 5 \n'
    )

    table = read_table(export)

    assert table.frame.to_dict("list") == {
        "ID": ["00123", "0042"],
        "Account": ["Acme", "Beta"],
        "ARR": [None, "5"],
    }


def test_nothing_is_converted_to_numbers_while_reading(tmp_path: Path):
    export = _write(tmp_path / "a.csv", "ID,ARR\n007,1200\n")

    table = read_table(export)

    assert table.frame.iloc[0].tolist() == ["007", "1200"]


def test_line_with_too_many_values_is_named(tmp_path: Path):
    export = _write(tmp_path / "a.csv", "Account,ARR\nAcme,5\nAcme, Inc,6\n")

    with pytest.raises(FileProblem) as raised:
        read_table(export)

    assert "line 3 has 3 values where the header has 2" in str(raised.value)
    assert "double quotes" in (raised.value.hint or "")


def test_empty_export_is_an_input_error(tmp_path: Path):
    with pytest.raises(InputError, match="a.csv is empty"):
        read_table(_write(tmp_path / "a.csv", "\n \n"))


# Workbooks.


def _workbook(path: Path, rows: list[list[object]], title: str = "Accounts") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_xlsx_numbers_stored_as_text_come_back_as_text(tmp_path: Path):
    book = _workbook(
        tmp_path / "book.xlsx",
        [
            ["Account", "ARR", "Adoption"],
            ["Acme", "1,200", "45%"],
            ["Beta", 98000, 0.5],
        ],
    )

    table = read_table(book)

    assert table.frame.to_dict("list") == {
        "Account": ["Acme", "Beta"],
        "ARR": ["1,200", 98000],
        "Adoption": ["45%", 0.5],
    }
    assert (table.sheet, table.delimiter, table.decimal) == ("Accounts", None, ".")
    assert _numbers(table, "ARR") == [1200.0, 98000.0]
    assert _numbers(table, "Adoption") == [0.45, 0.5]


def test_xlsx_header_is_the_first_filled_row_and_rows_are_sheet_rows(tmp_path: Path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["B3"], sheet["C3"], sheet["E3"] = "Account", "ARR", "Renewal"
    sheet["B4"], sheet["C4"] = "Acme", 5
    sheet["B6"], sheet["C6"] = "Beta", "  "
    sheet["E6"] = datetime.datetime(2025, 3, 31)
    book.save(tmp_path / "book.xlsx")

    table = read_table(tmp_path / "book.xlsx")

    assert list(table.frame.columns) == ["Account", "ARR", "Renewal"]
    assert table.rows.tolist() == [4, 6]
    assert table.frame["ARR"].tolist() == [5, None]
    assert table.frame["Renewal"][1] == datetime.date(2025, 3, 31)


def test_excel_table_is_found_by_name_in_any_case(tmp_path: Path):
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "Notes"
    notes["A1"] = "read me"
    data = book.create_sheet("Data")
    data.append(["Region", "Pipeline"])
    data.append([])
    data.append(["Account", "ARR"])
    data.append(["Acme", 10])
    data.append(["Beta", 20])
    data.add_table(Table(displayName="Pipeline", ref="A3:B5"))
    book.save(tmp_path / "book.xlsx")

    table = read_table(tmp_path / "book.xlsx", sheet="pipeline")

    assert table.sheet == "Pipeline"
    assert table.frame.to_dict("list") == {"Account": ["Acme", "Beta"], "ARR": [10, 20]}
    assert table.rows.tolist() == [4, 5]


def test_table_named_like_accounts_is_read_by_default(tmp_path: Path):
    book = openpyxl.Workbook()
    book.active.title = "Summary"
    data = book.create_sheet("Export")
    for row in (["Account", "ARR"], ["Acme", 10]):
        data.append(row)
    data.add_table(Table(displayName="tblAccounts", ref="A1:B2"))
    book.save(tmp_path / "book.xlsx")

    table = read_table(tmp_path / "book.xlsx")

    assert (table.sheet, table.frame["Account"].tolist()) == ("tblAccounts", ["Acme"])


def test_first_visible_sheet_is_read_when_none_is_called_accounts(tmp_path: Path):
    book = openpyxl.Workbook()
    hidden = book.active
    hidden.title = "Lists"
    hidden.append(["Segment"])
    hidden.sheet_state = "hidden"
    export = book.create_sheet("Q3 export")
    export.append(["Account", "ARR"])
    export.append(["Acme", 10])
    book.save(tmp_path / "book.xlsx")

    assert read_table(tmp_path / "book.xlsx").sheet == "Q3 export"


def test_unknown_sheet_names_the_file_and_what_exists(tmp_path: Path):
    book = _workbook(tmp_path / "book.xlsx", [["Account"], ["Acme"]])

    with pytest.raises(InputError) as raised:
        read_table(book, sheet="Pipeline")

    assert str(raised.value) == (
        "book.xlsx has no sheet or Excel Table named 'Pipeline' "
        "(sheets: 'Accounts'; tables: none)."
    )


def test_excel_error_cell_is_read_as_its_error_not_as_blank(tmp_path: Path):
    # openpyxl stores the text "#N/A" as an error cell, as Excel would.
    book = _workbook(tmp_path / "book.xlsx", [["Account", "ARR"], ["Acme", "#N/A"]])

    table = read_table(book)
    arr = parse_number_column(table.frame["ARR"], table.decimal)

    assert table.frame["ARR"].tolist() == ["#N/A"]
    assert arr.problems.tolist() == ["is an Excel error (#N/A)"]


# Formulas without a saved result.


def test_formulas_saved_by_openpyxl_have_no_result_and_are_listed(tmp_path: Path):
    book = _workbook(
        tmp_path / "book.xlsx",
        [["Account", "ARR", "Double"], ["Acme", 5, "=B2*2"], ["Beta", 6, "=B3*2"]],
    )

    assert find_uncached_formulas(book) == ["C2", "C3"]
    assert read_table(book).frame["Double"].tolist() == [None, None]


def test_formula_with_a_saved_result_is_not_listed(tmp_path: Path):
    book = _workbook(
        tmp_path / "book.xlsx",
        [["Account", "ARR", "Double", "Label"], ["Acme", 5, "=B2*2", '=""']],
    )
    _save_results(book, {b"<f>B2*2</f><v />": b"<f>B2*2</f><v>10</v>"})
    _save_results(
        book, {b'<c r="D2"><f>""</f><v />': b'<c r="D2" t="str"><f>""</f><v />'}
    )

    assert find_uncached_formulas(book) == []
    assert read_table(book).frame["Double"].tolist() == [10]


def test_workbook_without_formulas_has_none_uncached(tmp_path: Path):
    book = _workbook(tmp_path / "book.xlsx", [["Account", "ARR"], ["Acme", 5]])

    assert find_uncached_formulas(book) == []


def test_uncached_formulas_outside_the_table_are_not_listed(tmp_path: Path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    for row in (["Account", "ARR", "Double"], ["Acme", 5, "=B2*2"]):
        sheet.append(row)
    sheet["F9"] = "=SUM(B:B)"
    sheet.add_table(Table(displayName="Accounts", ref="A1:C2"))
    book.save(tmp_path / "book.xlsx")

    assert find_uncached_formulas(tmp_path / "book.xlsx") == ["C2"]
    assert find_uncached_formulas(tmp_path / "book.xlsx", "Data") == ["C2", "F9"]


@needs_libreoffice
@pytest.mark.libreoffice
def test_workbook_resaved_by_libreoffice_has_every_formula_result(tmp_path: Path):
    book = _workbook(
        tmp_path / "book.xlsx", [["Account", "ARR", "Double"], ["Acme", 5, "=B2*2"]]
    )

    resaved = convert(book, tmp_path / "resaved")

    assert find_uncached_formulas(resaved) == []
    assert read_table(resaved).frame["Double"].tolist() == [10]


def _save_results(book: Path, replacements: dict[bytes, bytes]) -> None:
    """Write cached results into a sheet, as Excel does when it saves."""
    patched = book.with_suffix(".tmp")
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(patched, "w") as target:
        for member in source.infolist():
            content = source.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                for old, new in replacements.items():
                    assert old in content
                    content = content.replace(old, new)
            target.writestr(member, content)
    shutil.move(patched, book)


# Files that are not what they say, or not there.


def test_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path):
    bomb = tmp_path / "bomb.xlsx"
    zeros = b"0" * (1 << 20)
    # 60 MiB of zeros packs into about 60 KiB: a thousand times, as bombs do.
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(60):
                member.write(zeros)

    with pytest.raises(UnsafeWorkbook, match="bomb.xlsx looks like a zip bomb"):
        read_table(bomb)


def test_workbook_part_with_a_dtd_is_refused(tmp_path: Path):
    book = _workbook(tmp_path / "book.xlsx", [["Account"], ["Acme"]])
    _save_results(
        book,
        {b"<worksheet": b'<!DOCTYPE x [<!ENTITY a "aaaa">]><worksheet'},
    )

    with pytest.raises(UnsafeWorkbook, match="DTD"):
        read_table(book)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"Account,ARR\nAcme,5\n", "is a text file, not an Excel workbook"),
        (b"<html><table><tr><td>Acme</td></tr></table></html>", "is a web page"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old Excel (.xls)"),
        (bytes(range(256)), "is not an Excel workbook, despite its name"),
    ],
)
def test_file_named_xlsx_that_is_no_workbook_is_refused(
    tmp_path: Path, content: bytes, said: str
):
    fake = tmp_path / "accounts.xlsx"
    fake.write_bytes(content)

    with pytest.raises(FileProblem, match="accounts.xlsx") as raised:
        read_table(fake)

    assert said in str(raised.value)
    assert raised.value.hint


def test_zip_that_is_no_workbook_is_refused(tmp_path: Path):
    archive_path = tmp_path / "accounts.xlsx"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("notes.txt", "hello")

    with pytest.raises(FileProblem, match="is a zip archive, not an Excel workbook"):
        read_table(archive_path)


def test_workbook_saved_with_a_csv_name_is_refused(tmp_path: Path):
    book = _workbook(tmp_path / "book.xlsx", [["Account"], ["Acme"]])
    renamed = book.rename(tmp_path / "book.csv")

    with pytest.raises(FileProblem, match="book.csv is a workbook") as raised:
        read_table(renamed)

    assert "rename it to .xlsx" in (raised.value.hint or "")


def test_old_xls_workbook_asks_to_save_as_xlsx(tmp_path: Path):
    old = tmp_path / "accounts.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")

    with pytest.raises(FileProblem, match=r"accounts.xls is an old Excel") as raised:
        read_table(old)

    assert "save it as .xlsx" in (raised.value.hint or "")


def test_missing_file_is_named(tmp_path: Path):
    with pytest.raises(FileProblem, match="^nothing.csv was not found.$"):
        read_table(tmp_path / "nothing.csv")


def test_folder_is_not_a_file(tmp_path: Path):
    folder = tmp_path / "exports.csv"
    folder.mkdir()

    with pytest.raises(FileProblem, match="is a folder"):
        read_table(folder)


def test_unsupported_file_type_lists_what_is_read(tmp_path: Path):
    report = _write(tmp_path / "accounts.pdf", "%PDF-1.7")

    with pytest.raises(FileProblem, match=r"not a file type xlapm reads \(.pdf\)"):
        read_table(report)


def test_uncached_formulas_of_a_csv_is_a_file_problem(tmp_path: Path):
    with pytest.raises(FileProblem, match="not a file type"):
        find_uncached_formulas(_write(tmp_path / "a.csv", "Account\nAcme\n"))


def test_workbook_title_rows_above_the_header_are_skipped(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = "Salesforce report: My accounts"
    sheet["A2"] = "As of today"
    sheet.append([])
    sheet.append(["Account Name", "ARR", "Adoption Rate"])
    sheet.append(["Acme", 1000, 0.4])
    book.save(tmp_path / "report.xlsx")

    table = read_table(tmp_path / "report.xlsx")

    assert list(table.frame.columns) == ["Account Name", "ARR", "Adoption Rate"]
    assert table.rows.tolist() == [5]
