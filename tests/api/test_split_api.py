"""`/api/split/`, `/api/split/summary/`, `/api/recompute/`: the latest recompute's figures, as the export has them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from kombu.exceptions import OperationalError as BrokerError

from split.arithmetic import SPLIT_COLUMNS
from split.models import SplitRun
from split.services import split_recompute
from split.tasks import split_recompute_task
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(pm, other_pm):
    """Two initiatives of a marketing PM and one of an IT PM, over January–April 2026."""
    loyalty = InitiativeFactory(owner=pm, lane="fast_lane", status="in_progress", marketing_share_pct=Decimal("60"))
    erp = InitiativeFactory(owner=other_pm, lane="core_stack", status="approved", marketing_share_pct=Decimal("25"))
    chatbot = InitiativeFactory(owner=pm, lane="fast_lane", status="approved", marketing_share_pct=Decimal("50"))
    BudgetLineFactory(initiative=loyalty, month=dt.date(2026, 1, 1), amount=Decimal("1000.00"))
    ExpenseFactory(initiative=loyalty, incurred_on=dt.date(2026, 1, 20), amount=Decimal("333.33"), paid_by="it")
    BudgetLineFactory(initiative=erp, month=dt.date(2026, 1, 1), amount=Decimal("400.00"))
    ExpenseFactory(initiative=erp, incurred_on=dt.date(2026, 4, 2), amount=Decimal("0.01"), paid_by="marketing")
    ExpenseFactory(initiative=chatbot, incurred_on=dt.date(2026, 2, 3), amount=Decimal("99.99"), paid_by="marketing")
    split_recompute(trigger="command")
    return {"loyalty": loyalty, "erp": erp, "chatbot": chatbot}


def test_rows_have_the_exports_columns_in_its_order(api, finance, portfolio):
    response = api(finance).get("/api/split/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [list(row) for row in rows] == [list(SPLIT_COLUMNS)] * 4
    loyalty = portfolio["loyalty"]
    assert rows[0] == {
        "fiscal_year": "FY2026",
        "month": "2026-01",
        "initiative_code": loyalty.code,
        "initiative_title": loyalty.title,
        "lane": "fast_lane",
        "status": "in_progress",
        "marketing_share_pct": "60.00",
        "planned_total": "1000.00",
        "planned_marketing": "600.00",
        "planned_it": "400.00",
        "actual_total": "333.33",
        "actual_marketing": "200.00",
        "actual_it": "133.33",
        "paid_marketing": "0.00",
        "paid_it": "333.33",
        "true_up": "200.00",
        "variance": "666.67",
    }
    assert [(row["month"], row["initiative_code"]) for row in rows] == [
        ("2026-01", loyalty.code),
        ("2026-01", portfolio["erp"].code),
        ("2026-02", portfolio["chatbot"].code),
        ("2026-04", portfolio["erp"].code),
    ]


def test_rows_filter_like_the_export(api, executive_marketing, portfolio):
    client = api(executive_marketing)

    def codes(**params):
        response = client.get("/api/split/", params)
        assert response.status_code == 200, response.json()
        return [(row["month"], row["initiative_code"]) for row in response.json()["results"]]

    erp = portfolio["erp"].code
    assert codes(fiscal_year="FY2026", quarter="Q2") == [("2026-04", erp)]
    assert codes(lane="core_stack") == [("2026-01", erp), ("2026-04", erp)]
    assert codes(status="in_progress", quarter="1") == [("2026-01", portfolio["loyalty"].code)]
    assert codes(initiative=erp.lower()) == [("2026-01", erp), ("2026-04", erp)]
    assert codes(fiscal_year="2027") == []
    response = client.get("/api/split/", {"quarter": "Q5", "lane": "slow"})
    assert response.status_code == 400
    assert response.json() == {
        "quarter": ["“Q5” is not a quarter: use 1–4 or Q1–Q4."],
        "lane": ["“slow” is not a lane: use one of fast_lane, core_stack."],
    }


def test_rows_page_by_cursor_in_export_order(api, finance, portfolio):
    client = api(finance)
    first = client.get("/api/split/", {"page_size": 3}).json()
    second = client.get(first["next"]).json()

    assert len(first["results"]) == 3 and len(second["results"]) == 1
    assert second["next"] is None
    everything = client.get("/api/split/").json()["results"]
    assert first["results"] + second["results"] == everything


def test_pms_do_not_see_the_split(api, pm, portfolio):
    assert api(pm).get("/api/split/").status_code == 403
    assert api(pm).get("/api/split/summary/").status_code == 403


def test_summary_by_lane_adds_up_the_rows(api, finance, portfolio):
    response = api(finance).get("/api/split/summary/", {"group_by": "lane"})

    assert response.status_code == 200
    body = response.json()
    assert body["group_by"] == "lane"
    assert body["as_of"] == SplitRun.objects.get().finished_at.isoformat().replace("+00:00", "Z")
    by_lane = {row["lane"]: row for row in body["results"]}
    assert by_lane["core_stack"]["rows"] == 2
    assert by_lane["core_stack"]["actual_total"] == "0.01"
    assert by_lane["core_stack"]["actual_marketing"] == "0.00"  # 0.0025 rounds half-up to 0.00
    assert by_lane["fast_lane"]["planned_total"] == "1000.00"
    assert by_lane["fast_lane"]["actual_total"] == "433.32"
    assert by_lane["fast_lane"]["actual_marketing"] == "250.00"  # 200.00 + 50.00 (49.995 → 50.00)
    assert by_lane["fast_lane"]["marketing_share_of_actual"] == "57.69"
    for row in body["results"]:
        for kind in ("planned", "actual"):
            total = Decimal(row[f"{kind}_marketing"]) + Decimal(row[f"{kind}_it"])
            assert total == Decimal(row[f"{kind}_total"])


def test_summary_by_side_groups_on_the_owners_side(api, finance, portfolio):
    body = api(finance).get("/api/split/summary/", {"group_by": "side"}).json()

    by_side = {row["side"]: row for row in body["results"]}
    assert set(by_side) == {"marketing", "it"}
    assert (by_side["marketing"]["rows"], by_side["marketing"]["actual_total"]) == (2, "433.32")
    assert (by_side["it"]["rows"], by_side["it"]["planned_total"]) == (2, "400.00")


def test_summary_by_quarter_year_and_for_the_whole_portfolio(api, finance, portfolio):
    client = api(finance)

    quarters = client.get("/api/split/summary/", {"group_by": "quarter"}).json()["results"]
    whole = client.get("/api/split/summary/").json()

    assert [(row["fiscal_year"], row["quarter"], row["rows"]) for row in quarters] == [
        ("FY2026", 1, 3),
        ("FY2026", 2, 1),
    ]
    assert whole["group_by"] is None
    [total] = whole["results"]
    assert (total["rows"], total["planned_total"], total["actual_total"]) == (4, "1400.00", "433.33")
    years = client.get("/api/split/summary/", {"group_by": "fiscal_year", "lane": "core_stack"}).json()["results"]
    assert [(row["fiscal_year"], row["actual_total"]) for row in years] == [("FY2026", "0.01")]
    bad = client.get("/api/split/summary/", {"group_by": "colour"})
    assert bad.status_code == 400
    assert list(bad.json()) == ["group_by"]


def test_summaries_are_computed_once_per_run_and_filters_and_a_new_run_shows_at_once(api, finance, portfolio):
    client = api(finance)

    def split_reads(params: dict) -> tuple[dict, int]:
        """The response, and how many of its queries read the split table (read before the next request)."""
        with CaptureQueriesContext(connection) as queries:
            body = client.get("/api/split/summary/", params).json()
        return body, sum("budgets_splitrow" in q["sql"] for q in queries.captured_queries)

    first, first_reads = split_reads({"group_by": "lane", "lane": "fast_lane"})
    again, repeat_reads = split_reads({"group_by": "lane", "lane": "fast_lane"})
    core, other_filter_reads = split_reads({"group_by": "lane", "lane": "core_stack"})
    ExpenseFactory(initiative=portfolio["chatbot"], incurred_on=dt.date(2026, 2, 9), amount=Decimal("0.01"))
    split_recompute(trigger="command")
    after, after_reads = split_reads({"group_by": "lane", "lane": "fast_lane"})

    assert (first_reads, repeat_reads, other_filter_reads, after_reads) == (1, 0, 1, 1)
    assert again["results"] == first["results"]
    assert [row["lane"] for row in core["results"]] == ["core_stack"]
    assert after["results"][0]["actual_total"] == "433.33"  # 433.32 + 0.01: the new run, not the cached one


def test_finance_queues_a_recompute_and_reads_its_state(api, finance, portfolio, django_capture_on_commit_callbacks):
    BudgetLineFactory(initiative=portfolio["chatbot"], month=dt.date(2026, 6, 1), amount=Decimal("10.00"))
    client = api(finance)

    with django_capture_on_commit_callbacks(execute=True):  # the task runs inline once the run is committed
        response = client.post("/api/recompute/")

    assert response.status_code == 202
    run_id = response.json()["id"]
    assert response["Location"].endswith(f"/api/recompute/{run_id}/")
    assert type(response.headers["Location"]) is str  # WSGI servers refuse str subclasses (DRF's Hyperlink)
    state = client.get(f"/api/recompute/{run_id}/").json()
    assert (state["status"], state["trigger"], state["requested_by"], state["row_count"]) == (
        "succeeded",
        "api",
        finance.username,
        5,
    )
    assert client.get("/api/split/", {"initiative": portfolio["chatbot"].code}).json()["results"][-1]["month"] == (
        "2026-06"
    )
    assert client.get("/api/recompute/").json()["results"][0]["id"] == run_id  # newest first


@pytest.mark.django_db(transaction=True)  # a real commit: the task is sent inside the request, as in production
def test_a_down_broker_is_a_503_with_a_message(api, finance, monkeypatch):
    def broker_down(**options):
        raise BrokerError("Connection refused.")

    monkeypatch.setattr(split_recompute_task, "apply_async", broker_down)

    response = api(finance).post("/api/recompute/")

    assert response.status_code == 503
    assert "queue is unavailable" in response.json()["detail"]
    assert SplitRun.objects.get().status == "failed"


@pytest.mark.parametrize("role", ["pm", "executive_it"])
def test_only_finance_starts_a_recompute(api, role, request):
    user = request.getfixturevalue(role)

    assert api(user).post("/api/recompute/").status_code == 403
    assert not SplitRun.objects.exists()


def test_an_unknown_run_is_not_found(api, finance):
    assert api(finance).get("/api/recompute/0b7c1c5e-0000-4000-8000-000000000000/").status_code == 404
    assert api(finance).get("/api/recompute/------------------------------------/").status_code == 404


def test_a_user_without_a_role_sees_nothing(api):
    nobody = UserFactory(username="contractor", role="guest", side="")

    assert api(nobody).get("/api/split/").status_code == 403
    assert api(nobody).get("/api/initiatives/").json()["results"] == []
    assert api(nobody).get("/api/expenses/").json()["results"] == []


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        ("/api/split/?fiscal_year=FY2026", 3),  # the token, the caller's roles, the page (a cursor: no count)
        # … the latest run once (the cache key and as_of are of the same run), the ledger version (closed
        # months and settlements: the true-up's states), the sums
        ("/api/split/summary/?group_by=lane&fiscal_year=FY2026", 5),
        ("/api/split/summary/?group_by=side", 5),
        ("/api/recompute/", 4),  # … the count, the page
    ],
)
def test_split_lists_run_a_fixed_number_of_queries_whatever_the_rows(
    api, finance, portfolio, django_assert_num_queries, url, queries
):
    client = api(finance)
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200
    for number in range(40):
        initiative = InitiativeFactory(lane=("fast_lane", "core_stack")[number % 2], status="approved")
        BudgetLineFactory(initiative=initiative, month=dt.date(2026, number % 12 + 1, 1))
        ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, number % 12 + 1, 5))
        if number % 10 == 0:
            split_recompute(trigger="command")  # more runs too
    split_recompute(trigger="command")
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200
