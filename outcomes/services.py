"""Defining outcome KPIs and recording their measurements (PRODUCT.md §3b).

Every service is keyword-only and atomic; a refusal by the policy is `PermissionDenied`, a refused value
`ValidationError({field: message})` with the field named as in the forms, the API and the import. After
any write the KPI's measured figures are refreshed (`kpis_refresh`), so what the dashboard and the report
read is never stale.

Rules (documented in ARCHITECTURE's outcomes section):
- one to five KPIs per initiative (at most five: `KPIS_PER_INITIATIVE`, checked with the initiative's row
  locked, so two PMs' tabs cannot make six); names unique per initiative, case aside;
- a target away from its baseline, on the side of the direction (`attainment.target_error`);
- the target date not before the initiative starts;
- a measurement per KPI and day: recording a day again corrects its value (history keeps the old one);
  no measurement in the future.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from initiatives.models import Initiative
from portfolio import policy

from . import attainment, signals
from .choices import Direction, Side
from .models import KPIS_PER_INITIATIVE, VALUE_DIGITS, VALUE_PLACES, OutcomeKpi, OutcomeMeasurement

KPI_FIELDS = ("name", "unit", "direction", "baseline", "target", "target_date", "owner_side")
NAME_MAX = OutcomeKpi._meta.get_field("name").max_length
UNIT_MAX = OutcomeKpi._meta.get_field("unit").max_length
EARLIEST_MEASUREMENT = dt.date(2000, 1, 1)


def _require(by: AbstractBaseUser, action: str, initiative: Initiative, message: str) -> None:
    if not policy.can(by, action, initiative):
        raise PermissionDenied(message)


def today() -> dt.date:
    return timezone.localdate()


# --- values --------------------------------------------------------------------------------------------


def clean_value(value: object, field: str, errors: dict[str, str], *, label: str = "a number") -> Decimal | None:
    """A baseline, target or measured value: a finite number with at most 4 places and 14 digits before them."""
    if value in (None, ""):
        errors[field] = f"Enter {label}."
        return None
    try:  # no thousands separators: "3,95" must not quietly become 395
        number = value if isinstance(value, Decimal) else Decimal(f"{value}".strip())
    except (InvalidOperation, ValueError, TypeError):
        errors[field] = f"Enter {label}, for example 12.5."
        return None
    if not number.is_finite():
        errors[field] = f"Enter {label}, for example 12.5."
        return None
    if abs(number) >= Decimal(10) ** (VALUE_DIGITS - VALUE_PLACES):  # before quantize, which overflows
        errors[field] = f"Use at most {VALUE_DIGITS - VALUE_PLACES} digits before the decimal point."
        return None
    if number != number.quantize(Decimal(1).scaleb(-VALUE_PLACES), rounding="ROUND_HALF_UP"):
        errors[field] = f"Use at most {VALUE_PLACES} decimal places."
        return None
    return number.quantize(Decimal(1).scaleb(-VALUE_PLACES))


def clean_date(value: object, field: str, errors: dict[str, str], *, label: str) -> dt.date | None:
    if value in (None, ""):
        errors[field] = f"Enter {label}."
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(f"{value}".strip())
    except ValueError:
        errors[field] = f"Enter {label} as YYYY-MM-DD."
        return None


def kpi_field_errors(*, initiative: Initiative, exclude_pk: int | None = None, **fields) -> tuple[dict, dict]:
    """(cleaned values, errors by field) of a KPI's definition: every problem at once."""
    errors: dict[str, str] = {}
    cleaned: dict[str, object] = {}
    name = f"{fields.get('name') or ''}".strip()
    if not name:
        errors["name"] = "Name the KPI, e.g. “Checkout conversion rate”."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Use at most {NAME_MAX} characters."
    else:
        others = OutcomeKpi.objects.filter(initiative=initiative, name__iexact=name)
        if exclude_pk is not None:
            others = others.exclude(pk=exclude_pk)
        if others.exists():
            errors["name"] = "This initiative already has a KPI with this name."
    cleaned["name"] = name
    unit = f"{fields.get('unit') or ''}".strip()
    if not unit:
        errors["unit"] = "Give the unit, e.g. %, ms, USD or orders a day."
    elif len(unit) > UNIT_MAX:
        errors["unit"] = f"Use at most {UNIT_MAX} characters."
    cleaned["unit"] = unit
    direction = fields.get("direction") or ""
    if direction not in Direction.values:
        errors["direction"] = "Choose whether the KPI should go up or down."
    cleaned["direction"] = direction
    owner_side = fields.get("owner_side") or ""
    if owner_side not in Side.values:
        errors["owner_side"] = "Choose the side that owns the KPI: marketing or IT."
    cleaned["owner_side"] = owner_side
    baseline = clean_value(fields.get("baseline"), "baseline", errors, label="the baseline")
    target = clean_value(fields.get("target"), "target", errors, label="the target")
    cleaned["baseline"], cleaned["target"] = baseline, target
    if (
        baseline is not None
        and target is not None
        and direction in Direction.values
        and (message := attainment.target_error(direction=direction, baseline=baseline, target=target))
    ):
        errors["target"] = message
    target_date = clean_date(fields.get("target_date"), "target_date", errors, label="the target date")
    if target_date is not None and target_date < initiative.start_date:
        errors["target_date"] = (
            f"The target date cannot be before the initiative starts ({initiative.start_date:%b %-d, %Y})."
        )
    cleaned["target_date"] = target_date
    return cleaned, errors


