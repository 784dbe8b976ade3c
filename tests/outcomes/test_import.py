"""The CSV import of outcome measurements (PRODUCT.md §3b, §4): all-or-nothing, idempotent, the owner's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from outcomes.imports import outcomes_import
from outcomes.models import OutcomeMeasurement
from outcomes.services import today
from tests.factories import InitiativeFactory, UserFactory
from tests.outcomes.io_helpers import HEADER, csv_bytes, kpi

pytestmark = pytest.mark.django_db


@pytest.fixture
def mine(pm):
    return InitiativeFactory(owner=pm, status="in_progress")


@pytest.fixture
def conversion(mine):
    return kpi(mine, "Checkout conversion")


def _import(data: bytes, by, **options):
    return outcomes_import(data=data, file_name="m.csv", by=by, **options)


def _errors(report) -> list[tuple[int, str]]:
    return [(error.line, error.column) for error in report.errors]


def test_a_clean_file_is_imported_and_the_kpi_figures_refreshed(pm, mine, conversion):
    second = kpi(mine, "Cost to serve", direction="down", baseline=Decimal(10), target=Decimal(5))
    data = csv_bytes(
        f"{mine.code},checkout CONVERSION,2026-03-01,2.5",
        f"{mine.code.lower()},Checkout conversion,2026-04-01,3.0000",
        f"{mine.code},cost to serve,2026-04-01,8",
    )
    report = _import(data, pm)
    assert report.errors == []
    assert (report.rows, report.new, report.changed, report.unchanged, report.kpis) == (3, 3, 0, 0, 2)
    assert report.saved
    assert OutcomeMeasurement.objects.count() == 3
    conversion.refresh_from_db()
    assert conversion.first_measured_on == dt.date(2026, 3, 1)
    assert conversion.latest_measured_on == dt.date(2026, 4, 1)
    assert conversion.latest_value == Decimal("3.0000")
    assert conversion.attainment_pct == Decimal("50.00")
    second.refresh_from_db()
    assert second.latest_value == Decimal("8.0000")
    stored = OutcomeMeasurement.objects.get(kpi=conversion, measured_on=dt.date(2026, 3, 1))
    assert stored.recorded_by == pm
    assert stored.history.get().history_change_reason == "Import of m.csv"


def test_the_same_file_again_adds_nothing(pm, mine, conversion):
    data = csv_bytes(f"{mine.code},Checkout conversion,2026-03-01,2.5", f"{mine.code},Checkout conversion,2026-04-01,3")
    assert _import(data, pm).new == 2
    again = _import(data, pm)
    assert (again.new, again.changed, again.unchanged, again.saved) == (0, 0, 2, False)
    assert again.nothing_new
    assert "Nothing new" in again.message
    assert OutcomeMeasurement.objects.count() == 2
    assert OutcomeMeasurement.history.count() == 2


def test_a_changed_value_updates_the_stored_measurement(pm, mine, conversion):
    _import(csv_bytes(f"{mine.code},Checkout conversion,2026-03-01,2.5"), pm)
    report = _import(
        csv_bytes(f"{mine.code},Checkout conversion,2026-03-01,3.5", f"{mine.code},Checkout conversion,2026-03-02,3"),
        pm,
    )
    assert (report.new, report.changed, report.unchanged) == (1, 1, 0)
    assert OutcomeMeasurement.objects.get(measured_on=dt.date(2026, 3, 1)).value == Decimal("3.5000")
    conversion.refresh_from_db()
    assert conversion.latest_value == Decimal("3.0000")


def test_a_dry_run_saves_nothing(pm, mine, conversion):
    report = _import(csv_bytes(f"{mine.code},Checkout conversion,2026-03-01,2.5"), pm, dry_run=True)
    assert (report.new, report.saved) == (1, False)
    assert not OutcomeMeasurement.objects.exists()
    conversion.refresh_from_db()
    assert conversion.latest_value is None


def test_every_bad_cell_is_named_by_line_and_column_and_nothing_is_saved(pm, other_pm, mine, conversion):
    theirs = InitiativeFactory(owner=other_pm, status="in_progress")
    kpi(theirs, "Checkout conversion")
    tomorrow = today() + dt.timedelta(days=1)
    data = csv_bytes(
        f"{mine.code},Checkout conversion,2026-03-01,2.5",  # 2: good
        "INI-9999,Checkout conversion,2026-03-01,2.5",  # 3: unknown initiative
        f"{mine.code},Uptime,2026-03-01,2.5",  # 4: unknown KPI
        f"{theirs.code},Checkout conversion,2026-03-01,2.5",  # 5: not mine
        f"{mine.code},Checkout conversion,{tomorrow:%Y-%m-%d},2.5",  # 6: future
        f"{mine.code},Checkout conversion,2026-02-30,2.5",  # 7: not a date
        f"{mine.code},Checkout conversion,2026-03-08,lots",  # 8: not a number
        f"{mine.code},Checkout conversion,2026-03-09,1.23456",  # 9: five places
        f"{mine.code},Checkout conversion,2026-03-10,{'9' * 30}",  # 10: too large
        f"{mine.code},Checkout conversion,2026-03-01,2.6",  # 11: same day as line 2
        f"{mine.code},Checkout conversion,2026-03-12",  # 12: a value short
        ",Checkout conversion,2026-03-13,1",  # 13: no code
        f"{mine.code},,2026-03-14,1",  # 14: no KPI
        f"{mine.code},Checkout conversion,,",  # 15: no day, no value
        f'{mine.code},Checkout conversion,2026-03-16,"3,95"',  # 16: a decimal comma
    )
    report = _import(data, pm)
    assert _errors(report) == [
        (3, "initiative_code"),
        (4, "kpi"),
        (5, "initiative_code"),
        (6, "measured_on"),
        (7, "measured_on"),
        (8, "value"),
        (9, "value"),
        (10, "value"),
        (11, "measured_on"),
        (12, "—"),
        (13, "initiative_code"),
        (14, "kpi"),
        (15, "measured_on"),
        (15, "value"),
        (16, "value"),
    ]
    messages = {(error.line, error.column): error.message for error in report.errors}
    assert "INI-9999" in messages[(3, "initiative_code")]
    assert "Uptime" in messages[(4, "kpi")]
    assert "not your initiative" in messages[(5, "initiative_code")]
    assert "future" in messages[(6, "measured_on")]
    assert "line 2" in messages[(11, "measured_on")]
    assert "comma" in messages[(16, "value")]
    assert not report.saved
    assert not OutcomeMeasurement.objects.exists()
    conversion.refresh_from_db()
    assert conversion.latest_value is None


def test_one_bad_row_saves_nothing_of_a_file(pm, mine, conversion):
    rows = [f"{mine.code},Checkout conversion,2026-0{month}-01,{month}" for month in range(1, 9)]
    report = _import(csv_bytes(*rows, f"{mine.code},Checkout conversion,2026-09-01,x"), pm)
    assert _errors(report) == [(10, "value")]
    assert not OutcomeMeasurement.objects.exists()


def test_an_initiative_not_yet_approved_is_refused_for_its_owner(pm):
    draft = InitiativeFactory(owner=pm, status="draft")
    kpi(draft, "Checkout conversion")
    report = _import(csv_bytes(f"{draft.code},Checkout conversion,2026-03-01,2.5"), pm)
    assert _errors(report) == [(2, "initiative_code")]
    assert "approval" in report.errors[0].message


def test_another_pms_draft_is_unknown(pm, other_pm):
    draft = InitiativeFactory(owner=other_pm, status="draft")
    kpi(draft, "Checkout conversion")
    report = _import(csv_bytes(f"{draft.code},Checkout conversion,2026-03-01,2.5"), pm)
    assert _errors(report) == [(2, "initiative_code")]
    assert "Unknown initiative code" in report.errors[0].message


def test_a_bom_is_read(pm, mine, conversion):
    report = _import(csv_bytes(f"{mine.code},Checkout conversion,2026-03-01,2.5", bom=True), pm)
    assert report.errors == [] and report.new == 1


@pytest.mark.parametrize(
    ("data", "column"),
    [
        (b"INI-0001,Checkout conversion,2026-03-01,2.5\r\n", "INI-0001"),  # no header: the first row is taken for one
        (b"initiative_code,kpi,value\r\nINI-0001,x,2\r\n", "measured_on"),
        (b"", "\u2014"),
        (HEADER.encode() + b"\r\n", "\u2014"),
        (HEADER.encode() + b"\r\nINI-0001,Caf\xe9,2026-03-01,1\r\n", "kpi"),
    ],
    ids=["missing header", "missing column", "empty", "no rows", "not UTF-8"],
)
def test_a_file_of_the_wrong_shape_is_refused_at_line_1_or_the_bad_byte(pm, data, column):
    report = _import(data, pm)
    assert report.errors and not report.saved
    assert column in {error.column for error in report.errors}
    assert report.errors[0].line in (1, 2)


def test_a_file_over_20_mb_is_refused(pm, settings):
    settings.IMPORT_MAX_BYTES = 20 * 1024 * 1024
    report = _import(csv_bytes(*["x,y,2026-01-01,1"] * 10) + b" " * settings.IMPORT_MAX_BYTES, pm)
    assert _errors(report) == [(1, "\u2014")]
    assert "limit is 20 MB" in report.errors[0].message


@pytest.mark.parametrize("role", ["finance", "executive", "admin"])
def test_only_project_managers_import(role):
    user = UserFactory(role=role, side="marketing" if role == "executive" else "")
    with pytest.raises(PermissionDenied):
        _import(csv_bytes("INI-0001,x,2026-03-01,1"), user)


def test_the_command_imports_as_the_user(pm, mine, conversion, tmp_path):
    path = tmp_path / "m.csv"
    path.write_bytes(csv_bytes(f"{mine.code},Checkout conversion,2026-03-01,2.5"))
    call_command("import_outcomes", str(path), "--user", pm.username)
    assert OutcomeMeasurement.objects.get().recorded_by == pm
    path.write_bytes(csv_bytes(f"{mine.code},Checkout conversion,2026-03-02,nope"))
    with pytest.raises(CommandError, match="not imported"):
        call_command("import_outcomes", str(path), "--user", pm.username)
    with pytest.raises(CommandError, match="no user"):
        call_command("import_outcomes", str(path), "--user", "nobody")


def test_an_import_renews_the_dashboards_outcomes_once_committed(
    pm, mine, conversion, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from dashboard.outcomes import OUTCOMES_VERSION_KEY

    cache.set(OUTCOMES_VERSION_KEY, "before", None)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _import(csv_bytes(f"{mine.code},Checkout conversion,2026-03-01,2.5"), pm)
    assert callbacks and cache.get(OUTCOMES_VERSION_KEY) not in (None, "before")
    cache.set(OUTCOMES_VERSION_KEY, "before", None)
    with django_capture_on_commit_callbacks(execute=True):
        _import(csv_bytes(f"{mine.code},Checkout conversion,2026-03-01,9"), pm, dry_run=True)
    assert cache.get(OUTCOMES_VERSION_KEY) == "before"  # a preview changes nothing
