"""The "Outcomes" card of the initiative page and what it draws (PRODUCT.md §3b).

Each KPI's sparkline is inline SVG drawn here, server-side: its latest measurements (at most
`SPARKLINE_POINTS`) against the plan, the straight line from the baseline at the first measurement to the
target at the target date. Its state on a day is read from the KPI's stored figures, by the one rule of
`outcomes.attainment`: on track while `on_track_until >= day`; not measured yet while `latest_value` is
None. The card reads the KPIs and their drawn measurements in two queries, whatever their number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django import template
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone

from portfolio.policy import can

from .. import attainment
from ..models import OutcomeKpi, OutcomeMeasurement

register = template.Library()

SPARKLINE_POINTS = 60
WIDTH, HEIGHT, PAD = 240, 56, 4
COLOURS = {"on": "#198754", "off": "#dc3545", "none": "#6c757d"}  # Bootstrap's success, danger, secondary
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class State:
    key: str  # on | off | none
    label: str
    badge: str  # Bootstrap classes of its badge


STATES = {
    "on": State("on", "On track", "text-bg-success"),
    "off": State("off", "Off track", "text-bg-danger"),
    "none": State("none", "Not measured yet", "text-bg-light border"),
}


def kpi_state(kpi: OutcomeKpi, day: dt.date | None = None) -> State:
    """On track, off track or not measured yet on `day` (today), from the KPI's stored figures."""
    day = day or timezone.localdate()
    if kpi.latest_value is None:
        return STATES["none"]
    return STATES["on" if kpi.on_track_on(day) else "off"]


@dataclass(frozen=True)
class Sparkline:
    points: str  # the measurements' polyline
    plan: str  # the plan's polyline
    last_x: Decimal
    last_y: Decimal
    colour: str
    width: int = WIDTH
    height: int = HEIGHT


def _plan_value(kpi: OutcomeKpi, day: dt.date) -> Decimal:
    """Where the plan line stands on `day` (`outcomes.attainment.planned_value`)."""
    return attainment.planned_value(
        baseline=kpi.baseline,
        target=kpi.target,
        first_measured_on=kpi.first_measured_on,
        target_date=kpi.target_date,
        on=day,
    )


def sparkline(kpi: OutcomeKpi, measurements: Sequence[OutcomeMeasurement], state: State) -> Sparkline | None:
    """The SVG coordinates of `measurements` (chronological) and of the plan over the same days."""
    if not measurements or kpi.first_measured_on is None:
        return None
    start = measurements[0].measured_on
    end = max(kpi.target_date, measurements[-1].measured_on, start + dt.timedelta(days=1))
    plan_days = sorted({start, end, *([kpi.target_date] if start < kpi.target_date < end else [])})
    plan = [(day, _plan_value(kpi, day)) for day in plan_days]
    values = [m.value for m in measurements] + [value for _, value in plan]
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    days = (end - start).days

    def xy(day: dt.date, value: Decimal) -> tuple[Decimal, Decimal]:
        x = PAD + Decimal((day - start).days) * (WIDTH - 2 * PAD) / days
        y = HEIGHT - PAD - (value - low) * (HEIGHT - 2 * PAD) / (high - low)
        return x.quantize(TENTH), y.quantize(TENTH)

    def line(pairs) -> str:
        return " ".join(f"{x},{y}" for x, y in (xy(day, value) for day, value in pairs))

    last_x, last_y = xy(measurements[-1].measured_on, measurements[-1].value)
    return Sparkline(
        points=line((m.measured_on, m.value) for m in measurements),
        plan=line(plan),
        last_x=last_x,
        last_y=last_y,
        colour=COLOURS[state.key],
    )


@register.filter
def kpi_value(value: Decimal | None) -> str:
    """A KPI value as typed: no trailing zeros, thousands grouped (12,500.5)."""
    if value is None:
        return "—"
    return f"{value.normalize():,f}"


@register.inclusion_tag("outcomes/_outcomes_card.html")
def outcomes_card(initiative, user) -> dict:
    """The "Outcomes" card: each KPI with its sparkline, latest value, attainment and state today."""
    drawn = OutcomeMeasurement.objects.order_by("-measured_on")[:SPARKLINE_POINTS]
    kpis = list(
        OutcomeKpi.objects.filter(initiative=initiative)
        .order_by("id")
        .prefetch_related(Prefetch("measurements", queryset=drawn, to_attr="drawn"))
    )
    rows = []
    for kpi in kpis:
        state = kpi_state(kpi)
        rows.append({"kpi": kpi, "state": state, "sparkline": sparkline(kpi, kpi.drawn[::-1], state)})
    return {
        "initiative": initiative,
        "rows": rows,
        "may_edit": can(user, "outcome.edit", initiative),
        "may_measure": can(user, "outcome.measure", initiative),
    }


@register.simple_tag
def with_outcome_kpis(initiatives: list) -> list:
    """`initiatives` with their KPIs read in one query (`initiative.outcome_kpis.all`), e.g. for a list."""
    prefetch_related_objects(initiatives, Prefetch("outcome_kpis", queryset=OutcomeKpi.objects.order_by("id")))
    return initiatives
