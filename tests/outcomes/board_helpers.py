"""Outcome KPIs and measurements made through `outcomes.services`, for the dashboard panel's and the report's
tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from outcomes.services import kpi_create, measurement_record

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
