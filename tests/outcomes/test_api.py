"""`/api/outcomes/`: outcome KPIs and their measurements (PRODUCT.md §3b, §4 "REST API")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from outcomes.models import OutcomeKpi, OutcomeMeasurement
from outcomes.services import measurement_record, today
from tests.factories import InitiativeFactory, UserFactory
from tests.outcomes.io_helpers import kpi

pytestmark = pytest.mark.django_db

LIST = "/api/outcomes/"


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def mine(pm, executive_marketing, executive_it):
    return InitiativeFactory(
        owner=pm, status="in_progress", marketing_sponsor=executive_marketing, it_sponsor=executive_it
    )


@pytest.fixture
def conversion(mine):
    return kpi(mine, "Checkout conversion")


def _definition(initiative, **changes) -> dict:
    return {
        "initiative": initiative.code,
        "name": "Cost to serve",
        "unit": "USD",
        "direction": "down",
        "baseline": "10.5",
        "target": "8",
        "target_date": "2026-12-31",
        "owner_side": "it",
    } | changes


def test_the_api_root_links_outcomes(pm):
    assert client_of(pm).get("/api/").json()["outcomes"].endswith("/api/outcomes/")


def test_values_are_decimal_strings_and_the_figures_are_read_only(pm, conversion):
    measurement_record(kpi=conversion, by=pm, measured_on=dt.date(2026, 3, 1), value=Decimal("3"))
    body = client_of(pm).get(f"{LIST}{conversion.pk}/").json()
    assert body["baseline"] == "2.0000"
    assert body["target"] == "4.0000"
    assert body["latest_value"] == "3.0000"
    assert body["attainment_pct"] == "50.00"
    assert body["first_measured_on"] == "2026-03-01"
    assert body["initiative"] == conversion.initiative.code
    assert body["on_track"] is (conversion.__class__.objects.get().on_track_until >= today())
    response = client_of(pm).patch(f"{LIST}{conversion.pk}/", {"latest_value": "99", "unit": "pct"}, format="json")
    assert response.status_code == 200
    assert response.json()["latest_value"] == "3.0000" and response.json()["unit"] == "pct"


# Who may do what: (role, owner?, initiative status) → list sees it, create, update, delete, record.
PERMISSIONS = [
    ("pm", True, "in_progress", True, 201, 200, 204, 201),
    ("pm", True, "draft", True, 201, 200, 204, 403),
    ("pm", True, "submitted", True, 403, 403, 403, 403),
    ("pm", True, "done", True, 403, 403, 403, 201),
    ("pm", False, "in_progress", True, 403, 403, 403, 403),
    ("pm", False, "draft", False, 400, 404, 404, 404),
    ("finance", False, "in_progress", True, 403, 403, 403, 403),
    ("executive", False, "in_progress", True, 403, 403, 403, 403),
    ("admin", False, "in_progress", True, 403, 403, 403, 403),
]


@pytest.mark.parametrize(("role", "owner", "state", "sees", "create", "update", "delete", "record"), PERMISSIONS)
def test_permissions(pm, role, owner, state, sees, create, update, delete, record):
    user = pm if owner else UserFactory(role=role, side="" if role in ("finance", "admin") else "marketing")
    initiative = InitiativeFactory(owner=pm, status=state)
    first = kpi(initiative, "Checkout conversion")
    client = client_of(user)
    listed = [item["id"] for item in client.get(LIST).json()["results"]]
    assert (first.pk in listed) is sees
    response = client.post(LIST, _definition(initiative), format="json")
    assert response.status_code == create, response.content
    response = client.post(
        f"{LIST}{first.pk}/measurements/", {"measured_on": "2026-03-01", "value": "3"}, format="json"
    )
    assert response.status_code == record, response.content
    response = client.patch(f"{LIST}{first.pk}/", {"unit": "pct"}, format="json")
    assert response.status_code == update, response.content
    response = client.delete(f"{LIST}{first.pk}/")
    assert response.status_code == delete, response.content
    assert OutcomeKpi.objects.filter(pk=first.pk).exists() is (delete != 204)


def test_create_refused_with_field_messages(pm, mine):
    response = client_of(pm).post(
        LIST, _definition(mine, direction="up", target="5", target_date="2020-01-01", baseline="1.23456"), format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"baseline"}
    response = client_of(pm).post(LIST, _definition(mine, direction="up", target_date="2020-01-01"), format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"target", "target_date"}
    assert "above its baseline" in response.json()["target"][0]
    response = client_of(pm).post(LIST, {"initiative": "INI-9999"}, format="json")
    assert response.status_code == 400
    assert {"initiative", "name", "unit", "baseline"} <= set(response.json())


def test_create_a_kpi_and_a_sixth_is_refused(pm, mine):
    response = client_of(pm).post(LIST, _definition(mine, direction="Down", owner_side="IT"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["direction"], body["owner_side"], body["baseline"]) == (
        "Cost to serve",
        "down",
        "it",
        "10.5000",
    )
    assert body["latest_value"] is None and body["on_track"] is None
    assert response["Location"].endswith(f"/api/outcomes/{body['id']}/")
    for number in range(4):
        kpi(mine, f"KPI {number}")
    response = client_of(pm).post(LIST, _definition(mine, name="Sixth"), format="json")
    assert response.status_code == 400
    assert "at most 5" in response.json()["non_field_errors"][0]


def test_measurements_post_list_correct_and_delete(pm, conversion):
    client = client_of(pm)
    url = f"{LIST}{conversion.pk}/measurements/"
    response = client.post(url, {"measured_on": "2026-03-01", "value": "2.5"}, format="json")
    assert response.status_code == 201
    assert response.json()["value"] == "2.5000" and response.json()["recorded_by"] == pm.username
    client.post(url, {"measured_on": "2026-04-01", "value": "3"}, format="json")
    response = client.post(url, {"measured_on": "2026-03-01", "value": "2.75"}, format="json")
    assert response.status_code == 200
    listed = client.get(url).json()
    assert listed["count"] == 2
    assert [(m["measured_on"], m["value"]) for m in listed["results"]] == [
        ("2026-04-01", "3.0000"),
        ("2026-03-01", "2.7500"),
    ]
    assert client.get(f"{LIST}{conversion.pk}/").json()["latest_value"] == "3.0000"
    newest = OutcomeMeasurement.objects.get(measured_on=dt.date(2026, 4, 1))
    assert client.delete(f"{url}{newest.pk}/").status_code == 204
    assert client.get(f"{LIST}{conversion.pk}/").json()["latest_value"] == "2.7500"
    assert client.delete(f"{url}{newest.pk}/").status_code == 404


def test_a_measurement_refused_with_field_messages(pm, conversion):
    url = f"{LIST}{conversion.pk}/measurements/"
    tomorrow = today() + dt.timedelta(days=1)
    response = client_of(pm).post(url, {"measured_on": f"{tomorrow}", "value": "1"}, format="json")
    assert response.status_code == 400
    assert "future" in response.json()["measured_on"][0]
    response = client_of(pm).post(url, {"measured_on": "March", "value": "1.00001"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"measured_on", "value"}
    assert not OutcomeMeasurement.objects.exists()


def test_measurements_of_an_invisible_kpi_answer_404(pm, other_pm):
    draft = InitiativeFactory(owner=other_pm, status="draft")
    hidden = kpi(draft, "Checkout conversion")
    assert client_of(pm).get(f"{LIST}{hidden.pk}/measurements/").status_code == 404
    assert client_of(pm).get(f"{LIST}{hidden.pk}/").status_code == 404


def test_filters(pm, finance, mine, conversion):
    other = InitiativeFactory(owner=pm, status="in_progress", lane="core_stack")
    uptime = kpi(other, "Uptime", owner_side="it")
    measurement_record(kpi=conversion, by=pm, measured_on=today(), value=Decimal("4"))  # the target: on track
    measurement_record(kpi=uptime, by=pm, measured_on=dt.date(2026, 1, 5), value=Decimal("1"))  # below the baseline
    client = client_of(finance)

    def ids(**query) -> list[int]:
        response = client.get(LIST, query)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids(initiative=mine.code.lower()) == [conversion.pk]
    assert ids(owner_side="IT") == [uptime.pk]
    assert ids(lane="core_stack") == [uptime.pk]
    assert ids(on_track="true") == [conversion.pk]
    assert ids(on_track="false") == [uptime.pk]
    assert client.get(LIST, {"owner_side": "sales"}).status_code == 400
