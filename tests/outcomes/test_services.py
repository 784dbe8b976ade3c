"""Defining outcome KPIs and recording measurements (`outcomes.services`, PRODUCT.md §3b): who, what, and the
figures each KPI keeps for the dashboard and the report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from outcomes import attainment, services
from outcomes.models import OutcomeKpi, OutcomeMeasurement
from tests.factories import InitiativeFactory

pytestmark = pytest.mark.django_db

CONVERSION = {
    "name": "Checkout conversion rate",
    "unit": "%",
    "direction": "up",
    "baseline": "2.10",
    "target": "3.00",
    "target_date": "2026-12-31",
    "owner_side": "marketing",
}


@pytest.fixture
def running(pm):
    return InitiativeFactory(owner=pm, status="in_progress")


def _kpi(initiative, by, **extra):
    return services.kpi_create(initiative=initiative, by=by, **(CONVERSION | extra))


@pytest.mark.parametrize(
    ("status", "edits", "measures"),
    [
        ("draft", True, False),
        ("submitted", False, False),  # the sponsors are deciding on what they were shown
        ("rejected", True, False),
        ("approved", False, True),  # the KPIs the sponsors approved stand until the work starts
        ("in_progress", True, True),
        ("done", False, True),  # benefits are measured after delivery
        ("cancelled", False, False),
    ],
)
def test_the_owner_defines_kpis_and_measures_them_by_status(pm, status, edits, measures):
    initiative = InitiativeFactory(owner=pm, status="draft")
    kpi = _kpi(initiative, pm)
    initiative.status = status
    initiative.save()
    if edits:
        assert services.kpi_update(kpi=kpi, by=pm, unit="percent").unit == "percent"
    else:
        with pytest.raises(PermissionDenied):
            services.kpi_update(kpi=kpi, by=pm, unit="percent")
    record = {"kpi": kpi, "by": pm, "measured_on": dt.date(2026, 1, 5), "value": "2.3"}
    if measures:
        assert services.measurement_record(**record).value == Decimal("2.3000")
    else:
        with pytest.raises(PermissionDenied):
            services.measurement_record(**record)


@pytest.mark.parametrize("who", ["other_pm", "executive_marketing", "executive_it", "finance"])
def test_nobody_but_the_owner_writes_them(request, pm, running, who):
    kpi = _kpi(running, pm)
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        _kpi(running, user, name="Another")
    with pytest.raises(PermissionDenied):
        services.kpi_update(kpi=kpi, by=user, name="Renamed")
    with pytest.raises(PermissionDenied):
        services.measurement_record(kpi=kpi, by=user, measured_on=dt.date(2026, 1, 5), value="2.3")
    with pytest.raises(PermissionDenied):
        services.kpi_delete(kpi=kpi, by=user)
    assert OutcomeKpi.objects.get().name == CONVERSION["name"] and not OutcomeMeasurement.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "  ", "Name the KPI"),
        ("name", "x" * 121, "Use at most 120 characters."),
        ("unit", "", "Give the unit"),
        ("direction", "sideways", "Choose whether the KPI should go up or down."),
        ("owner_side", "finance", "Choose the side that owns the KPI"),
        ("baseline", "abc", "Enter the baseline, for example 12.5."),
        ("baseline", "NaN", "Enter the baseline, for example 12.5."),
        ("baseline", "1.23456", "Use at most 4 decimal places."),
        ("baseline", "1,250", "Enter the baseline, for example 12.5."),  # no thousands separators
        ("baseline", "9" * 40, "Use at most 14 digits before the decimal point."),
        ("baseline", "1e-40", "Use at most 4 decimal places."),
        ("target", "100000000000000", "Use at most 14 digits before the decimal point."),
        ("target", "2.10", "The target must differ from the baseline"),
        ("target", "2.00", "A KPI that should go up needs a target above its baseline."),
        ("target_date", "2025-12-31", "The target date cannot be before the initiative starts (Jan 1, 2026)."),
        ("target_date", "31/12/2026", "Enter the target date as YYYY-MM-DD."),
    ],
)
def test_a_bad_definition_is_refused_naming_the_field(pm, running, field, value, message):
    with pytest.raises(ValidationError) as refused:
        _kpi(running, pm, **{field: value})
    assert refused.value.message_dict[field][0].startswith(message)
    assert not OutcomeKpi.objects.exists()


def test_a_kpi_going_down_and_every_problem_at_once(pm, running):
    kpi = _kpi(running, pm, name="p95 latency", unit="ms", direction="down", baseline="800", target="300")
    assert kpi.target < kpi.baseline
    with pytest.raises(ValidationError) as refused:
        _kpi(running, pm, name="", unit="", direction="down", baseline="1", target="2")
    assert set(refused.value.message_dict) == {"name", "unit", "target"}


def test_at_most_five_kpis_and_names_unique_per_initiative_case_aside(pm, running):
    for n in range(5):
        _kpi(running, pm, name=f"KPI {n}")
    with pytest.raises(ValidationError) as sixth:
        _kpi(running, pm, name="KPI 5")
    assert sixth.value.message_dict["__all__"] == ["An initiative has at most 5 outcome KPIs: remove one first."]
    services.kpi_delete(kpi=OutcomeKpi.objects.get(name="KPI 4"), by=pm)
    with pytest.raises(ValidationError) as same_name:
        _kpi(running, pm, name="kpi 0")
    assert same_name.value.message_dict["name"] == ["This initiative already has a KPI with this name."]
    other = InitiativeFactory(owner=pm, status="in_progress")
    assert _kpi(other, pm, name="KPI 0").initiative == other  # another initiative may use the name


def test_the_database_refuses_what_must_never_be(pm, running):
    kpi = _kpi(running, pm)
    bad_rows = [
        {"target": kpi.baseline},  # target equal to baseline
        {"direction": "down"},  # target above the baseline of a KPI that should go down
        {"latest_value": Decimal("2.5")},  # measured figures without the rest
    ]
    for values in bad_rows:
        with pytest.raises(IntegrityError), transaction.atomic():
            OutcomeKpi.objects.filter(pk=kpi.pk).update(**values)
    OutcomeMeasurement.objects.create(kpi=kpi, measured_on=dt.date(2026, 2, 1), value=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeMeasurement.objects.create(kpi=kpi, measured_on=dt.date(2026, 2, 1), value=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeKpi.objects.create(**{**CONVERSION, "name": "CHECKOUT conversion rate", "initiative": running})


def test_measurements_keep_the_kpis_figures(pm, running, monkeypatch):
    monkeypatch.setattr(services, "today", lambda: dt.date(2026, 7, 1))
    kpi = _kpi(running, pm, baseline="2.00", target="3.00", target_date="2026-12-27")
    assert kpi.latest_value is None and kpi.on_track_until is None
    services.measurement_record(kpi=kpi, by=pm, measured_on=dt.date(2026, 3, 1), value="2.20")
    services.measurement_record(kpi=kpi, by=pm, measured_on=dt.date(2026, 1, 1), value="2.00")
    services.measurement_record(kpi=kpi, by=pm, measured_on=dt.date(2026, 6, 30), value="2.50")
    kpi.refresh_from_db()
    assert (kpi.first_measured_on, kpi.latest_measured_on) == (dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    assert (kpi.latest_value, kpi.attainment_pct) == (Decimal("2.5000"), Decimal("50.00"))
    # Half the way: on track for half of the 360 days from the first measurement to the target date.
    assert kpi.on_track_until == dt.date(2026, 6, 30)
    # Recording a day again corrects it; removing the latest goes back to the one before.
    services.measurement_record(kpi=kpi, by=pm, measured_on=dt.date(2026, 6, 30), value="3.10")
    kpi.refresh_from_db()
    assert (kpi.attainment_pct, kpi.on_track_until) == (Decimal("110.00"), attainment.ALWAYS)
    assert OutcomeMeasurement.objects.filter(kpi=kpi).count() == 3
    assert OutcomeMeasurement.history.filter(measured_on=dt.date(2026, 6, 30)).count() == 2
    services.measurement_delete(measurement=OutcomeMeasurement.objects.get(measured_on=dt.date(2026, 6, 30)), by=pm)
    kpi.refresh_from_db()
    assert (kpi.latest_value, kpi.attainment_pct) == (Decimal("2.2000"), Decimal("20.00"))
    # A new target moves the attainment.
    kpi = services.kpi_update(kpi=kpi, by=pm, target="2.40")
    assert kpi.attainment_pct == Decimal("50.00")


def test_a_measurement_in_the_future_or_not_a_number_is_refused(pm, running, monkeypatch):
    monkeypatch.setattr(services, "today", lambda: dt.date(2026, 7, 1))
    kpi = _kpi(running, pm)
    for measured_on, value, field in [
        (dt.date(2026, 7, 2), "2", "measured_on"),
        ("1999-12-31", "2", "measured_on"),
        ("", "2", "measured_on"),
        (dt.date(2026, 7, 1), "two", "value"),
        (dt.date(2026, 7, 1), "", "value"),
    ]:
        with pytest.raises(ValidationError) as refused:
            services.measurement_record(kpi=kpi, by=pm, measured_on=measured_on, value=value)
        assert field in refused.value.message_dict
    assert not OutcomeMeasurement.objects.exists()


def test_refresh_writes_many_kpis_in_batches(pm, django_assert_max_num_queries):
    kpis = [_kpi(InitiativeFactory(owner=pm, status="in_progress"), pm) for _ in range(5)]
    OutcomeMeasurement.objects.bulk_create(
        OutcomeMeasurement(kpi=kpi, measured_on=dt.date(2026, 1, 1) + dt.timedelta(days=d), value=Decimal("2.1") + d)
        for kpi in kpis
        for d in range(3)
    )
    with django_assert_max_num_queries(6):  # two batches of 3: a read and a bulk update each (+ savepoints)
        assert services.kpis_refresh([kpi.pk for kpi in kpis], batch_size=3) == 5
    assert set(OutcomeKpi.objects.values_list("latest_value", flat=True)) == {Decimal("4.1000")}
