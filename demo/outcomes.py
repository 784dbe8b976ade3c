"""The demo's shared outcomes (PRODUCT.md §3b): KPIs for most initiatives, with a believable measurement history.

About four initiatives in five get one to five outcome KPIs (≈ 2.5 an initiative on average): the
approved, running and delivered ones nearly all, drafts and submissions about half (defined, not yet
measured). Each KPI comes from a catalogue by lane and owning side (`demo.outcome_catalogue`) — conversion
rate, NPS or cost per acquisition for marketing, p95 latency, uptime or cost to serve for IT — with a
baseline, a target on the right side of it for its direction, and a target date within or a little after
the initiative's dates.

From the initiative's start (once approved) up to today — or until it was cancelled, or a while after its
target date once delivered — the PM measured each KPI weekly or monthly: noisy progress from the baseline
towards the target at the KPI's own pace, some ahead, some behind, some going the wrong way, so the
dashboard shows KPIs on track and off track on both sides.

Each KPI's series is a pure function of its parameters and its own seed, and its latest value is drawn
first, so the stored figures (first and latest measurement, attainment, on-track-until: `outcomes.attainment`,
as `outcomes.services.kpis_refresh` would write them) go in with the KPI rows, before a single measurement
is generated; the measurements then stream through COPY (bulk_create elsewhere). Every draw comes from
generators seeded by the initiative plans, so the seed's other data stays as it was and a seed always
gives the same outcomes. Each KPI gets the "created" history entry the app would have written (by the owner
PM, when the initiative was filed), in one INSERT … SELECT like `demo.history`'s; the measurements none.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import batched

from django.db import connection, models
from django.utils import timezone

from demo.bulk import (
    BULK_BATCH_ROWS,
    CsvQuoted,
    IsoDates,
    IsoTimes,
    bulk_create_batched,
    copy_lines,
)
from demo.initiatives import InitiativePlan
from demo.outcome_catalogue import CATALOGUE, UP, KpiTemplate
from demo.timelines import Timeline
from initiatives.choices import Lane, Side, Status
from initiatives.models import Initiative
from outcomes import attainment
from outcomes.models import KPIS_PER_INITIATIVE, VALUE_PLACES, OutcomeKpi, OutcomeMeasurement
from portfolio.fiscal import add_months, month_start

MAIN_SIDE = {Lane.FAST_LANE: Side.MARKETING, Lane.CORE_STACK: Side.IT}
MAIN_SIDE_SHARE = 0.72  # of a lane's KPIs, owned by the side the lane mostly serves
# Which initiatives have KPIs, by status: defined at filing; measured from the approval on.
WITH_KPIS = {
    Status.DRAFT: 0.45,
    Status.SUBMITTED: 0.6,
    Status.APPROVED: 0.92,
    Status.IN_PROGRESS: 0.95,
    Status.DONE: 0.92,
    Status.REJECTED: 0.35,
    Status.CANCELLED: 0.5,
}
MEASURED_STATUSES = frozenset({Status.APPROVED, Status.IN_PROGRESS, Status.DONE, Status.CANCELLED})
KPI_COUNT_WEIGHTS = (15, 20, 25, 20, 20)  # 1 … KPIS_PER_INITIATIVE: ≈ 3.1 an initiative that has any
WEEKLY_SHARE = 0.37  # of the KPIs measured weekly; the others monthly
# How each KPI fares (weight, lowest pace, highest pace): the share of the way to the target it makes
# by the target date. Ahead, on plan, behind, the wrong way.
FATES = ((36, 1.1, 1.5), (28, 0.97, 1.2), (24, 0.3, 0.85), (12, -0.6, -0.05))
MEASURED_AT = dt.time(9, 30)  # entered the morning after the day measured
QUANTUM = Decimal(1).scaleb(-VALUE_PLACES)
# Measurement noise: one table of standard normal draws, read at a KPI's own offset and stride, so any
# measurement's noise (the latest's first) costs a lookup, not a generator per KPI.
NOISE_SIZE, NOISE_STRIDE = 1 << 16, 7919


@functools.cache
def _noise() -> tuple[float, ...]:
    rng = random.Random(NOISE_SIZE)  # noqa: S311 - demo data, not secrets
    return tuple(rng.gauss(0.0, 1.0) for _ in range(NOISE_SIZE))


def _months_between(first: dt.date, last: dt.date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month


@dataclass(slots=True)
class KpiPlan:
    """One demo KPI: its definition, the parameters of its measurement series and the figures they give."""

    plan: InitiativePlan
    template: KpiTemplate
    owner_side: str
    baseline: Decimal
    target: Decimal
    target_date: dt.date
    created_at: dt.datetime
    seed: int
    first_day: dt.date | None = None  # None: not measured (yet)
    last_day: dt.date | None = None
    weekly: bool = False
    pace: float = 0.0
    shape: float = 1.0
    wobble: float = 0.0
    cycles: float = 1.0
    noise: float = 0.0
    latest: Decimal | None = None
    id: int | None = None

    @property
    def measured(self) -> bool:
        return self.first_day is not None

    def days(self) -> Iterator[dt.date]:
        """The days measured, oldest first."""
        if self.first_day is None or self.last_day is None:
            return
        if self.weekly:
            for offset in range(0, (self.last_day - self.first_day).days + 1, 7):
                yield self.first_day + dt.timedelta(days=offset)
            return
        month, day_of_month = month_start(self.first_day), self.first_day.day
        while (day := month.replace(day=day_of_month)) <= self.last_day:
            yield day
            month = add_months(month, 1)

    def _last_day(self) -> dt.date:
        """The latest day measured (the last of `days()`), computed directly."""
        if self.weekly:
            return self.first_day + dt.timedelta(days=(self.last_day - self.first_day).days // 7 * 7)
        day_of_month = self.first_day.day
        month = (
            month_start(self.last_day)
            if self.last_day.day >= day_of_month
            else month_start(add_months(month_start(self.last_day), -1))
        )
        return month.replace(day=day_of_month)

    def _valuer(self) -> Callable[[dt.date, int], str]:
        """The value measured on a day, the `number`-th measurement, as text: the one formula of the series."""
        base = float(self.baseline)
        gap = float(self.target) - base
        scatter = abs(gap) * self.noise
        first = self.first_day
        span = max((self.target_date - first).days, 1)
        pace, shape, wobble, angle = self.pace, self.shape, self.wobble, math.tau * self.cycles
        low, high = self.template.bounds
        spec = f".{self.template.places}f"
        noise, seed = _noise(), self.seed

        def value(day: dt.date, number: int) -> str:
            elapsed = (day - first).days / span
            if elapsed > 1.0:  # past the target date: where the KPI got to, give or take
                elapsed = 1.0
            way = pace * elapsed**shape + wobble * math.sin(angle * elapsed)
            measured = base + gap * way + scatter * noise[(seed + number * NOISE_STRIDE) % NOISE_SIZE]
            return format(low if measured < low else high if measured > high else measured, spec)

        return value

    def values(self) -> Iterator[tuple[dt.date, str]]:
        """(day, value as text) of each measurement, oldest first."""
        if self.first_day is None:
            return
        value = self._valuer()
        for number, day in enumerate(self.days()):
            yield day, value(day, number)

    def count(self) -> int:
        """How many measurements `days()` gives, without generating them."""
        if self.first_day is None:
            return 0
        last = self._last_day()
        return (last - self.first_day).days // 7 + 1 if self.weekly else _months_between(self.first_day, last) + 1

    def latest_value(self) -> tuple[dt.date, Decimal] | None:
        """The latest measurement (day, value), without generating the others."""
        if self.first_day is None:
            return None
        last = self._last_day()
        return last, Decimal(self._valuer()(last, self.count() - 1)).quantize(QUANTUM)

    def figures(self) -> dict[str, object]:
        """The measured figures kept on the KPI, by `outcomes.attainment` as `kpis_refresh` computes them."""
        latest_day, latest = self.latest_value() or (None, None)
        return attainment.measured_figures(
            baseline=self.baseline,
            target=self.target,
            target_date=self.target_date,
            first_measured_on=self.first_day,
            latest_measured_on=latest_day,
            latest_value=latest,
        )


FIGURES = attainment.MEASURED_FIGURES


def kpi_plans(plans: Sequence[InitiativePlan], timelines: Sequence[Timeline], *, now: dt.datetime) -> list[KpiPlan]:
    """The KPIs of every plan that has any (see the module docstring), in plan order."""
    today = timezone.localdate(now)
    kpis: list[KpiPlan] = []
    for index, (plan, timeline) in enumerate(zip(plans, timelines, strict=True)):
        # Its own generator, seeded by the plan (as `demo.initiatives.estimated_cost`): the seed's other
        # draws stay as they were.
        own = random.Random(f"outcomes|{index}|{plan.title}|{plan.start_date}|{plan.monthly_budget_cents}")  # noqa: S311
        if own.random() >= WITH_KPIS[plan.status]:
            continue
        count = own.choices(range(1, KPIS_PER_INITIATIVE + 1), weights=KPI_COUNT_WEIGHTS)[0]
        main, other = MAIN_SIDE[plan.lane], Side.IT if MAIN_SIDE[plan.lane] == Side.MARKETING else Side.MARKETING
        sides = [main if own.random() < MAIN_SIDE_SHARE else other for _ in range(count)]
        chosen = {
            side: own.sample(CATALOGUE[plan.lane, side], sides.count(side)) for side in (main, other) if side in sides
        }
        for number, side in enumerate(sides):
            template = chosen[side].pop()
            # Defined while filing: a few minutes after it, well before the next event (≥ 30 minutes on).
            created_at = timeline.filed_at + dt.timedelta(minutes=number + 1)
            kpis.append(_kpi_plan(own, plan, template, side, created_at=created_at, today=today))
    return kpis


def _kpi_plan(
    rng: random.Random,
    plan: InitiativePlan,
    template: KpiTemplate,
    side: str,
    *,
    created_at: dt.datetime,
    today: dt.date,
) -> KpiPlan:
    baseline, target = _baseline_and_target(rng, template)
    target_date = max(plan.end_date + dt.timedelta(days=rng.randint(-45, 120)), plan.start_date + dt.timedelta(days=90))
    kpi = KpiPlan(plan, template, side, baseline, target, target_date, created_at, seed=rng.getrandbits(48))
    kpi.weekly = rng.random() < WEEKLY_SHARE
    _, low, high = rng.choices(FATES, weights=[weight for weight, _, _ in FATES])[0]
    kpi.pace, kpi.shape = rng.uniform(low, high), rng.uniform(0.6, 1.3)
    kpi.wobble, kpi.cycles, kpi.noise = rng.uniform(0, 0.08), rng.uniform(1, 3), rng.uniform(0.02, 0.08)
    if plan.status not in MEASURED_STATUSES:
        return kpi
    last = today
    if plan.status == Status.DONE:  # measured a while after delivery, to see whether the target held
        last = min(today, max(plan.end_date, target_date) + dt.timedelta(days=rng.randint(0, 60)))
    elif plan.status == Status.CANCELLED:
        last = min(today, plan.spend_until)
    if kpi.weekly:
        first = plan.start_date + dt.timedelta(days=rng.randint(0, 6))
    else:
        day_of_month = rng.randint(1, 28)
        first = month_start(plan.start_date).replace(day=day_of_month)
        if first < plan.start_date:
            first = add_months(month_start(plan.start_date), 1).replace(day=day_of_month)
    if first <= last:
        kpi.first_day, kpi.last_day = first, last
    return kpi


def _baseline_and_target(rng: random.Random, template: KpiTemplate) -> tuple[Decimal, Decimal]:
    """A baseline in the template's range, and a target beyond it in its direction, both to its places."""
    places, (low, high) = template.places, template.bounds
    baseline = round(rng.uniform(*template.baseline), places)
    gain = rng.uniform(*template.gain) * (abs(baseline) if template.relative else 1)
    target = min(max(baseline + gain if template.direction == UP else baseline - gain, low), high)
    baseline_value, target_value = Decimal(f"{baseline:.{places}f}"), Decimal(f"{target:.{places}f}")
    if attainment.target_error(direction=template.direction, baseline=baseline_value, target=target_value):
        step = Decimal(1).scaleb(-places)  # rounding closed the gap: the smallest step the KPI shows
        target_value = baseline_value + step if template.direction == UP else baseline_value - step
    return baseline_value, target_value