# --- KPIs -------------------------------------------------------------------------------------------


def _locked(initiative: Initiative) -> Initiative:
    return Initiative.objects.select_for_update().get(pk=initiative.pk)


@transaction.atomic
def kpi_create(*, initiative: Initiative, by: AbstractBaseUser, **fields) -> OutcomeKpi:
    """Add an outcome KPI to `initiative` (its owner, while it may be edited): at most five."""
    locked = _locked(initiative)
    _require(
        by, "outcome.edit", locked, "Only the initiative's owner defines its KPIs, and not while the sponsors decide."
    )
    cleaned, errors = kpi_field_errors(initiative=locked, **fields)
    if OutcomeKpi.objects.filter(initiative=locked).count() >= KPIS_PER_INITIATIVE:
        errors["__all__"] = f"An initiative has at most {KPIS_PER_INITIATIVE} outcome KPIs: remove one first."
    if errors:
        raise ValidationError(errors)
    kpi = OutcomeKpi.objects.create(initiative=locked, **cleaned)
    return kpi


@transaction.atomic
def kpi_update(*, kpi: OutcomeKpi, by: AbstractBaseUser, **fields) -> OutcomeKpi:
    """Change a KPI's definition (its initiative's owner); its attainment follows."""
    locked_initiative = _locked(kpi.initiative)
    _require(
        by,
        "outcome.edit",
        locked_initiative,
        "Only the initiative's owner changes its KPIs, and not while the sponsors decide.",
    )
    locked = OutcomeKpi.objects.select_for_update().get(pk=kpi.pk)
    current = {name: getattr(locked, name) for name in KPI_FIELDS}
    cleaned, errors = kpi_field_errors(initiative=locked_initiative, exclude_pk=locked.pk, **(current | fields))
    if errors:
        raise ValidationError(errors)
    for name, value in cleaned.items():
        setattr(locked, name, value)
    locked.save()
    kpis_refresh([locked.pk])
    locked.refresh_from_db()
    return locked


@transaction.atomic
def kpi_delete(*, kpi: OutcomeKpi, by: AbstractBaseUser) -> None:
    """Remove a KPI and its measurements (its initiative's owner)."""
    locked_initiative = _locked(kpi.initiative)
    _require(
        by,
        "outcome.edit",
        locked_initiative,
        "Only the initiative's owner removes its KPIs, and not while the sponsors decide.",
    )
    OutcomeKpi.objects.filter(pk=kpi.pk).delete()


# --- measurements ---------------------------------------------------------------------------------------


def measurement_errors(measured_on: object, value: object) -> tuple[dt.date | None, Decimal | None, dict[str, str]]:
    """The cleaned day and value of a measurement, and what is wrong with them (the form, the API, the import)."""
    errors: dict[str, str] = {}
    day = clean_date(measured_on, "measured_on", errors, label="the day it was measured")
    if day is not None and day > today():
        errors["measured_on"] = "A measurement cannot be in the future."
    elif day is not None and day < EARLIEST_MEASUREMENT:
        errors["measured_on"] = f"A measurement cannot be before {EARLIEST_MEASUREMENT:%Y}."
    number = clean_value(value, "value", errors, label="the measured value")
    return day, number, errors


