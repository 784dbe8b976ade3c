"""The outcome pages (PRODUCT.md §3b): who reads and who writes an initiative's KPIs, the forms' errors
under their field, and the "Outcomes" card of the initiative page (sparklines, on-track labels, a constant
number of queries)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outcomes.models import OutcomeKpi, OutcomeMeasurement
from outcomes.templatetags.outcome_tags import SPARKLINE_POINTS, kpi_state, sparkline

from .web_helpers import initiative_of, kpi_on, kpi_post, measure, today

pytestmark = pytest.mark.django_db


def _as(client, user):
    client.force_login(user)
    return client


def _urls(initiative, kpi, measurement) -> dict[str, str]:
    return {
        "add": f"/outcomes/initiatives/{initiative.code}/",
        "edit": f"/outcomes/kpis/{kpi.pk}/edit/",
        "delete": f"/outcomes/kpis/{kpi.pk}/delete/",
        "measure": f"/outcomes/kpis/{kpi.pk}/measurements/",
        "unmeasure": f"/outcomes/measurements/{measurement.pk}/delete/",
    }


def _writes(client, initiative, kpi, measurement) -> dict[str, int]:
    """The status of every write, in an order that leaves the KPI in place until its own removal."""
    urls = _urls(initiative, kpi, measurement)
    day = f"{today():%Y-%m-%d}"
    return {
        "add": client.post(urls["add"], kpi_post()).status_code,
        "edit": client.post(urls["edit"], kpi_post(name="Renamed")).status_code,
        "measure": client.post(urls["measure"], {f"m{kpi.pk}-measured_on": day, f"m{kpi.pk}-value": "5"}).status_code,
        "unmeasure": client.post(urls["unmeasure"]).status_code,
        "delete": client.post(urls["delete"]).status_code,
    }


def _setup(pm, status: str):
    initiative = initiative_of(pm, status)
    kpi = kpi_on(initiative)
    measure(kpi, 10)
    return initiative, kpi, kpi.measurements.get()


ALLOWED = {"add": 302, "edit": 302, "measure": 302, "unmeasure": 302, "delete": 302}
REFUSED = dict.fromkeys(ALLOWED, 403)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("in_progress", ALLOWED),
        ("approved", {**REFUSED, "measure": 302, "unmeasure": 302}),  # the approved KPIs stand until the start
        ("draft", {**ALLOWED, "measure": 403, "unmeasure": 403}),  # measured from approval on
        ("submitted", REFUSED),  # fixed while the sponsors decide
        ("done", {**REFUSED, "measure": 302, "unmeasure": 302}),
    ],
)
def test_the_owner_edits_and_measures_as_the_status_allows(client, pm, status, expected):
    initiative, kpi, measurement = _setup(pm, status)
    assert _writes(_as(client, pm), initiative, kpi, measurement) == expected
    page = client.get(f"/outcomes/initiatives/{initiative.code}/").content.decode()
    assert ("Add the KPI" in page) is (expected["add"] == 302)
    assert (">Record</button>" in page) is (expected["measure"] == 302)


def test_a_submitted_initiatives_kpis_cannot_be_edited(client, pm):
    initiative, kpi, _ = _setup(pm, "submitted")
    _as(client, pm)
    assert client.get(f"/outcomes/kpis/{kpi.pk}/edit/").status_code == 403
    page = client.get(f"/outcomes/initiatives/{initiative.code}/").content.decode()
    assert "Checkout conversion rate" in page and "fixed while the sponsors decide" in page
    assert f"/outcomes/kpis/{kpi.pk}/edit/" not in page
    assert OutcomeKpi.objects.get().name == "Checkout conversion rate"


@pytest.mark.parametrize("reader", ["other_pm", "finance", "executive_marketing", "executive_it"])
def test_others_read_but_neither_edit_nor_measure(client, pm, reader, request):
    user = request.getfixturevalue(reader)
    initiative, kpi, measurement = _setup(pm, "in_progress")
    _as(client, user)
    page = client.get(f"/outcomes/initiatives/{initiative.code}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Checkout conversion rate" in html and "Add the KPI" not in html and ">Record</button>" not in html
    assert client.get(f"/outcomes/kpis/{kpi.pk}/edit/").status_code == 403
    assert _writes(client, initiative, kpi, measurement) == REFUSED
    assert OutcomeKpi.objects.get().name == "Checkout conversion rate" and OutcomeMeasurement.objects.count() == 1


def test_another_pms_draft_is_not_found_as_on_the_initiative_page(client, pm, other_pm):
    initiative, kpi, measurement = _setup(pm, "draft")
    _as(client, other_pm)
    assert client.get(f"/initiatives/{initiative.code}/").status_code == 404
    assert client.get(f"/outcomes/initiatives/{initiative.code}/").status_code == 404
    assert client.get(f"/outcomes/kpis/{kpi.pk}/edit/").status_code == 404
    assert set(_writes(client, initiative, kpi, measurement).values()) == {404}
    client.logout()
    assert client.get(f"/outcomes/initiatives/{initiative.code}/").status_code == 302  # to the sign-in page


def _field_block(html: str, field: str) -> str:
    """The markup of one field's wrapper: from its label to the next field's label."""
    start = html.index(f'for="id_{field}"')
    end = html.find("<label", start + 1)
    return html[start : end if end > 0 else len(html)]


def test_errors_are_shown_under_their_field(client, pm):
    initiative = initiative_of(pm)
    _as(client, pm)
    url = f"/outcomes/initiatives/{initiative.code}/"
    refused = client.post(url, kpi_post(target="120", unit="", target_date="2026-02-30"))
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "The target must differ from the baseline" in _field_block(html, "target")
    assert "Give the unit" in _field_block(html, "unit")
    assert "Enter the target date as YYYY-MM-DD." in _field_block(html, "target_date")
    assert 'value="Orders a day"' in html  # what was typed is kept
    kpi = kpi_on(initiative)
    edited = client.post(f"/outcomes/kpis/{kpi.pk}/edit/", kpi_post(direction="down"))
    assert edited.status_code == 400
    assert "A KPI that should go down needs a target below its baseline." in _field_block(
        edited.content.decode(), "target"
    )
    assert not OutcomeKpi.objects.exclude(pk=kpi.pk).exists()


def test_a_sixth_kpi_is_refused_with_the_reason(client, pm):
    initiative = initiative_of(pm)
    for n in range(5):
        kpi_on(initiative, name=f"KPI {n}")
    _as(client, pm)
    url = f"/outcomes/initiatives/{initiative.code}/"
    page = client.get(url).content.decode()
    assert "Add the KPI" not in page and "the most it may have" in page
    refused = client.post(url, kpi_post())
    assert refused.status_code == 400
    assert re.search(
        r'class="alert alert-danger"[^>]*>\s*<div>An initiative has at most 5 outcome KPIs', refused.content.decode()
    )
    assert OutcomeKpi.objects.count() == 5


def test_a_measurement_error_is_shown_under_its_field_of_that_kpi(client, pm):
    initiative = initiative_of(pm)
    first, second = kpi_on(initiative), kpi_on(initiative, name="Uptime")
    _as(client, pm)
    future = f"{today() + dt.timedelta(days=1):%Y-%m-%d}"
    refused = client.post(
        f"/outcomes/kpis/{second.pk}/measurements/", {f"m{second.pk}-measured_on": future, f"m{second.pk}-value": "x"}
    )
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "A measurement cannot be in the future." in _field_block(html, f"m{second.pk}-measured_on")
    assert "Enter the measured value, for example 12.5." in _field_block(html, f"m{second.pk}-value")
    assert "cannot be in the future" not in _field_block(html, f"m{first.pk}-measured_on")
    assert not OutcomeMeasurement.objects.exists()


def test_a_measurement_recorded_through_the_form_updates_the_attainment_shown(client, pm):
    initiative = initiative_of(pm)
    kpi = kpi_on(initiative, baseline=Decimal("20"), target=Decimal("70"), unit="ms")
    _as(client, pm)
    url = f"/outcomes/initiatives/{initiative.code}/"
    assert "not measured yet" in client.get(url).content.decode()
    day = f"{today():%Y-%m-%d}"
    recorded = client.post(
        f"/outcomes/kpis/{kpi.pk}/measurements/", {f"m{kpi.pk}-measured_on": day, f"m{kpi.pk}-value": "45"}
    )
    assert recorded.status_code == 302 and recorded["Location"] == f"{url}#kpi-{kpi.pk}"
    page = client.get(url).content.decode()
    assert '<dd class="kpi-attainment">50.00 %</dd>' in page and "<strong>45 ms</strong>" in page
    card = client.get(f"/initiatives/{initiative.code}/").content.decode()
    assert "50 % attained" in card and "45 ms" in card
    client.post(f"/outcomes/measurements/{kpi.measurements.get().pk}/delete/")
    assert "50 % attained" not in client.get(f"/initiatives/{initiative.code}/").content.decode()


def _card(html: str) -> str:
    return html[html.index('id="outcomes"') : html.index('aria-labelledby="h-agreements"')]


def test_the_initiative_page_shows_each_kpis_sparkline_and_state(client, pm, finance):
    initiative = initiative_of(pm)
    measure(kpi_on(initiative, name="Reached"), 10, 60, 100, every=7)  # the target reached: on track always
    measure(kpi_on(initiative, name="Worse", direction="down", baseline=Decimal(50), target=Decimal(10)), 55)
    kpi_on(initiative, name="Unmeasured")
    for user, link in ((pm, "Manage outcomes"), (finance, "All measurements")):
        card = _card(_as(client, user).get(f"/initiatives/{initiative.code}/").content.decode())
        assert card.count("<svg") == 2 and card.count('class="sparkline-values"') == 2
        for name, label in (("Reached", "On track"), ("Worse", "Off track"), ("Unmeasured", "Not measured yet")):
            assert re.search(rf"{name}</div>.*?{label}</span>", card, re.S), name
        assert "style=" not in card  # CSP: no inline style
        assert link in card and f"/outcomes/initiatives/{initiative.code}/" in card


def test_the_card_invites_the_owner_to_define_outcomes(client, pm, finance):
    initiative = initiative_of(pm, "draft")
    card = _card(_as(client, pm).get(f"/initiatives/{initiative.code}/").content.decode())
    assert "No outcome KPIs yet" in card and "Define outcomes" in card
    submitted = initiative_of(pm, "submitted")
    card = _card(_as(client, finance).get(f"/initiatives/{submitted.code}/").content.decode())
    assert "No outcome KPIs yet" in card and "Define outcomes" not in card


def test_sponsors_see_the_kpis_where_they_approve(client, pm, executive_marketing, executive_it):
    initiative = initiative_of(pm, "submitted", marketing_sponsor=executive_marketing, it_sponsor=executive_it)
    kpi_on(initiative, name="Checkout conversion rate", baseline=Decimal("2.1"), target=Decimal("3.4"))
    _as(client, executive_marketing)
    page = client.get(f"/initiatives/{initiative.code}/").content.decode()
    assert ">Approve</button>" in page and "Checkout conversion rate" in _card(page)
    assert "2.1 → 3.4 %" in _card(page)
    approvals = client.get("/initiatives/approvals/").content.decode()
    assert "Checkout conversion rate: 2.1 → 3.4 %" in approvals


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_initiative_pages_queries_do_not_grow_with_the_measurements(client, pm):
    initiative = initiative_of(pm)
    kpis = [kpi_on(initiative, name=f"KPI {n}") for n in range(2)]
    for kpi in kpis:
        measure(kpi, 5)
    _as(client, pm)
    url = f"/initiatives/{initiative.code}/"
    few = _queries(client, url)
    OutcomeMeasurement.objects.all().delete()
    for kpi in [*kpis, *(kpi_on(initiative, name=f"More {n}") for n in range(3))]:
        measure(kpi, *range(90))
    assert _queries(client, url) == few
    assert _queries(client, f"/outcomes/initiatives/{initiative.code}/") <= few


def test_a_sparkline_draws_the_latest_measurements_against_the_plan(pm):
    kpi = measure(kpi_on(initiative_of(pm), target_date=today()), *range(100))
    drawn = list(kpi.measurements.order_by("-measured_on")[:SPARKLINE_POINTS])[::-1]
    line = sparkline(kpi, drawn, kpi_state(kpi))
    points = [tuple(map(Decimal, pair.split(","))) for pair in line.points.split()]
    assert len(points) == SPARKLINE_POINTS
    assert points[0][0] == 4 and points[-1][0] == 236  # the width, less the padding, spans the drawn days
    assert all(a[1] > b[1] for a, b in itertools.pairwise(points))  # rising values: y falls in SVG
    # The plan reaches the target (100) on the target date, today: above the latest value (99).
    assert line.plan.split()[-1] == "236.0,4.0" and points[-1][1] > 4
    assert sparkline(kpi_on(initiative_of(pm), name="None"), [], kpi_state(kpi)) is None


def test_a_kpis_state_follows_on_track_until(pm):
    kpi = kpi_on(initiative_of(pm))
    assert kpi_state(kpi).label == "Not measured yet"
    kpi.latest_value, kpi.on_track_until = Decimal(1), today()
    assert kpi_state(kpi).label == "On track"
    assert kpi_state(kpi, today() + dt.timedelta(days=1)).label == "Off track"