# --- writing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutcomesSeeded:
    kpis: int
    measurements: int
    history_entries: int


# The tables this module fills, for ANALYZE.
OUTCOME_MODELS: tuple[type[models.Model], ...] = (
    OutcomeKpi,
    OutcomeMeasurement,
    OutcomeKpi.history.model,
)
_KPI_COLUMNS = (
    "initiative_id",
    "name",
    "unit",
    "direction",
    "baseline",
    "target",
    "target_date",
    "owner_side",
    *FIGURES,
    "created_at",
    "updated_at",
)


def demo_outcomes_seed(
    plans: Sequence[InitiativePlan], timelines: Sequence[Timeline], *, now: dt.datetime, progress: bool = False
) -> OutcomesSeeded:
    """Generate and insert the KPIs, their figures and measurements, and their history entries."""
    kpis = kpi_plans(plans, timelines, now=now)
    if not kpis:
        return OutcomesSeeded(0, 0, 0)
    _kpis_insert(kpis, progress=progress)
    total = sum(kpi.count() for kpi in kpis)
    measurements = _measurements_write(kpis, total=total, now=now, progress=progress)
    first_id, last_id = min(plan.id for plan in plans), max(plan.id for plan in plans)
    history = _kpi_history_insert(first_id, last_id)
    return OutcomesSeeded(len(kpis), measurements, history)


