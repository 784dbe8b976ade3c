"""`/api/settlements/`: finance settles and reverses, executives read, PMs get 403; the summary's true-up states."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from split.models import Settlement, SettlementMonth
from tests.split.settlement_helpers import Q3_2026, ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(pm, finance):
    return ledger(pm=pm, finance=finance)


def test_finance_settles_a_quarter_and_reads_it_back(api, books, finance):
    response = api(finance).post(
        "/api/settlements/", {"months": ["2026-07", "2026-08", "2026-09"], "reference": "JE-1"}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    settlement = Settlement.objects.get()
    assert response["Location"].endswith(f"/api/settlements/{settlement.pk}/")
    assert body["amount"] == "499.99" and body["direction"] == "marketing_pays_it"
    assert body["months"] == ["2026-07", "2026-08", "2026-09"]
    assert (body["first_month"], body["last_month"], body["status"]) == ("2026-07", "2026-09", "active")
    assert body["created_by"] == finance.username
    assert body["lines"] == [
        {"initiative_code": books["loyalty"].code, "initiative_title": books["loyalty"].title, "true_up": "800.00"},
        {"initiative_code": books["erp"].code, "initiative_title": books["erp"].title, "true_up": "-300.01"},
    ]
    listed = api(finance).get("/api/settlements/").json()["results"]
    assert [row["reference"] for row in listed] == ["JE-1"] and "lines" not in listed[0]
    assert api(finance).get(f"/api/settlements/{settlement.pk}/").json() == body


def test_a_range_and_the_errors_as_field_messages(api, books, finance):
    client = api(finance)

    response = client.post("/api/settlements/", {"first_month": "2026-07", "last_month": "2026-10"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"reference": ["Enter the ERP reference of the settlement."]}

    response = client.post(
        "/api/settlements/", {"first_month": "2026-07", "last_month": "2026-10", "reference": "JE-1"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"months": ["October 2026 is not locked: finance locks a month before settling it."]}

    response = client.post("/api/settlements/", {"first_month": "2026-07", "reference": "JE-1"}, format="json")
    assert response.json() == {"last_month": ["Give the months to settle, or first_month and last_month."]}

    response = client.post("/api/settlements/", {"months": ["July"], "reference": "JE-1"}, format="json")
    assert response.json() == {"months": {"0": ["Give a month like 2026-03 (YYYY-MM)."]}}

    response = client.post(
        "/api/settlements/", {"first_month": "2026-07", "last_month": "2026-08", "reference": "JE-1"}, format="json"
    )
    assert response.status_code == 201 and response.json()["amount"] == "500.00"
    response = client.post("/api/settlements/", {"months": ["2026-08", "2026-09"], "reference": "JE-2"}, format="json")
    assert response.json() == {"months": ["August 2026 is already settled in JE-1."]}


def test_reverse_frees_the_months(api, books, finance):
    client = api(finance)
    settlement = client.post(
        "/api/settlements/", {"months": [f"{month:%Y-%m}" for month in Q3_2026], "reference": "JE-1"}, format="json"
    ).json()
    # (That a settled month cannot be unlocked is proven on the service: tests/split/test_settlements.py.)

    url = f"/api/settlements/{settlement['id']}/reverse/"
    assert client.post(url, {}, format="json").json() == {"reason": ["Say why the settlement is being reversed."]}
    response = client.post(url, {"reason": "Wrong period"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reversal_reason"], body["reversed_by"]) == ("reversed", "Wrong period", "finance")
    assert body["amount"] == "499.99" and len(body["lines"]) == 2  # nothing else changed
    assert not SettlementMonth.objects.exists()
    again = client.post(url, {"reason": "Again"}, format="json")
    assert again.status_code == 400 and "already reversed" in again.json()["non_field_errors"][0]

    response = client.post("/api/settlements/", {"months": ["2026-07"], "reference": "JE-1"}, format="json")
    assert response.status_code == 201  # settled again, under the freed reference


@pytest.mark.parametrize(
    ("who", "read", "write"),
    [("pm", 403, 403), ("executive_marketing", 200, 403), ("executive_it", 200, 403), ("finance", 200, 201)],
)
def test_finance_writes_executives_read(api, request, books, finance, who, read, write):
    settlement = api(finance).post("/api/settlements/", {"months": ["2026-07"], "reference": "JE-1"}, format="json")
    pk = settlement.json()["id"]
    client = api(request.getfixturevalue(who))

    assert client.get("/api/settlements/").status_code == read
    assert client.get(f"/api/settlements/{pk}/").status_code == read
    created = client.post("/api/settlements/", {"months": ["2026-08"], "reference": "JE-2"}, format="json")
    assert created.status_code == write
    reverse = client.post(f"/api/settlements/{pk}/reverse/", {"reason": "x"}, format="json")
    assert reverse.status_code == (200 if who == "finance" else 403)
    assert api(None).get("/api/settlements/").status_code == 401
    assert client.put(f"/api/settlements/{pk}/", {}, format="json").status_code in (403, 405)
    assert client.delete(f"/api/settlements/{pk}/").status_code in (403, 405)


def test_filters(api, books, finance):
    client = api(finance)
    first = client.post("/api/settlements/", {"months": ["2026-07"], "reference": "JE-1"}, format="json").json()
    client.post("/api/settlements/", {"months": ["2026-08"], "reference": "JE-2"}, format="json")
    client.post(f"/api/settlements/{first['id']}/reverse/", {"reason": "x"}, format="json")

    def references(**params):
        response = client.get("/api/settlements/", params)
        assert response.status_code == 200, response.json()
        return [row["reference"] for row in response.json()["results"]]

    assert references() == ["JE-2", "JE-1"]
    assert references(status="active") == ["JE-2"]
    assert references(status="reversed") == ["JE-1"]
    assert references(month="2026-07") == ["JE-1"]
    assert references(reference="je-2") == ["JE-2"]


def test_the_summary_splits_the_true_up_in_three(api, books, finance, executive_marketing):
    api(finance).post("/api/settlements/", {"months": ["2026-07", "2026-08"], "reference": "JE-1"}, format="json")

    response = api(executive_marketing).get("/api/split/summary/")
    (whole,) = response.json()["results"]
    assert whole["true_up"] == "529.99"
    assert (whole["true_up_settled"], whole["true_up_outstanding"], whole["true_up_accruing"]) == (
        "500.00",
        "-0.01",
        "30.00",
    )
    by_lane = api(executive_marketing).get("/api/split/summary/", {"group_by": "side"}).json()["results"]
    for row in by_lane:
        parts = D(row["true_up_settled"]) + D(row["true_up_outstanding"]) + D(row["true_up_accruing"])
        assert parts == D(row["true_up"])


def test_the_schema_documents_settlements(api, finance):
    schema = api(finance).get("/api/schema/").json()
    assert {"/api/settlements/", "/api/settlements/{id}/", "/api/settlements/{id}/reverse/"} <= set(schema["paths"])
    create = schema["paths"]["/api/settlements/"]["post"]
    assert "201" in create["responses"] and "400" in create["responses"]
    summary_row = schema["components"]["schemas"]["SplitSummaryRow"]["properties"]
    assert {"true_up_settled", "true_up_outstanding", "true_up_accruing"} <= set(summary_row)


def test_hostile_ranges_and_references_are_refused_by_name(api, books, finance):
    client = api(finance)

    response = client.post(
        "/api/settlements/", {"first_month": "1900-01", "last_month": "9999-12", "reference": "JE-1"}, format="json"
    )
    assert response.json() == {"last_month": ["A settlement covers at most 120 months."]}
    response = client.post("/api/settlements/", {"months": ["2026-07"], "reference": "JE\x001"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["reference"]
