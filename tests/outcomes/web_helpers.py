"""Fixtures of the outcome pages' tests (tests/outcomes/test_pages.py): an initiative of the `pm` fixture
in a given status, with KPIs and measurements written straight to the database (the services refuse
some statuses, and these tests are about the pages)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from outcomes.models import OutcomeKpi, OutcomeMeasurement
from outcomes.services import kpis_refresh
from tests.factories import InitiativeFactory


def today() -> dt.date:
    return timezone.localdate()


def initiative_of(owner, status: str = "in_progress", **extra):
    start = today() - dt.timedelta(days=120)
    return InitiativeFactory(
        owner=owner, status=status, start_date=start, end_date=start + dt.timedelta(days=365), **extra
    )


def kpi_on(initiative, name: str = "Checkout conversion rate", **fields) -> OutcomeKpi:
    values = {
        "unit": "%",
        "direction": "up",
        "baseline": Decimal("0"),
        "target": Decimal("100"),
        "target_date": initiative.start_date + dt.timedelta(days=300),
        "owner_side": "marketing",
    }
    return OutcomeKpi.objects.create(initiative=initiative, name=name, **(values | fields))


def measure(kpi: OutcomeKpi, *values, every: int = 1) -> OutcomeKpi:
    """Measurements `values`, the last one today, `every` days apart; the KPI's figures refreshed."""
    first = today() - dt.timedelta(days=every * (len(values) - 1))
    OutcomeMeasurement.objects.bulk_create(
        OutcomeMeasurement(kpi=kpi, measured_on=first + dt.timedelta(days=every * i), value=Decimal(f"{value}"))
        for i, value in enumerate(values)
    )
    kpis_refresh([kpi.pk])
    kpi.refresh_from_db()
    return kpi


def kpi_post(**fields) -> dict:
    """The add/edit form's fields, valid unless overridden."""
    return {
        "name": "Orders a day",
        "unit": "orders",
        "direction": "up",
        "baseline": "120",
        "target": "180",
        "target_date": f"{today() + dt.timedelta(days=90):%Y-%m-%d}",
        "owner_side": "marketing",
    } | fields