def _kpis_insert(kpis: Sequence[KpiPlan], *, progress: bool) -> None:
    """Insert the KPIs with their figures (COPY on PostgreSQL) and note their ids on the plans."""
    if connection.vendor == "postgresql":
        iso, quoted, times = IsoDates(), CsvQuoted(), IsoTimes()

        def text(value: object) -> str:
            if value is None:
                return ""  # NULL in COPY's CSV
            return iso[value] if isinstance(value, dt.date) else f"{value}"

        def lines() -> Iterator[str]:
            for kpi in kpis:
                figures = kpi.figures()
                at = times[kpi.created_at]
                yield (
                    f"{kpi.plan.id},{quoted[kpi.template.name]},{quoted[kpi.template.unit]},{kpi.template.direction},"
                    f"{kpi.baseline},{kpi.target},{iso[kpi.target_date]},{kpi.owner_side},"
                    f"{','.join(text(figures[name]) for name in FIGURES)},{at},{at}\n"
                )

        copy_lines(OutcomeKpi, _KPI_COLUMNS, lines(), "Outcome KPIs", len(kpis), progress)
    else:
        objects = (
            OutcomeKpi(
                initiative_id=kpi.plan.id,
                name=kpi.template.name,
                unit=kpi.template.unit,
                direction=kpi.template.direction,
                baseline=kpi.baseline,
                target=kpi.target,
                target_date=kpi.target_date,
                owner_side=kpi.owner_side,
                **kpi.figures(),
            )
            for kpi in kpis
        )
        bulk_create_batched(OutcomeKpi, objects, "Outcome KPIs", len(kpis), progress)
    first_id = min(kpi.plan.id for kpi in kpis)
    last_id = max(kpi.plan.id for kpi in kpis)
    # Inserted in this order into initiatives this run created: ids follow the rows.
    ids = list(
        OutcomeKpi.objects.filter(initiative_id__gte=first_id, initiative_id__lte=last_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for kpi, pk in zip(kpis, ids, strict=True):
        kpi.id = pk
    if connection.vendor != "postgresql":
        # bulk_create stamps created_at and updated_at with the clock; the PM defined them at filing.
        dated = (OutcomeKpi(pk=kpi.id, created_at=kpi.created_at, updated_at=kpi.created_at) for kpi in kpis)
        for batch in batched(dated, BULK_BATCH_ROWS):
            OutcomeKpi.objects.bulk_update(batch, ["created_at", "updated_at"])


def _measurements_write(kpis: Sequence[KpiPlan], *, total: int, now: dt.datetime, progress: bool) -> int:
    """Every measured KPI's series, recorded by the owner PM the morning after each day measured."""
    tz = timezone.get_current_timezone()
    entered: dict[dt.date, dt.datetime] = {}

    def entered_at(day: dt.date) -> dt.datetime:
        if day not in entered:
            entered[day] = min(dt.datetime.combine(day + dt.timedelta(days=1), MEASURED_AT, tzinfo=tz), now)
        return entered[day]

    if connection.vendor == "postgresql":
        iso, times = IsoDates(), IsoTimes()
        tails: dict[dt.date, str] = {}  # day → ",<entered at>\n"

        def lines() -> Iterator[str]:
            for kpi in kpis:
                if not kpi.measured:
                    continue
                head, owner = f"{kpi.id},", f",{kpi.plan.owner_id},"
                for day, value in kpi.values():
                    if (tail := tails.get(day)) is None:
                        tail = tails[day] = f"{times[entered_at(day)]}\n"
                    yield f"{head}{iso[day]},{value}{owner}{tail}"

        columns = ("kpi_id", "measured_on", "value", "recorded_by_id", "created_at")
        return copy_lines(OutcomeMeasurement, columns, lines(), "Measurements", total, progress)
    rows = ((kpi, day, value) for kpi in kpis for day, value in kpi.values())
    written = 0
    objects = (
        OutcomeMeasurement(kpi_id=kpi.id, measured_on=day, value=Decimal(value), recorded_by_id=kpi.plan.owner_id)
        for kpi, day, value in rows
    )
    for batch in batched(objects, BULK_BATCH_ROWS):
        created = OutcomeMeasurement.objects.bulk_create(batch)
        for measurement in created:  # auto_now_add stamped the clock
            measurement.created_at = entered_at(measurement.measured_on)
        OutcomeMeasurement.objects.bulk_update(created, ["created_at"])
        written += len(created)
    return written


_HISTORY_FIELDS = frozenset({"history_id", "history_date", "history_change_reason", "history_type", "history_user"})


def _kpi_history_insert(first_id: int, last_id: int) -> int:
    """A "created" entry per KPI, by the owner PM, when defined: one INSERT … SELECT.

    Measurements get none: like a million expenses' entries they would cost seconds at scale, and nothing
    reads a measurement's history but a correction's (which the app records when it happens).
    """
    history = OutcomeKpi.history.model
    quote = connection.ops.quote_name
    columns = [field.column for field in history._meta.concrete_fields if field.name not in _HISTORY_FIELDS]
    listed = ", ".join(quote(column) for column in columns)
    values = ", ".join(f"k.{quote(column)}" for column in columns)
    sql = f"""
        INSERT INTO {quote(history._meta.db_table)}
            ({listed}, history_date, history_change_reason, history_type, history_user_id)
        SELECT {values}, k.created_at, NULL, '+', i.owner_id
        FROM {quote(OutcomeKpi._meta.db_table)} k
        JOIN {quote(Initiative._meta.db_table)} i ON i.id = k.initiative_id
        WHERE k.initiative_id BETWEEN %s AND %s
    """  # noqa: S608  # nosec B608 - quoted model names only
    with connection.cursor() as cursor:
        cursor.execute(sql, [first_id, last_id])
        return cursor.rowcount
