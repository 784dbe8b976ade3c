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


# --- a small portfolio with hand-made KPIs -----------------------------------------------------------

D = Decimal


def _kpi(initiative, name, side, *, direction="up", baseline="0", target="100", target_date, measurements=()):
    kpi = kpi_create(
        initiative=initiative,
        by=initiative.owner,
        name=name,
        unit="%" if side == "marketing" else "ms",
        direction=direction,
        baseline=D(baseline),
        target=D(target),
        target_date=target_date,
        owner_side=side,
    )
    for day, value in measurements:
        measurement_record(kpi=kpi, by=initiative.owner, measured_on=day, value=D(value))
    return kpi


def build_outcomes_portfolio(*, today: dt.date, marketing_pm, it_pm, sponsors: dict) -> dict:
    """Three initiatives of this fiscal year with split rows (one over budget) and six KPIs:

    | initiative | lane | owner | KPI | side | state today |
    | fast | fast lane | marketing PM | Conversion: 80 % of the way at half time | marketing | on track |
    | fast | | | Latency: 10 % of the way at half time (down) | it | off track |
    | fast | | | Awareness: no measurement | marketing | not measured |
    | core | core stack | IT PM | Uptime: target date passed unreached | it | off track |
    | core | | | Leads: target reached | marketing | on track |
    | over | fast lane | marketing PM | Retention: below its baseline | marketing | off track |

    `over` spent far more than planned this month (over budget by the overspend rule); the others are under.
    """
    from portfolio import fiscal
    from split.services import split_recompute
    from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

    year = fiscal.fiscal_year(today)
    first, last = fiscal.fiscal_year_bounds(year)
    start = fiscal.add_months(first, -12)  # a year before: every KPI date below is after the start
    month = fiscal.month_start(today)

    def initiative(lane, owner, title, planned, spent):
        made = InitiativeFactory(
            title=title, lane=lane, status="in_progress", owner=owner, start_date=start, end_date=last, **sponsors
        )
        BudgetLineFactory(initiative=made, month=month, amount=D(planned))
        ExpenseFactory(initiative=made, incurred_on=month, amount=D(spent), paid_by="it")
        return made

    fast = initiative("fast_lane", marketing_pm, "Loyalty relaunch", "10000.00", "1234.56")
    core = initiative("core_stack", it_pm, "Billing platform", "20000.00", "5000.00")
    over = initiative("fast_lane", marketing_pm, "Pop-up stores", "100.00", "9000.00")
    days = dt.timedelta
    kpis = {
        "conversion": _kpi(
            fast,
            "Conversion",
            "marketing",
            target_date=today + days(100),
            measurements=[(today - days(100), "10"), (today, "80")],
        ),
        "latency": _kpi(
            fast,
            "Latency",
            "it",
            direction="down",
            baseline="100",
            target="50",
            target_date=today + days(100),
            measurements=[(today - days(100), "100"), (today, "95")],
        ),
        "awareness": _kpi(fast, "Awareness", "marketing", target_date=today + days(100)),
        "uptime": _kpi(
            core,
            "Uptime",
            "it",
            baseline="99",
            target="99.9",
            target_date=today - days(10),
            measurements=[(today - days(50), "99.2"), (today - days(5), "99.5")],
        ),
        "leads": _kpi(
            core,
            "Leads",
            "marketing",
            target_date=today + days(30),
            measurements=[(today - days(40), "20"), (today - days(1), "120")],
        ),
        "retention": _kpi(
            over,
            "Retention",
            "marketing",
            baseline="50",
            target="60",
            target_date=today + days(60),
            measurements=[(today - days(30), "48")],
        ),
    }
    split_recompute(trigger="command")
    return {"year": year, "fast": fast, "core": core, "over": over, "kpis": kpis}
