"""End to end, as an integration script would: only documented operations, token authentication.

A PM files an initiative, both sponsors approve it, finance loads FX rates, a
budget and actuals (some in euros, one a credit), triggers a recompute, waits for
it and reads the split, whose figures are checked to the cent against §3.
"""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

# A real commit per request, as in production: the recompute is queued after its
# run is committed and runs inline (CELERY_TASK_ALWAYS_EAGER in the test settings).
pytestmark = pytest.mark.django_db(transaction=True)


class Script:
    """A tiny API client that refuses to call anything the schema does not document."""

    def __init__(self, username: str):
        self.client = APIClient()
        response = self.client.post("/api/auth/token/", {"username": username, "password": PASSWORD}, format="json")
        assert response.status_code == 200, response.content
        self.client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
        schema = self.client.get("/api/schema/").json()
        self.operations = [
            (method, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"))
            for path, item in schema["paths"].items()
            for method in item
        ]

    def call(self, method: str, path: str, data=None, *, expect: int = 200):
        bare = path.split("?")[0].replace("http://testserver", "")
        assert any(m == method and pattern.match(bare) for m, pattern in self.operations), f"undocumented {path}"
        response = getattr(self.client, method)(path, data, format="json")
        assert response.status_code == expect, response.content
        return response.json() if response.content else None


def test_file_approve_budget_spend_recompute_and_read_the_split():
    pm = UserFactory(username="pam", role="pm", side="marketing")
    UserFactory(username="cmo", role="executive", side="marketing")
    UserFactory(username="cio", role="executive", side="it")
    UserFactory(username="fin", role="finance", side="")
    as_pm, as_cmo, as_cio, as_finance = (Script(name) for name in ("pam", "cmo", "cio", "fin"))

    # 1. The PM files the initiative and submits it.
    initiative = as_pm.call(
        "post",
        "/api/initiatives/",
        {
            "title": "Loyalty app relaunch",
            "summary": "Grow repeat purchases by 10 %.",
            "marketing_sponsor": "cmo",
            "it_sponsor": "cio",
            "lane": "fast_lane",
            "start_date": "2026-02-01",
            "end_date": "2026-09-30",
            "marketing_share_pct": "60.00",
            "estimated_cost": "2500.00",
            "lane_assessment": {
                "customer_facing": "yes",
                "maturity": "experiment",
                "quick_time_to_market": "yes",
                "systems_of_record": "no",
                "regulated_data": "no",
                "lifespan": "short",
            },
        },
        expect=201,
    )
    code = initiative["code"]
    assert (initiative["status"], initiative["owner"]) == ("draft", pm.username)
    assert as_pm.call("post", f"/api/initiatives/{code}/submit/", {})["status"] == "submitted"

    # 2. Both sponsors approve (dual sign-off).
    assert as_cmo.call("post", f"/api/initiatives/{code}/approve/", {})["status"] == "submitted"
    assert as_cio.call("post", f"/api/initiatives/{code}/approve/", {"reason": "Go"})["status"] == "approved"

    # 3. Finance loads FX rates, the budget and the actuals (all or nothing).
    as_finance.call("post", "/api/fx-rates/", {"currency": "EUR", "month": "2026-03", "rate": "1.10"}, expect=201)
    as_finance.call("post", "/api/fx-rates/", {"currency": "EUR", "month": "2026-04", "rate": "1.20"}, expect=201)
    for month, category, amount in (
        ("2026-03", "labor", "1000.00"),
        ("2026-03", "software", "250.25"),
        ("2026-04", "labor", "1000.00"),
    ):
        body = {"initiative": code, "month": month, "category": category, "amount": amount}
        as_finance.call("post", "/api/budget-lines/", body, expect=201)
    actuals = [
        ("2026-03-10", "500.00", "EUR", "marketing", "ERP-1001"),
        ("2026-03-20", "333.33", "USD", "it", "ERP-1002"),
        ("2026-04-05", "100.05", "EUR", "it", "ERP-1003"),
        ("2026-04-28", "-10.00", "USD", "it", "ERP-1004"),  # a credit note
    ]
    expenses = [
        {
            "initiative": code,
            "incurred_on": day,
            "amount": amount,
            "currency": currency,
            "paid_by": paid_by,
            "category": "agency",
            "source": "erp",
            "external_ref": ref,
        }
        for day, amount, currency, paid_by, ref in actuals
    ]
    created = as_finance.call("post", "/api/expenses/", expenses, expect=201)
    assert [row["amount_reporting"] for row in created] == ["550.00", "333.33", "120.06", "-10.00"]
    # Sending the same ERP documents again changes nothing.
    again = as_finance.call("post", "/api/expenses/", expenses, expect=400)
    assert all("external_ref" in errors for errors in again)

    # 4. Finance triggers a recompute and waits for it.
    run = as_finance.call("post", "/api/recompute/", expect=202)
    for _ in range(50):
        run = as_finance.call("get", run["url"])
        if run["status"] not in ("queued", "running"):
            break
    assert (run["status"], run["row_count"]) == ("succeeded", 2)

    # 5. The split, to the cent (PRODUCT.md §3, share 60 %).
    rows = as_finance.call("get", f"/api/split/?initiative={code}&fiscal_year=FY2026")["results"]
    figures = [{key: value for key, value in row.items() if key not in ("initiative_title",)} for row in rows]
    assert figures == [
        {
            "fiscal_year": "FY2026",
            "month": "2026-03",
            "initiative_code": code,
            "lane": "fast_lane",
            "status": "approved",
            "marketing_share_pct": "60.00",
            "planned_total": "1250.25",
            "planned_marketing": "750.15",
            "planned_it": "500.10",
            "actual_total": "883.33",
            "actual_marketing": "530.00",  # 529.998 half-up
            "actual_it": "353.33",
            "paid_marketing": "550.00",
            "paid_it": "333.33",
            "true_up": "-20.00",  # IT owes marketing
            "variance": "366.92",
        },
        {
            "fiscal_year": "FY2026",
            "month": "2026-04",
            "initiative_code": code,
            "lane": "fast_lane",
            "status": "approved",
            "marketing_share_pct": "60.00",
            "planned_total": "1000.00",
            "planned_marketing": "600.00",
            "planned_it": "400.00",
            "actual_total": "110.06",
            "actual_marketing": "66.04",  # 66.036 half-up
            "actual_it": "44.02",
            "paid_marketing": "0.00",
            "paid_it": "110.06",
            "true_up": "66.04",  # marketing owes IT
            "variance": "889.94",
        },
    ]
    summary = as_finance.call("get", "/api/split/summary/?group_by=quarter")
    assert summary["as_of"] == run["finished_at"]
    assert [(q["fiscal_year"], q["quarter"], q["actual_total"], q["true_up"]) for q in summary["results"]] == [
        ("FY2026", 1, "883.33", "-20.00"),
        ("FY2026", 2, "110.06", "66.04"),
    ]
    # The PM may not read the split, but does see their initiative's actuals.
    assert as_pm.call("get", "/api/expenses/")["results"][0]["external_ref"] == "ERP-1004"
    as_pm.call("get", "/api/split/", expect=403)
