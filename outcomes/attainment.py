"""Attainment and on-track of an outcome KPI (PRODUCT.md §3b): the one home of the rule.

- **Attainment** is `(latest − baseline) / (target − baseline)` as a percentage, half up to two places.
  Dividing by `target − baseline` makes it sign-aware: a KPI that should go down has a target below its
  baseline, so a fall is progress. 0 % is the baseline, 100 % the target; it may be below 0 (worse than the
  baseline) or above 100 (beyond the target). A target equal to the baseline is refused at entry, and so is
  a target on the wrong side of the baseline for the direction (`target_error`).
- **On track** when the attainment is at least the elapsed fraction of the time from the KPI's first
  measurement to its `target_date`: `attainment ≥ elapsed / span`, with `elapsed` the days from the first
  measurement to the day asked about, between 0 and `span`. From the target date on (or when the first
  measurement is on or after it) the fraction is 1: on track means the target is reached.
  Compared exactly, cross-multiplied: `(latest − baseline) × span × sign(target − baseline) ≥ elapsed ×
  |target − baseline|`, so no rounding decides a tie.
- No measurement yet: neither attainment nor on-track (`None`).

Because the fraction grows by one day at a time, "on track" on a day `d` is `d ≤ on_track_until`, a date
computed once when a measurement or the KPI changes (`on_track_until`). The database stores it beside the
latest value, so the dashboard and the reports count on-track KPIs for any day with a date comparison;
tests hold `on_track` and `on_track_until` to the same answer on every case.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portfolio.money import round_half_up

# What a KPI keeps of its measurements (`measured_figures`), stored beside its definition.
MEASURED_FIGURES = ("first_measured_on", "latest_measured_on", "latest_value", "attainment_pct", "on_track_until")
NEVER = dt.date.min  # on track on no day (below the baseline, or the target date passed unreached)
ALWAYS = dt.date.max  # on track on every day (the target reached)


def target_error(*, direction: str, baseline: Decimal, target: Decimal) -> str:
    """Why this target cannot measure attainment ('' when it can)."""
    if target == baseline:
        return "The target must differ from the baseline: attainment measures the way from one to the other."
    if direction == "up" and target < baseline:
        return "A KPI that should go up needs a target above its baseline."
    if direction == "down" and target > baseline:
        return "A KPI that should go down needs a target below its baseline."
    return ""


def attainment_pct(*, baseline: Decimal, target: Decimal, latest: Decimal | None) -> Decimal | None:
    """(latest − baseline) / (target − baseline) × 100, half up to two places; None before any measurement."""
    if latest is None:
        return None
    return round_half_up((latest - baseline) * 100 / (target - baseline), 2)


def _span(first_measured_on: dt.date, target_date: dt.date) -> int:
    return max((target_date - first_measured_on).days, 0)


def on_track(
    *,
    baseline: Decimal,
    target: Decimal,
    latest: Decimal | None,
    first_measured_on: dt.date | None,
    target_date: dt.date,
    on: dt.date,
) -> bool | None:
    """Is the KPI on track on day `on`? None before any measurement."""
    if latest is None or first_measured_on is None:
        return None
    gap = target - baseline
    span = _span(first_measured_on, target_date)
    if span == 0:  # measured first on or after the target date: only the target itself is on track
        elapsed, span = 1, 1
    else:
        elapsed = min(max((on - first_measured_on).days, 0), span)
    progress = (latest - baseline) * span * (1 if gap > 0 else -1)
    return progress >= elapsed * abs(gap)


def on_track_until(
    *,
    baseline: Decimal,
    target: Decimal,
    latest: Decimal | None,
    first_measured_on: dt.date | None,
    target_date: dt.date,
) -> dt.date | None:
    """The last day the KPI is on track (ALWAYS once the target is reached, NEVER below the baseline); None
    before any measurement. `on_track(on=d)` is `d <= on_track_until(…)` for every day `d`."""
    if latest is None or first_measured_on is None:
        return None
    gap = target - baseline
    done = (latest - baseline) * (1 if gap > 0 else -1)  # the way done, in the KPI's unit: |gap| is the target
    if done >= abs(gap):
        return ALWAYS
    span = _span(first_measured_on, target_date)
    if done < 0 or span == 0:
        return NEVER
    # On track while the days elapsed n satisfy done × span ≥ n × |gap|: n ≤ floor(done × span / |gap|),
    # exact in Decimal (both sides are non-negative, so // is the floor).
    return first_measured_on + dt.timedelta(days=int((done * span) // abs(gap)))


def measured_figures(
    *,
    baseline: Decimal,
    target: Decimal,
    target_date: dt.date,
    first_measured_on: dt.date | None,
    latest_measured_on: dt.date | None,
    latest_value: Decimal | None,
) -> dict[str, object]:
    """The MEASURED_FIGURES a KPI stores, from its definition and its first and latest measurements (all None
    before the first one): what `outcomes.services.kpis_refresh` writes and `seed_demo` seeds."""
    if latest_value is None or first_measured_on is None:
        return dict.fromkeys(MEASURED_FIGURES)
    values = {"baseline": baseline, "target": target, "latest": latest_value}
    return {
        "first_measured_on": first_measured_on,
        "latest_measured_on": latest_measured_on,
        "latest_value": latest_value,
        "attainment_pct": attainment_pct(**values),
        "on_track_until": on_track_until(**values, first_measured_on=first_measured_on, target_date=target_date),
    }


def planned_value(*, baseline: Decimal, target: Decimal, first_measured_on: dt.date, target_date: dt.date, on: dt.date):
    """Where a KPI on track stands on day `on`: the straight line from the baseline at its first measurement
    to the target at its target date (the target from then on, and at once when measured first on or after
    it). The line `on_track` compares the attainment with, drawn on the initiative page."""
    span = _span(first_measured_on, target_date)
    if span == 0:
        return target
    elapsed = min(max((on - first_measured_on).days, 0), span)
    return baseline + (target - baseline) * elapsed / span
