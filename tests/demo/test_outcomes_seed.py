"""seed_demo's shared outcomes (issue 20, PRODUCT.md §3b): most initiatives have KPIs and a measurement history.

The seed writes each KPI's measured figures itself (from the series it generates), so they must be what
`kpis_refresh` computes from the measurements; the history must be believable (in the past, from the
initiative's start, targets beyond the baseline) and give a mix of on-track and off-track KPIs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Count, Max, Min
from django.utils import timezone

from demo.initiatives import initiative_plans
from demo.outcomes import MEASURED_STATUSES, kpi_plans
from demo.people import DEMO_PASSWORD
from demo.timelines import demo_timelines
from initiatives.choices import Status
from initiatives.models import Initiative
from outcomes import attainment
from outcomes.attainment import MEASURED_FIGURES as REFRESHED
from outcomes.models import KPIS_PER_INITIATIVE, OutcomeKpi, OutcomeMeasurement
from outcomes.services import kpis_refresh
from portfolio.fiscal import add_months, month_start
from tests.demo.test_seed_demo import delete_generated_data

OUTCOMES = {"initiatives": 150, "expenses": 300, "months": 12, "seed": 11}


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO(), **{**OUTCOMES, **options})
    return out.getvalue()


@pytest.fixture
def seeded(db) -> str:
    return seed()


def stored_figures() -> dict[int, tuple]:
    return {row[0]: row[1:] for row in OutcomeKpi.objects.values_list("pk", *REFRESHED)}


def outcomes_digest() -> str:
    """The KPIs and measurements by initiative code and KPI name: independent of database ids."""
    digest = hashlib.sha256()
    for row in OutcomeKpi.objects.order_by("initiative__code", "name").values_list(
        "initiative__code",
        "name",
        "unit",
        "direction",
        "owner_side",
        "baseline",
        "target",
        "target_date",
        *REFRESHED,
    ):
        digest.update(repr(row).encode())
    for row in OutcomeMeasurement.objects.order_by("kpi__initiative__code", "kpi__name", "measured_on").values_list(
        "kpi__initiative__code", "kpi__name", "measured_on", "value", "recorded_by__username"
    ):
        digest.update(repr(row).encode())
    return digest.hexdigest()


def test_most_initiatives_get_one_to_five_kpis(seeded):
    per_initiative = list(
        Initiative.objects.annotate(kpis=Count("outcome_kpis")).filter(kpis__gt=0).values_list("kpis", flat=True)
    )
    initiatives = Initiative.objects.count()
    assert 0.65 * initiatives <= len(per_initiative) <= 0.95 * initiatives
    assert set(per_initiative) <= set(range(1, KPIS_PER_INITIATIVE + 1))
    assert {1, KPIS_PER_INITIATIVE} <= set(per_initiative)
    assert 2.0 <= OutcomeKpi.objects.count() / initiatives <= 3.0
    # Nearly every approved, running or delivered initiative has some; both sides own KPIs in both lanes.
    working = Initiative.objects.filter(status__in=(Status.APPROVED, Status.IN_PROGRESS, Status.DONE))
    assert working.filter(outcome_kpis__isnull=True).count() <= 0.2 * working.count()
    sides = set(OutcomeKpi.objects.values_list("initiative__lane", "owner_side").distinct())
    assert sides == {(lane, side) for lane in ("fast_lane", "core_stack") for side in ("marketing", "it")}


def test_targets_lie_beyond_the_baseline_and_dates_near_the_initiatives(seeded):
    for kpi in OutcomeKpi.objects.select_related("initiative"):
        assert not attainment.target_error(direction=kpi.direction, baseline=kpi.baseline, target=kpi.target), kpi
        assert kpi.initiative.start_date < kpi.target_date <= kpi.initiative.end_date + dt.timedelta(days=120)
        assert kpi.name and kpi.unit and len(kpi.unit) <= 24
        assert kpi.created_at <= timezone.now()
    assert Counter(OutcomeKpi.objects.values_list("direction", flat=True)).keys() == {"up", "down"}


def test_measurements_are_in_the_past_from_the_start_and_only_once_approved(seeded):
    today = timezone.localdate()
    span = OutcomeMeasurement.objects.aggregate(first=Min("measured_on"), last=Max("measured_on"))
    assert span["last"] <= today
    assert OutcomeMeasurement.objects.count() > 10 * OutcomeKpi.objects.exclude(latest_value=None).count() / 2
    measured = OutcomeMeasurement.objects.values("kpi__initiative").distinct()
    statuses = set(Initiative.objects.filter(pk__in=measured).values_list("status", flat=True))
    assert statuses <= MEASURED_STATUSES and Status.IN_PROGRESS in statuses
    for initiative in Initiative.objects.filter(pk__in=measured).annotate(
        first=Min("outcome_kpis__measurements__measured_on")
    ):
        assert initiative.first >= initiative.start_date, initiative.code
    # Drafts and submissions have KPIs defined, not measured.
    unmeasured = OutcomeKpi.objects.filter(initiative__status__in=(Status.DRAFT, Status.SUBMITTED))
    assert unmeasured.exists()
    assert not OutcomeMeasurement.objects.filter(kpi__in=unmeasured).exists()
    assert all(kpi.latest_value is None for kpi in unmeasured)
    # Recorded by the initiative's owner, entered after the day measured.
    for measurement in OutcomeMeasurement.objects.select_related("kpi__initiative").order_by("?")[:200]:
        assert measurement.recorded_by_id == measurement.kpi.initiative.owner_id
        assert timezone.localdate(measurement.created_at) >= measurement.measured_on
        assert measurement.created_at <= timezone.now()


def test_the_stored_figures_are_what_kpis_refresh_computes(seeded):
    seeded_figures = stored_figures()
    assert sum(figures[2] is not None for figures in seeded_figures.values()) > 100

    kpis_refresh(seeded_figures)

    assert stored_figures() == seeded_figures


def test_some_kpis_are_on_track_today_and_some_not_on_both_sides(seeded):
    today = timezone.localdate()
    measured = OutcomeKpi.objects.exclude(latest_value=None)
    for side in ("marketing", "it"):
        on_track = measured.filter(owner_side=side, on_track_until__gte=today).count()
        off_track = measured.filter(owner_side=side, on_track_until__lt=today).count()
        assert on_track >= 10 and off_track >= 10, side
        assert 0.25 <= on_track / (on_track + off_track) <= 0.75, side
    # Some beyond the target, some worse than the baseline.
    assert measured.filter(attainment_pct__gte=100).exists()
    assert measured.filter(attainment_pct__lt=0).exists()


def test_each_kpi_has_a_created_entry_by_its_owner(seeded):
    owners = dict(OutcomeKpi.objects.values_list("pk", "initiative__owner_id"))
    entries = list(OutcomeKpi.history.values_list("id", "history_type", "history_user_id"))
    assert sorted(entries) == sorted((pk, "+", owner) for pk, owner in owners.items())


def test_the_same_seed_gives_the_same_outcomes_and_another_seed_does_not(db):
    seed()
    first = outcomes_digest()
    delete_generated_data()
    seed()
    assert outcomes_digest() == first

    delete_generated_data()
    seed(seed=12)
    assert outcomes_digest() != first


def test_if_empty_and_the_logins_still_work(db, client):
    output = seed(if_empty=True)
    kpis = OutcomeKpi.objects.count()
    assert kpis and "outcome KPIs" in output and "measurements" in output

    seed(if_empty=True)  # a portfolio exists: nothing added

    assert OutcomeKpi.objects.count() == kpis
    user = User.objects.get(username="pm.marketing")
    assert client.login(username=user.username, password=DEMO_PASSWORD)


def test_a_kpis_latest_value_and_count_match_its_generated_series():
    # The seed writes the figures from `latest_value()` before generating the series: they must agree.
    rng, now = random.Random(5), timezone.now()
    today = timezone.localdate(now)
    plans = initiative_plans(
        rng,
        count=200,
        today=today,
        window_start=add_months(month_start(today), -23),
        pm_ids=[1, 2],
        marketing_sponsor_ids=[3],
        it_sponsor_ids=[4],
    )
    timelines = demo_timelines(rng, plans, now=now)
    kpis = kpi_plans(plans, timelines, now=now)
    measured = [kpi for kpi in kpis if kpi.measured]
    assert len(measured) > 200 and any(kpi.weekly for kpi in measured) and not all(kpi.weekly for kpi in measured)
    for kpi in measured:
        series = list(kpi.values())
        days = [day for day, _ in series]
        assert days == sorted(set(days)) and days[-1] <= today
        assert kpi.count() == len(series)
        last_day, value = kpi.latest_value()
        assert (last_day, value) == (days[-1], Decimal(series[-1][1]).quantize(Decimal("0.0001")))
    assert kpi_plans(plans, timelines, now=now) == kpis  # the same plans, the same KPIs