@transaction.atomic
def measurement_record(
    *, kpi: OutcomeKpi, by: AbstractBaseUser, measured_on: object, value: object
) -> OutcomeMeasurement:
    """Record the KPI's value on a day, or correct the one recorded that day (the owner, from approval on)."""
    initiative = _locked(kpi.initiative)
    _require(
        by, "outcome.measure", initiative, "Only the initiative's owner records measurements, from its approval on."
    )
    day, number, errors = measurement_errors(measured_on, value)
    if errors:
        raise ValidationError(errors)
    measurement, created = OutcomeMeasurement.objects.get_or_create(
        kpi=kpi, measured_on=day, defaults={"value": number, "recorded_by": by}
    )
    if not created and measurement.value != number:
        measurement.value, measurement.recorded_by = number, by
        measurement.save()
    kpis_refresh([kpi.pk])
    return measurement


@transaction.atomic
def measurement_delete(*, measurement: OutcomeMeasurement, by: AbstractBaseUser) -> None:
    """Remove a measurement recorded by mistake (the owner, as for recording)."""
    initiative = _locked(measurement.kpi.initiative)
    _require(by, "outcome.measure", initiative, "Only the initiative's owner removes measurements.")
    OutcomeMeasurement.objects.filter(pk=measurement.pk).delete()
    kpis_refresh([measurement.kpi_id])


# --- the measured figures kept on the KPI ----------------------------------------------------------------


def kpis_refresh(kpi_ids: Iterable[int], *, batch_size: int = 2000) -> int:
    """Write each KPI's first and latest measurement, attainment and on-track-until from its measurements.

    One read (three index lookups per KPI on (kpi, measured_on)) and one bulk update per batch of KPIs;
    returns how many KPIs were refreshed.
    """
    ids = sorted(set(kpi_ids))
    done = 0
    for start in range(0, len(ids), batch_size):
        of_kpi = OutcomeMeasurement.objects.filter(kpi=OuterRef("pk"))
        kpis = list(
            OutcomeKpi.objects.filter(pk__in=ids[start : start + batch_size])
            .annotate(
                first=Subquery(of_kpi.order_by("measured_on").values("measured_on")[:1]),
                last_on=Subquery(of_kpi.order_by("-measured_on").values("measured_on")[:1]),
                last_value=Subquery(of_kpi.order_by("-measured_on").values("value")[:1]),
            )
            .order_by("pk")
        )
        for kpi in kpis:
            latest = (
                None if kpi.last_value is None else Decimal(kpi.last_value).quantize(Decimal(1).scaleb(-VALUE_PLACES))
            )
            figures = attainment.measured_figures(
                baseline=kpi.baseline,
                target=kpi.target,
                target_date=kpi.target_date,
                first_measured_on=kpi.first,
                latest_measured_on=kpi.last_on,
                latest_value=latest,
            )
            for name, value in figures.items():
                setattr(kpi, name, value)
        _write_figures(kpis)
        done += len(kpis)
    if ids:
        transaction.on_commit(lambda: signals.kpis_changed.send(sender=OutcomeKpi, kpi_ids=ids))
    return done


def _write_figures(kpis: list[OutcomeKpi]) -> None:
    """Store the refreshed figures: on PostgreSQL one UPDATE … FROM (VALUES …) per batch (Django's
    bulk_update builds a CASE per field and row, ~1.5 ms a KPI at 2,000 a batch); elsewhere bulk_update."""
    if not kpis:
        return
    if connection.vendor != "postgresql":
        OutcomeKpi.objects.bulk_update(kpis, attainment.MEASURED_FIGURES)
        return
    table, names = OutcomeKpi._meta.db_table, attainment.MEASURED_FIGURES
    rows = ", ".join(["(%s, %s::date, %s::date, %s::numeric, %s::numeric, %s::date)"] * len(kpis))
    params = [value for kpi in kpis for value in (kpi.pk, *(getattr(kpi, name) for name in names))]
    assignments = ", ".join(f"{name} = v.{name}" for name in names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS k SET {assignments} FROM (VALUES {rows}) AS v(id, {', '.join(names)}) "  # noqa: S608 # nosec B608 - names are the model's, values are parameters
            "WHERE k.id = v.id",
            params,
        )
