"""Budget lines, expenses, FX rates and locks over the API: the finance services' rules, as JSON."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from budgets.models import BudgetLine, Expense, FxRate, PeriodLock
from tests.factories import BudgetLineFactory, ExpenseFactory, FxRateFactory, InitiativeFactory, PeriodLockFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def initiative(pm):
    return InitiativeFactory(owner=pm, status="approved")


def expense_body(initiative, **changes):
    return {
        "initiative": initiative.code,
        "incurred_on": "2026-03-15",
        "amount": "1250.50",
        "currency": "EUR",
        "paid_by": "marketing",
        "category": "agency",
        "vendor": "Studio Nord",
        **changes,
    }


# --- budget lines -----------------------------------------------------------------------------


def test_finance_sets_a_budget_line_then_changes_it(api, finance, initiative):
    body = {"initiative": initiative.code, "month": "2026-03", "category": "labor", "amount": "1000.5"}

    created = api(finance).post("/api/budget-lines/", body, format="json")
    changed = api(finance).post("/api/budget-lines/", {**body, "amount": "1200.00"}, format="json")

    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"],
        "initiative": initiative.code,
        "month": "2026-03",
        "category": "labor",
        "amount": "1000.50",
    }
    assert changed.status_code == 200
    assert changed.json()["id"] == created.json()["id"]
    line = BudgetLine.objects.get()
    assert (line.month, line.amount) == (dt.date(2026, 3, 1), Decimal("1200.00"))
    assert line.history.first().history_user == finance


def test_a_locked_month_refuses_budget_changes_and_says_which(api, finance, initiative):
    line = BudgetLineFactory(initiative=initiative, month=dt.date(2026, 3, 1))
    PeriodLockFactory(month=dt.date(2026, 3, 1))
    client = api(finance)

    responses = [
        client.post(
            "/api/budget-lines/",
            {"initiative": initiative.code, "month": "2026-03", "category": "media", "amount": "5"},
            format="json",
        ),
        client.patch(f"/api/budget-lines/{line.pk}/", {"amount": "1.00"}, format="json"),
        client.patch(f"/api/budget-lines/{line.pk}/", {"month": "2026-04"}, format="json"),
        client.delete(f"/api/budget-lines/{line.pk}/"),
    ]

    for response in responses:
        assert response.status_code == 400
        assert response.json()["non_field_errors"][0].startswith("March 2026 is locked")
    assert list(BudgetLine.objects.values_list("month", "amount")) == [(dt.date(2026, 3, 1), Decimal("1000.00"))]


def test_budget_amounts_are_checked_by_the_amount_rule_with_every_other_field(api, finance, initiative):
    body = {"initiative": initiative.code, "month": "2026-13", "category": "labor", "amount": "-1"}

    response = api(finance).post("/api/budget-lines/", body, format="json")

    assert response.status_code == 400  # every bad field at once, the amount in the rule's words
    assert response.json() == {
        "month": ["Give a month like 2026-03 (YYYY-MM)."],
        "amount": ["A budget amount cannot be negative."],
    }
    response = api(finance).post("/api/budget-lines/", {**body, "month": "2026-03"}, format="json")
    assert response.json() == {"amount": ["A budget amount cannot be negative."]}


def test_a_pm_reads_only_their_own_initiatives_budgets(api, pm, other_pm, initiative):
    mine = BudgetLineFactory(initiative=initiative)
    theirs = BudgetLineFactory(initiative=InitiativeFactory(owner=other_pm, status="approved"))
    client = api(pm)

    assert [row["id"] for row in client.get("/api/budget-lines/").json()["results"]] == [mine.pk]
    assert client.get(f"/api/budget-lines/{theirs.pk}/").status_code == 404
    assert client.get("/api/budget-lines/", {"initiative": theirs.initiative.code}).json()["results"] == []


def test_budget_lines_filter_by_fiscal_year_and_initiative(api, executive_it, initiative):
    BudgetLineFactory(initiative=initiative, month=dt.date(2025, 12, 1))
    wanted = BudgetLineFactory(initiative=initiative, month=dt.date(2026, 1, 1))
    BudgetLineFactory(month=dt.date(2026, 1, 1))

    response = api(executive_it).get("/api/budget-lines/", {"fiscal_year": "FY2026", "initiative": initiative.code})

    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]
    bad = api(executive_it).get("/api/budget-lines/", {"fiscal_year": "next year"})
    assert bad.status_code == 400
    assert bad.json() == {"fiscal_year": ["“next year” is not a fiscal year like FY2027."]}


# --- expenses ----------------------------------------------------------------------------------------


def test_an_expense_is_converted_at_its_months_rate(api, finance, initiative):
    FxRateFactory(currency="EUR", month=dt.date(2026, 3, 1), rate=Decimal("1.08500000"))

    response = api(finance).post("/api/expenses/", expense_body(initiative), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["amount"], body["currency"], body["amount_reporting"]) == ("1250.50", "EUR", "1356.79")
    assert body["source"] == "api"
    assert Expense.objects.get().amount_reporting == Decimal("1356.79")  # 1356.7925 half-up


def test_an_expense_without_a_rate_is_refused_with_a_clear_message(api, finance, initiative):
    response = api(finance).post("/api/expenses/", expense_body(initiative, currency="GBP"), format="json")

    assert response.status_code == 400
    assert response.json() == {
        "currency": ["No FX rate for GBP in March 2026: add it under FX rates first."],
    }


def test_expense_rules_come_from_the_service(api, finance, initiative):
    response = api(finance).post(
        "/api/expenses/", expense_body(initiative, amount="0", currency="XYZ", paid_by="both"), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "paid_by": ['"both" is not a valid choice.'],
        "amount": ["An expense amount cannot be zero (use a negative amount for a credit)."],
        "currency": ["'XYZ' is not an ISO 4217 currency code."],
    }

    response = api(finance).post("/api/expenses/", expense_body(initiative, amount="0", currency="XYZ"), format="json")
    assert response.json() == {
        "amount": ["An expense amount cannot be zero (use a negative amount for a credit)."],
        "currency": ["'XYZ' is not an ISO 4217 currency code."],
    }


def test_codes_and_choices_are_read_in_any_case_and_by_label(api, finance, initiative):
    FxRateFactory(currency="EUR", month=dt.date(2026, 3, 1), rate=Decimal("1.1"))
    body = {**expense_body(initiative, paid_by="IT", category="Software"), "initiative": initiative.code.lower()}

    response = api(finance).post("/api/expenses/", body, format="json")

    assert response.status_code == 201, response.json()
    assert [response.json()[name] for name in ("initiative", "paid_by", "category")] == [
        initiative.code,
        "it",
        "software",
    ]
    line = {"initiative": f" {initiative.code.lower()} ", "month": "2026-03", "category": "LABOR", "amount": "5.00"}
    response = api(finance).post("/api/budget-lines/", line, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["category"] == "labor"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("vendor", "Studio\x00Nord", "Null characters are not allowed."),
        ("description", "\ud800", "Surrogate characters are not allowed: U+D800."),
        ("amount", "9" * 1_000_000, "String value too large."),
    ],
)
def test_nul_surrogates_and_huge_amounts_are_refused_on_their_field(api, finance, initiative, field, value, message):
    body = json.dumps(expense_body(initiative, **{field: value}))  # ASCII: a surrogate travels as \ud800
    response = api(finance).post("/api/expenses/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {field: [message]}
    assert not Expense.objects.exists()


def test_a_list_of_expenses_is_all_or_nothing(api, finance, initiative):
    FxRateFactory(currency="EUR", month=dt.date(2026, 3, 1))
    PeriodLockFactory(month=dt.date(2026, 2, 1))
    good = expense_body(initiative, external_ref="ERP-1", source="erp")
    items = [
        good,
        expense_body(initiative, incurred_on="2026-02-10"),
        expense_body(initiative, external_ref="ERP-1", source="erp"),
        expense_body(initiative, currency="USD", amount="-20.00"),
    ]

    response = api(finance).post("/api/expenses/", items, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert errors[0] == {} and errors[3] == {}
    assert errors[1]["non_field_errors"][0].startswith("February 2026 is locked")
    assert errors[2] == {"external_ref": ["An expense from erp with reference ERP-1 already exists."]}
    assert not Expense.objects.exists()

    response = api(finance).post("/api/expenses/", [items[0], items[3]], format="json")

    assert response.status_code == 201
    assert [row["amount_reporting"] for row in response.json()] == ["1375.55", "-20.00"]
    assert Expense.objects.count() == 2


def test_a_pm_cannot_record_expenses_but_reads_their_own(api, pm, other_pm, initiative):
    mine = ExpenseFactory(initiative=initiative)
    ExpenseFactory(initiative=InitiativeFactory(owner=other_pm, status="approved"))

    response = api(pm).post("/api/expenses/", expense_body(initiative, currency="USD"), format="json")

    assert response.status_code == 403
    assert Expense.objects.count() == 2
    assert [row["id"] for row in api(pm).get("/api/expenses/").json()["results"]] == [mine.pk]


def test_changing_an_expense_converts_it_again(api, finance, initiative):
    FxRateFactory(currency="EUR", month=dt.date(2026, 1, 1), rate=Decimal("2"))
    expense = ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 1, 5), amount=Decimal("10.00"))

    response = api(finance).patch(f"/api/expenses/{expense.pk}/", {"currency": "eur"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["currency"], response.json()["amount_reporting"]) == ("EUR", "20.00")
    assert api(finance).delete(f"/api/expenses/{expense.pk}/").status_code == 204
    assert not Expense.objects.exists()


def test_expenses_page_by_cursor_without_gaps_or_repeats(api, finance, initiative, django_assert_num_queries):
    # Many expenses on the same day: the cursor must not rely on the date alone.
    for day in (1, 2, 2, 2, 2, 3, 3, 5, 5, 5, 5):
        ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 1, day))
    expected = list(Expense.objects.order_by("-incurred_on", "-id").values_list("id", flat=True))
    client = api(finance)

    seen, url, pages = [], "/api/expenses/?page_size=3", []
    while url:
        with django_assert_num_queries(3):  # the token, the caller's roles, the page: a cursor needs no count
            body = client.get(url).json()
        pages.append(body)
        seen += [row["id"] for row in body["results"]]
        url = body["next"]

    assert seen == expected
    assert [len(page["results"]) for page in pages] == [3, 3, 3, 2]
    assert pages[0]["previous"] is None
    back = client.get(pages[2]["previous"]).json()
    assert [row["id"] for row in back["results"]] == expected[3:6]
    assert client.get(back["previous"]).json()["previous"] is None
    assert client.get("/api/expenses/", {"cursor": "not-a-cursor"}).json() == {
        "cursor": ["This cursor is not valid: start again from the first page."]
    }


# --- FX rates and locks --------------------------------------------------------------------------------


def test_setting_a_rate_reconverts_that_months_expenses(api, finance, initiative):
    FxRateFactory(currency="EUR", month=dt.date(2026, 1, 1), rate=Decimal("1"))
    expense = ExpenseFactory(
        initiative=initiative, incurred_on=dt.date(2026, 1, 9), amount=Decimal("100"), currency="EUR"
    )
    body = {"currency": "EUR", "month": "2026-01", "rate": "1.25"}

    response = api(finance).post("/api/fx-rates/", body, format="json")

    assert response.status_code == 200
    assert response.json()["rate"] == "1.25000000"
    expense.refresh_from_db()
    assert expense.amount_reporting == Decimal("125.00")
    created = api(finance).post("/api/fx-rates/", {**body, "currency": "GBP"}, format="json")
    assert created.status_code == 201
    rate_id = created.json()["id"]
    assert api(finance).patch(f"/api/fx-rates/{rate_id}/", {"rate": "1.3"}, format="json").json()["rate"] == (
        "1.30000000"
    )
    assert api(finance).delete(f"/api/fx-rates/{rate_id}/").status_code == 204
    in_use = FxRate.objects.get(currency="EUR")
    response = api(finance).delete(f"/api/fx-rates/{in_use.pk}/")
    assert response.status_code == 400
    assert "converted with this rate" in response.json()["non_field_errors"][0]


def test_the_reporting_currency_has_no_rate(api, finance):
    response = api(finance).post("/api/fx-rates/", {"currency": "USD", "month": "2026-01", "rate": "2"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"currency": ["USD is the reporting currency: its rate is always 1."]}


def test_finance_locks_and_unlocks_a_month(api, finance, initiative):
    client = api(finance)

    response = client.post("/api/locks/", {"month": "2026-03", "reason": "March close"}, format="json")

    assert response.status_code == 201
    assert response.json()["locked_by"] == finance.username
    lock_id = response.json()["id"]
    again = client.post("/api/locks/", {"month": "2026-03", "reason": "Twice"}, format="json")
    assert again.json() == {"month": ["March 2026 is already locked."]}
    blocked = client.post(
        "/api/budget-lines/",
        {"initiative": initiative.code, "month": "2026-03", "category": "labor", "amount": "1"},
        format="json",
    )
    assert blocked.status_code == 400

    assert client.post(f"/api/locks/{lock_id}/unlock/", {"reason": ""}, format="json").json() == {
        "reason": ["Say why the month is being reopened."]
    }
    assert client.post(f"/api/locks/{lock_id}/unlock/", {"reason": "Late invoice"}, format="json").status_code == 204
    assert not PeriodLock.objects.exists()
    assert client.get("/api/locks/").json()["count"] == 0


@pytest.mark.parametrize(("role", "reads"), [("pm", 403), ("executive_marketing", 200)])
def test_only_finance_manages_rates_and_locks(api, role, reads, request):
    """Executives read FX rates and locks (§1: they see everything); only finance writes them."""
    user = request.getfixturevalue(role)
    client = api(user)

    assert client.post("/api/locks/", {"month": "2026-03", "reason": "x"}, format="json").status_code == 403
    assert client.get("/api/locks/").status_code == reads
    assert client.get("/api/fx-rates/").status_code == reads
    assert (
        client.post("/api/fx-rates/", {"currency": "EUR", "month": "2026-03", "rate": "1"}, format="json").status_code
        == 403
    )
    assert not PeriodLock.objects.exists() and not FxRate.objects.exists()


def _month(n: int) -> dt.date:
    return dt.date(2000 + n // 12, n % 12 + 1, 1)


@pytest.mark.parametrize(
    ("url", "add", "queries"),
    [
        ("/api/budget-lines/", lambda initiative, n: BudgetLineFactory(initiative=initiative, month=_month(n)), 4),
        ("/api/expenses/", lambda initiative, n: ExpenseFactory(initiative=initiative, incurred_on=_month(n)), 3),
        ("/api/fx-rates/", lambda initiative, n: FxRateFactory(month=_month(n)), 4),
        ("/api/locks/", lambda initiative, n: PeriodLockFactory(month=_month(n)), 4),
    ],
)
def test_finance_lists_run_a_fixed_number_of_queries_whatever_the_rows(
    api, finance, initiative, django_assert_num_queries, url, add, queries
):
    """The token and the caller's roles, then the page (and its count where pages are numbered; the
    expenses page by cursor)."""
    for n in range(2):
        add(initiative, n)
    client = api(finance)
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200
    for n in range(2, 120):
        add(initiative, n)
    with django_assert_num_queries(queries):
        assert len(client.get(url, {"page_size": 100}).json()["results"]) == 100
