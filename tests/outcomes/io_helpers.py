"""Helpers of the outcomes import and API tests (helper `io`): KPIs and measurement files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from outcomes.models import OutcomeKpi

HEADER = "initiative_code,kpi,measured_on,value"


def kpi(initiative, name: str = "Checkout conversion", **fields) -> OutcomeKpi:
    """A KPI of `initiative`, written directly (its figures empty until a measurement is recorded)."""
    values = {
        "unit": "%",
        "direction": "up",
        "baseline": Decimal("2.0000"),
        "target": Decimal("4.0000"),
        "target_date": dt.date(2026, 12, 31),
        "owner_side": "marketing",
    } | fields
    return OutcomeKpi.objects.create(initiative=initiative, name=name, **values)


def csv_bytes(*rows: str, header: str = HEADER, bom: bool = False) -> bytes:
    text = "\r\n".join([header, *rows]) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()
