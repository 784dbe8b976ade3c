"""Importing ERP actuals: all or nothing, idempotent, every bad file refused with line, column and reason."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from budgets.amounts import NOT_CENTS, TOO_LARGE
from budgets.models import Expense, ImportRun
from budgets.services.imports import import_run
from budgets.services.imports_actuals import ACTUALS_COLUMNS
from budgets.services.imports_common import parse_amount
from tests.budgets.finance_helpers import (
    GOOD_ACTUAL,
    MARCH,
    actuals_csv,
    csv_bytes,
    with_nul,
)
from tests.factories import PeriodLockFactory

pytestmark = pytest.mark.django_db


def run(data: bytes, by=None, **kwargs):
    return import_run(kind="actuals", data=data, file_name="erp.csv", by=by, **kwargs)


def good_file() -> bytes:
    return actuals_csv(
        {"external_ref": "ERP-1"},
        {"external_ref": "ERP-2", "amount": "-50.00", "paid_by": "it", "currency": "USD", "incurred_on": "2026-04-02"},
        {"external_ref": "ERP-3", "amount": "0.01", "currency": "EUR"},
    )


def test_good_file_imports_every_row_with_history(ready, finance):
    report = run(good_file(), by=finance)
    assert report.ok and report.saved
    assert (report.rows, report.new, report.unchanged) == (3, 3, 0)
    expense = Expense.objects.get(external_ref="ERP-1")
    assert (expense.source, expense.amount, expense.amount_reporting) == ("erp", Decimal("1250.50"), Decimal("1375.55"))
    assert Expense.objects.get(external_ref="ERP-3").amount_reporting == Decimal("0.01")  # 0.011 → 0.01
    history = Expense.history.filter(external_ref="ERP-1").get()
    assert (history.history_type, history.history_user) == ("+", finance)
    assert history.history_change_reason == "Import of erp.csv"
    assert ImportRun.objects.get().created == 3


def test_summary_totals_by_payer_and_month(ready, finance):
    report = run(good_file(), by=finance, dry_run=True)
    assert report.summary["by_payer"] == {"marketing": Decimal("1375.56"), "it": Decimal("-50.00")}
    assert [(m["label"], m["rows"], m["total"]) for m in report.summary["by_month"]] == [
        ("March 2026", 2, Decimal("1375.56")),
        ("April 2026", 1, Decimal("-50.00")),
    ]
    assert Expense.objects.count() == 0  # a preview saves nothing


def test_importing_the_same_file_twice_adds_nothing_and_says_so(ready, finance):
    run(good_file(), by=finance)
    again = run(good_file(), by=finance)
    assert again.ok and not again.saved
    assert (again.new, again.unchanged) == (0, 3)
    assert again.nothing_new
    assert again.message == "Nothing new to import: all 3 rows of erp.csv were already imported. Nothing changed."
    assert Expense.objects.count() == 3


def test_a_file_with_new_and_known_refs_imports_only_the_new(ready, finance):
    run(actuals_csv({"external_ref": "ERP-1"}), by=finance)
    report = run(actuals_csv({"external_ref": "ERP-1"}, {"external_ref": "ERP-9"}), by=finance)
    assert (report.new, report.unchanged) == (1, 1)
    assert Expense.objects.count() == 2


def test_utf8_with_bom_is_fine(ready):
    assert run(actuals_csv({}, bom=True)).saved


def test_columns_may_come_in_any_order(ready):
    assert run(actuals_csv({}, columns=tuple(reversed(ACTUALS_COLUMNS)))).saved


BAD_ROWS = [
    # (what, row overrides, column, words in the reason)
    ("unknown initiative", {"initiative_code": "INI-9999"}, "initiative_code", "Unknown initiative code 'INI-9999'"),
    ("impossible date", {"incurred_on": "2026-02-30"}, "incurred_on", "'2026-02-30' is not a real date"),
    ("US date", {"incurred_on": "03/15/2026"}, "incurred_on", "not a date like 2026-03-15"),
    ("thousands separator", {"amount": '"1,234.00"'}, "amount", "'1,234.00' has a thousands separator"),
    ("currency symbol", {"amount": "$12"}, "amount", "'$12' contains '$'"),
    ("words", {"amount": "abc"}, "amount", "'abc' is not an amount like 1234.56"),
    ("NaN", {"amount": "NaN"}, "amount", "'NaN' is not a number"),
    ("infinity", {"amount": "Infinity"}, "amount", "'Infinity' is not a number"),
    ("scientific notation", {"amount": "1e400"}, "amount", "'1e400' is in scientific notation"),
    ("zero", {"amount": "0.00"}, "amount", "cannot be zero"),
    ("three decimals", {"amount": "12.345"}, "amount", NOT_CENTS),  # the amount rule's own words
    ("too large", {"amount": "1000000000000.00"}, "amount", TOO_LARGE),
    ("too long", {"amount": "1" + "0" * 40}, "amount", "is too long to be an amount"),
    ("blank amount", {"amount": ""}, "amount", "A value is required"),
    ("unknown currency", {"currency": "XYZ"}, "currency", "'XYZ' is not an ISO 4217 currency code"),
    ("no FX rate", {"currency": "GBP"}, "currency", "No FX rate for GBP in March 2026"),
    ("bad payer", {"paid_by": "finance"}, "paid_by", "'finance' is not a payer: use marketing or it"),
    ("unknown category", {"category": "travel"}, "category", "Unknown category 'travel'"),
    ("no external_ref", {"external_ref": ""}, "external_ref", "A value is required"),
    ("vendor too long", {"vendor": "x" * 201}, "vendor", "At most 200 characters"),
]


@pytest.mark.parametrize("what, row, column, reason", BAD_ROWS, ids=[case[0] for case in BAD_ROWS])
def test_a_bad_row_refuses_the_whole_file_naming_line_and_column(ready, finance, what, row, column, reason):
    data = actuals_csv({"external_ref": "GOOD-1"}, {"external_ref": "BAD-1", **row}, {"external_ref": "GOOD-2"})
    report = run(data, by=finance)
    assert not report.saved
    assert [(error.line, error.column) for error in report.errors] == [(3, column)]
    assert reason in report.errors[0].message
    assert Expense.objects.count() == 0


def test_duplicate_external_ref_names_both_lines(ready):
    report = run(actuals_csv({"external_ref": "DOC-7"}, {}, {"external_ref": "DOC-7"}))
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (4, "external_ref", "'DOC-7' also appears on line 2")
    ]
    assert Expense.objects.count() == 0


def test_locked_month_is_refused(ready):
    PeriodLockFactory(month=MARCH)
    report = run(actuals_csv({}))
    assert [(e.line, e.column) for e in report.errors] == [(2, "incurred_on")]
    assert report.errors[0].message.startswith("March 2026 is locked")
    assert Expense.objects.count() == 0


def test_every_bad_row_is_reported_not_just_the_first(ready):
    report = run(actuals_csv({"amount": "abc", "paid_by": "x"}, {"external_ref": "E2", "currency": "???"}))
    assert [(e.line, e.column) for e in report.errors] == [(2, "amount"), (2, "paid_by"), (3, "currency")]


def test_missing_rate_and_lock_are_reported_even_when_another_field_is_wrong(ready):
    PeriodLockFactory(month=dt.date(2026, 4, 1))
    report = run(
        actuals_csv(
            {"amount": "0", "currency": "CHF"}, {"external_ref": "E2", "amount": "$1", "incurred_on": "2026-04-09"}
        )
    )
    assert [(e.line, e.column) for e in report.errors] == [
        (2, "amount"),
        (2, "currency"),
        (3, "amount"),
        (3, "incurred_on"),
        (3, "currency"),  # no EUR rate for April either
    ]
    assert report.errors[1].message.startswith("No FX rate for CHF in March 2026")


FILE_ERRORS = [
    ("empty file", b"", 1, "—", "The file is empty"),
    ("only whitespace", b"\r\n  \r\n", 1, "—", "The file is empty"),
    ("header only", csv_bytes(ACTUALS_COLUMNS, []), 1, "—", "header row but no data rows"),
    (
        "missing column",
        csv_bytes([c for c in ACTUALS_COLUMNS if c != "currency"], [GOOD_ACTUAL]),
        1,
        "currency",
        "Missing column 'currency'",
    ),
    (
        "unknown column",
        csv_bytes([*ACTUALS_COLUMNS[:-1], "document_id"], [GOOD_ACTUAL]),
        1,
        "document_id",
        "Unknown column 'document_id'",
    ),
    (
        "not UTF-8",
        actuals_csv({}).replace(b"Studio Nord", "Café Zürich".encode("latin-1")),
        2,
        "vendor",
        "not UTF-8",
    ),
]


@pytest.mark.parametrize("what, data, line, column, reason", FILE_ERRORS, ids=[case[0] for case in FILE_ERRORS])
def test_a_bad_file_is_refused_naming_line_and_column(ready, what, data, line, column, reason):
    report = run(data)
    assert not report.saved
    assert (report.errors[0].line, report.errors[0].column) == (line, column)
    assert reason in report.errors[0].message
    assert Expense.objects.count() == 0


def test_a_row_with_too_few_values_is_named(ready):
    data = actuals_csv({}) + b"INI-0001,2026-03-01,5.00\r\n"
    report = run(data)
    assert [(e.line, e.column, e.message) for e in report.errors] == [(3, "—", "Expected 9 values, found 3.")]


def test_a_file_over_the_size_limit_is_refused(ready, settings):
    settings.IMPORT_MAX_BYTES = 200
    data = actuals_csv({}, {"external_ref": "E2"}, {"external_ref": "E3"})
    assert len(data) > 200
    report = run(data)
    assert (report.errors[0].line, report.errors[0].column) == (1, "—")
    assert "the limit is" in report.errors[0].message
    assert Expense.objects.count() == 0


def test_a_user_the_policy_refuses_cannot_import(ready, pm):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        run(good_file(), by=pm)
    assert Expense.objects.count() == 0


def test_import_uses_a_bounded_number_of_queries(ready, finance, django_assert_max_num_queries):
    rows = [{"external_ref": f"ERP-{n}", "incurred_on": f"2026-03-{n % 28 + 1:02d}"} for n in range(1500)]
    with django_assert_max_num_queries(20):
        report = run(actuals_csv(*rows), by=finance)
    assert report.saved and Expense.objects.count() == 1500


@pytest.mark.parametrize(
    "text, expected",
    [("12", Decimal("12")), ("-12.5", Decimal("-12.5")), ("0.01", Decimal("0.01")), (" 7.00 ", Decimal("7.00"))],
)
def test_plain_amounts_parse(text, expected):
    assert parse_amount(text) == expected


@pytest.mark.parametrize("text", ["12.345", "1000000000000.00", "0"])
def test_parsing_leaves_places_and_size_to_the_amount_rule(text):
    """budgets.amounts decides places, size and sign; the parser only reads the number."""
    assert parse_amount(text) == Decimal(text)


# --- the command runs the same code ---------------------------------------------------------


def test_command_imports_and_reports(ready, tmp_path, capsys):
    path = tmp_path / "erp.csv"
    path.write_bytes(good_file())
    call_command("import_actuals", str(path))
    assert "Imported 3 new expenses from erp.csv" in capsys.readouterr().out
    call_command("import_actuals", str(path))
    assert "Nothing new to import: all 3 rows of erp.csv were already imported." in capsys.readouterr().out
    assert Expense.objects.count() == 3
    assert ImportRun.objects.filter(via="command").count() == 2


def test_command_lists_every_error_and_saves_nothing(ready, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_bytes(actuals_csv({}, {"external_ref": "E2", "incurred_on": "2026-02-30"}))
    with pytest.raises(CommandError, match=r"bad\.csv was not imported: 1 error"):
        call_command("import_actuals", str(path))
    assert "line 3, incurred_on: '2026-02-30' is not a real date" in capsys.readouterr().err
    assert Expense.objects.count() == 0


def test_command_refuses_a_file_over_20_mb(ready, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.write(actuals_csv({}))
        handle.truncate(20 * 1024 * 1024 + 1)
    with pytest.raises(CommandError, match="the limit is 20 MB"):
        call_command("import_actuals", str(path))
    assert Expense.objects.count() == 0


def test_command_dry_run_saves_nothing(ready, tmp_path, capsys):
    path = tmp_path / "erp.csv"
    path.write_bytes(good_file())
    call_command("import_actuals", str(path), "--dry-run")
    assert "Ready to import 3 new expenses" in capsys.readouterr().out
    assert Expense.objects.count() == 0


# --- characters the database cannot store (issue 14, point 1) ---------------------------------


@pytest.mark.parametrize("column", ACTUALS_COLUMNS)
def test_a_nul_in_any_column_is_refused_at_validation_naming_line_and_column(ready, finance, column):
    data = actuals_csv({"external_ref": "GOOD-1"}, {"external_ref": "BAD-1", column: with_nul(GOOD_ACTUAL[column])})
    preview = run(data, by=finance, dry_run=True)
    assert not preview.ok  # the preview must not call the file valid
    assert [(e.line, e.column) for e in preview.errors] == [(3, column)]
    assert preview.errors[0].message.startswith("Character 3 is a NUL character (U+0000), which cannot be stored")

    confirmed = run(data, by=finance)  # on PostgreSQL this reached COPY and failed with CharacterNotInRepertoire
    assert not confirmed.saved and [(e.line, e.column) for e in confirmed.errors] == [(3, column)]
    assert Expense.objects.count() == 0
    assert ImportRun.objects.count() == 0


def test_a_nul_in_the_header_is_named_by_its_position(ready):
    data = actuals_csv({}).replace(b"vendor", b"ven\x00dor", 1)
    report = run(data)
    assert [(e.line, e.column) for e in report.errors] == [(1, "column 7")]
    assert "NUL character" in report.errors[0].message


def test_command_refuses_a_nul_naming_line_and_column(ready, tmp_path, capsys):
    path = tmp_path / "erp.csv"
    path.write_bytes(actuals_csv({"description": "Campaign\x00assets"}))
    with pytest.raises(CommandError, match=r"erp\.csv was not imported: 1 error"):
        call_command("import_actuals", str(path))
    assert "line 2, description: Character 9 is a NUL character" in capsys.readouterr().err
    assert Expense.objects.count() == 0


def test_command_keeps_a_file_name_that_is_not_utf8(ready, tmp_path):
    """Linux file names are bytes: Python hands a non-UTF-8 one over with lone surrogates, which no database stores."""
    path = tmp_path / "erp-\udcff.csv"  # the byte 0xFF in the name
    path.write_bytes(good_file())
    call_command("import_actuals", str(path))
    assert ImportRun.objects.get().file_name == "erp-\ufffd.csv"
    assert Expense.history.first().history_change_reason == "Import of erp-\ufffd.csv"


# --- one spelling everywhere (issue 14, point 7) ------------------------------------------------


def test_codes_and_choices_are_read_in_any_case_and_by_their_label(ready, finance):
    data = actuals_csv(
        {"initiative_code": "ini-0001", "paid_by": "IT", "category": "Software", "currency": "eur"},
        {"external_ref": "ERP-2", "initiative_code": " Ini-0001 ", "paid_by": "Marketing", "category": " AGENCY "},
    )
    report = run(data, by=finance)
    assert report.saved, report.errors
    stored = Expense.objects.order_by("external_ref").values_list("initiative__code", "paid_by", "category", "currency")
    assert list(stored) == [("INI-0001", "it", "software", "EUR"), ("INI-0001", "marketing", "agency", "EUR")]


def test_a_choice_that_is_neither_value_nor_label_is_still_refused(ready):
    report = run(actuals_csv({"paid_by": "I.T.", "category": "Softwares"}))
    assert [(e.column, e.message) for e in report.errors] == [
        ("paid_by", "'I.T.' is not a payer: use marketing or it"),
        ("category", "Unknown category 'Softwares': use one of labor, software, infrastructure, agency, media, other"),
    ]


@pytest.mark.parametrize(("digits", "reason"), [(40, TOO_LARGE), (1_000_000, "too long to be an amount")])
def test_a_huge_amount_names_its_column_in_a_short_message(ready, digits, reason):
    report = run(actuals_csv({"amount": "9" * digits}))  # a million digits once hit the CSV field limit: "—"
    assert [(e.line, e.column) for e in report.errors] == [(2, "amount")]
    message = report.errors[0].message
    assert reason in message and len(message) < 200
    assert Expense.objects.count() == 0


def test_a_huge_value_in_a_text_column_is_named_and_not_repeated(ready):
    report = run(actuals_csv({"initiative_code": "X" * 1_000_000}))
    assert [(e.line, e.column) for e in report.errors] == [(2, "initiative_code")]
    assert report.errors[0].message == (f"Unknown initiative code '{'X' * 40}…' (1,000,000 characters)")
