"""Outcome KPIs and measurements made through `outcomes.services`, for the dashboard panel's and the report's tests
(and to seed a development database from `manage.py shell`: `seed_kpis(Initiative.objects.all())`)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from outcomes.rules import KPI_EDITABLE, MEASURABLE
from outcomes.services import kpi_create, measurement_record

KPI_SHAPES = (
    ("Checkout conversion rate", "%", "up", "marketing", Decimal("2.4000"), Decimal("3.2000")),
    ("Cost to serve", "USD", "down", "it", Decimal("14.0000"), Decimal("10.0000")),
    ("Page load time", "ms", "down", "it", Decimal("2400.0000"), Decimal("1200.0000")),
    ("Repeat purchases", "orders a day", "up", "marketing", Decimal("180.0000"), Decimal("240.0000")),
    ("Uptime", "%", "up", "it", Decimal("99.0000"), Decimal("99.9000")),
)


def seed_kpis(initiatives, *, today: dt.date, seed: int = 20) -> int:
    """Give initiatives that may take KPIs one to three each, and those that may be measured a history:
    some on track, some behind, some not measured yet. Returns how many KPIs were made."""
    rng = random.Random(seed)
    made = 0
    for initiative in initiatives:
        if initiative.status not in KPI_EDITABLE:
            continue
        owner = initiative.owner
        for name, unit, direction, side, baseline, target in rng.sample(KPI_SHAPES, rng.randint(1, 3)):
            target_date = max(initiative.start_date, today) + dt.timedelta(days=rng.randint(-60, 300))
            target_date = max(target_date, initiative.start_date)
            kpi = kpi_create(
                initiative=initiative,
                by=owner,
                name=name,
                unit=unit,
                direction=direction,
                baseline=baseline,
                target=target,
                target_date=target_date,
                owner_side=side,
            )
            made += 1
            if initiative.status not in MEASURABLE or rng.random() < 0.15:
                continue
            pace = Decimal(str(rng.choice((-0.2, 0.3, 0.6, 0.9, 1.1, 1.3))))
            first = today - dt.timedelta(days=rng.randint(60, 240))
            steps = rng.randint(1, 5)
            for step in range(steps):  # the latest on today or a few weeks before: some fall behind by waiting
                last = today - dt.timedelta(days=rng.choice((0, 0, 20)))
                day = first + (last - first) * (step + 1) // steps
                elapsed = Decimal(max((day - first).days, 1)) / Decimal(max((target_date - first).days, 1))
                value = baseline + (target - baseline) * min(elapsed, Decimal(1)) * pace
                measurement_record(kpi=kpi, by=owner, measured_on=day, value=value.quantize(Decimal("0.0001")))
    return made
