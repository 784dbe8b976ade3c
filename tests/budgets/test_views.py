"""Finance pages: who may open them (a table), the expense list's filters, totals and bounded queries."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from budgets.models import Expense, FxRate, PeriodLock
from budgets.months import MONTH_CHOICES_LIMIT, month_choices
from tests.budgets.finance_helpers import admin_user, eur_rate, initiative_with_code
from tests.factories import ExpenseFactory, FxRateFactory, InitiativeFactory, PeriodLockFactory

pytestmark = pytest.mark.django_db

FINANCE_ONLY = [
    "budgets:home",
    "budgets:budget_index",
    "budgets:expense_list",
    "budgets:expense_create",
    "budgets:import_upload",
]
# Executives (and admins) read FX rates and locks (§1: they see everything); finance alone writes them.
READ_BY_ALL_WHO_SEE_EVERYTHING = ["budgets:fx_rate_list", "budgets:lock_list"]


@pytest.mark.parametrize("url_name", FINANCE_ONLY)
@pytest.mark.parametrize(
    "role, status", [("finance", 200), ("pm", 403), ("executive_marketing", 403), ("executive_it", 403)]
)
def test_finance_pages_are_for_finance_only(client, request, url_name, role, status):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse(url_name)).status_code == status


@pytest.mark.parametrize("url_name", READ_BY_ALL_WHO_SEE_EVERYTHING)
@pytest.mark.parametrize(
    "role, status",
    [("finance", 200), ("pm", 403), ("executive_marketing", 200), ("executive_it", 200), ("admin", 200)],
)
def test_fx_rates_and_locks_are_read_by_all_who_see_everything(client, request, url_name, role, status):
    user = admin_user() if role == "admin" else request.getfixturevalue(role)
    client.force_login(user)
    assert client.get(reverse(url_name)).status_code == status


@pytest.mark.parametrize("role, status", [("finance", 200), ("pm", 403), ("executive_marketing", 403), ("admin", 200)])
def test_audit_log_is_for_finance_and_admins(client, request, role, status):
    user = admin_user() if role == "admin" else request.getfixturevalue(role)
    client.force_login(user)
    assert client.get(reverse("budgets:audit_log")).status_code == status


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("budgets:expense_list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_finance_nav_is_shown_only_to_finance(client, finance, pm):
    client.force_login(finance)
    assert reverse("budgets:expense_list") in client.get(reverse("home")).content.decode()
    client.force_login(pm)
    assert reverse("budgets:expense_list") not in client.get(reverse("home")).content.decode()


# --- expense list -------------------------------------------------------------------------------


@pytest.fixture
def expenses(db):
    loyalty = initiative_with_code("INI-0001")
    other = initiative_with_code("INI-0002")
    ExpenseFactory(initiative=loyalty, incurred_on=dt.date(2026, 3, 2), amount=Decimal("100.00"), paid_by="marketing")
    ExpenseFactory(initiative=loyalty, incurred_on=dt.date(2026, 3, 31), amount=Decimal("50.00"), paid_by="it")
    ExpenseFactory(initiative=loyalty, incurred_on=dt.date(2026, 4, 1), amount=Decimal("7.00"), paid_by="it")
    ExpenseFactory(
        initiative=other, incurred_on=dt.date(2026, 3, 9), amount=Decimal("1.00"), source="erp", external_ref="E1"
    )
    return loyalty


@pytest.mark.parametrize(
    "query, count, total",
    [
        ({}, 4, "158.00"),
        ({"initiative": "ini-0001"}, 3, "157.00"),
        ({"month": "2026-03"}, 3, "151.00"),
        ({"paid_by": "marketing"}, 1, "100.00"),
        ({"source": "erp"}, 1, "1.00"),
        ({"currency": "EUR"}, 0, "0"),
        ({"category": "software", "month": "2026-04"}, 1, "7.00"),
    ],
)
def test_expense_filters_and_totals(client, finance, expenses, query, count, total):
    client.force_login(finance)
    response = client.get(reverse("budgets:expense_list"), query)
    assert response.status_code == 200
    assert response.context["totals"]["count"] == count
    assert response.context["totals"]["total"] == Decimal(total)
    assert len(response.context["expenses"]) == count


def _month_options(page: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of each option of the month filter, in order."""
    select = re.search(r'<select name="month"[^>]*>(.*?)</select>', page, re.S)
    assert select, "the month filter is a select"
    return [
        (value, label.strip(), "selected" in attributes)
        for value, attributes, label in re.findall(r'<option value="([^"]*)"([^>]*)>([^<]*)</option>', select.group(1))
    ]


def test_the_month_filter_reads_as_months_with_an_any_month_choice(client, finance, expenses):
    # Issue 14: the browser's month input rendered as "--------- ----" until a month was picked.
    client.force_login(finance)
    page = client.get(reverse("budgets:expense_list")).content.decode()
    assert _month_options(page) == [
        ("", "Any month", True),
        ("2026-04", "April 2026", False),
        ("2026-03", "March 2026", False),
    ]
    assert '<optgroup label="2026">' in page
    assert 'type="month"' not in page

    filtered = client.get(reverse("budgets:expense_list"), {"month": "2026-03"}).content.decode()
    assert ("2026-03", "March 2026", True) in _month_options(filtered)
    # A month with no expenses, from a link or a bookmark, still shows as chosen.
    empty = client.get(reverse("budgets:expense_list"), {"month": "2019-05"})
    assert empty.context["totals"]["count"] == 0
    assert ("2019-05", "May 2019", True) in _month_options(empty.content.decode())


def test_the_fx_rate_month_filter_offers_the_months_with_rates(client, finance):
    FxRateFactory(currency="EUR", month=dt.date(2025, 12, 1), rate=Decimal("1.1"))
    FxRateFactory(currency="EUR", month=dt.date(2026, 2, 1), rate=Decimal("1.2"))
    client.force_login(finance)
    page = client.get(reverse("budgets:fx_rate_list")).content.decode()
    assert _month_options(page) == [
        ("", "Any month", True),
        ("2026-02", "February 2026", False),
        ("2026-01", "January 2026", False),
        ("2025-12", "December 2025", False),
    ]


def test_month_choices_are_bounded_and_work_without_records():
    assert month_choices(None, None) == [("", "Any month")]
    assert month_choices(None, None, selected="2026-03") == [("", "Any month"), ("2026", [("2026-03", "March 2026")])]
    assert month_choices(None, None, selected="junk") == [("", "Any month")]
    many = month_choices(dt.date(1990, 1, 5), dt.date(2026, 3, 31))
    offered = [value for _, options in many[1:] for value, _ in options]
    assert len(offered) == MONTH_CHOICES_LIMIT and offered[0] == "2026-03"


def test_totals_split_by_payer(client, finance, expenses):
    client.force_login(finance)
    totals = client.get(reverse("budgets:expense_list"), {"initiative": "INI-0001"}).context["totals"]
    assert (totals["marketing"], totals["it"]) == (Decimal("100.00"), Decimal("57.00"))


def _expenses(initiative, count: int) -> None:
    Expense.objects.bulk_create(
        [
            Expense(
                initiative=initiative,
                incurred_on=dt.date(2026, 1, 1) + dt.timedelta(days=n % 200),
                amount=Decimal("1.00"),
                currency="USD",
                amount_reporting=Decimal("1.00"),
                paid_by="it",
                category="software",
            )
            for n in range(count)
        ]
    )


def test_expense_list_runs_a_fixed_number_of_queries_whatever_the_rows(client, finance, django_assert_num_queries):
    initiative = InitiativeFactory()
    _expenses(initiative, 120)
    client.force_login(finance)
    # session, user, roles, count and totals, the page, locks, profile, the month filter's first and last month
    with django_assert_num_queries(8):
        client.get(reverse("budgets:expense_list"), {"page": 2})
    _expenses(initiative, 180)
    with django_assert_num_queries(8):
        response = client.get(reverse("budgets:expense_list"), {"page": 3})
    assert len(response.context["expenses"]) == 50
    assert response.context["pages"] == 6


@pytest.mark.parametrize(
    ("url_name", "more", "queries"),
    [
        ("budgets:fx_rate_list", lambda n: FxRateFactory(month=dt.date(2000 + n // 12, n % 12 + 1, 1)), 8),
        ("budgets:lock_list", lambda n: PeriodLockFactory(month=dt.date(2000 + n // 12, n % 12 + 1, 1)), 6),
    ],
)
def test_fx_rate_and_lock_lists_run_a_fixed_number_of_queries_whatever_the_rows(
    client, finance, django_assert_num_queries, url_name, more, queries
):
    for n in range(3):
        more(n)
    client.force_login(finance)
    with django_assert_num_queries(queries):
        assert client.get(reverse(url_name)).status_code == 200
    for n in range(3, 80):
        more(n)
    with django_assert_num_queries(queries):
        assert client.get(reverse(url_name)).status_code == 200


def test_expense_list_shows_locked_rows_without_edit_buttons(client, finance, expenses):
    PeriodLockFactory(month=dt.date(2026, 4, 1))
    client.force_login(finance)
    response = client.get(reverse("budgets:expense_list"), {"month": "2026-04"})
    page = response.content.decode()
    assert 'is locked">' in page and "Locked</span>" in page
    assert reverse("budgets:expense_update", args=[Expense.objects.get(incurred_on="2026-04-01").pk]) not in page


# --- expense forms ---------------------------------------------------------------------------------


def test_record_an_expense_through_the_form(client, finance):
    initiative_with_code("INI-0001")
    eur_rate(dt.date(2026, 3, 1), "1.1")
    client.force_login(finance)
    response = client.post(
        reverse("budgets:expense_create"),
        {
            "initiative": "ini-0001",
            "incurred_on": "2026-03-20",
            "amount": "-10.00",
            "currency": "EUR",
            "paid_by": "marketing",
            "category": "media",
            "vendor": "Adnet",
        },
    )
    assert response.status_code == 302
    expense = Expense.objects.get()
    assert (expense.amount_reporting, expense.source) == (Decimal("-11.00"), "manual")
    assert expense.history.get().history_user == finance


def test_form_errors_are_shown_under_their_fields(client, finance):
    client.force_login(finance)
    response = client.post(
        reverse("budgets:expense_create"),
        {
            "initiative": "INI-4242",
            "incurred_on": "2026-03-20",
            "amount": "0",
            "currency": "EUR",
            "paid_by": "it",
            "category": "media",
        },
    )
    form = response.context["form"]
    assert form.errors["initiative"] == ["There is no initiative INI-4242."]
    assert "cannot be zero" in form.errors["amount"][0]


EXPENSE_FORM = {
    "initiative": "INI-0001",
    "incurred_on": "2026-03-20",
    "amount": "5",
    "currency": "EUR",
    "paid_by": "it",
    "category": "media",
    "vendor": "Adnet",
    "description": "Banners",
}


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("vendor", "Ad\x00net", "Null characters are not allowed."),
        ("description", "\x00", "Null characters are not allowed."),
        ("initiative", "INI-\x000001", "Null characters are not allowed."),
        ("amount", "9" * 1_000_000, "That amount is too large."),
    ],
)
def test_the_expense_form_refuses_nul_and_huge_amounts_under_their_field(client, finance, field, value, message):
    """Django's CharField refuses NUL (ProhibitNullCharactersValidator) before anything reaches the database."""
    initiative_with_code("INI-0001")
    eur_rate(dt.date(2026, 3, 1), "1.1")
    client.force_login(finance)
    response = client.post(reverse("budgets:expense_create"), {**EXPENSE_FORM, field: value})
    assert response.status_code == 200
    assert response.context["form"].errors == {field: [message]}
    assert not Expense.objects.exists()


def test_missing_fx_rate_is_shown_under_currency(client, finance):
    initiative_with_code("INI-0001")
    client.force_login(finance)
    response = client.post(
        reverse("budgets:expense_create"),
        {
            "initiative": "INI-0001",
            "incurred_on": "2026-03-20",
            "amount": "5",
            "currency": "GBP",
            "paid_by": "it",
            "category": "media",
        },
    )
    assert response.context["form"].errors["currency"] == [
        "No FX rate for GBP in March 2026: add it under FX rates first."
    ]
    assert not Expense.objects.exists()


def test_edit_and_delete_an_expense(client, finance):
    expense = ExpenseFactory(incurred_on=dt.date(2026, 2, 2))
    client.force_login(finance)
    data = {
        "initiative": expense.initiative.code,
        "incurred_on": "2026-02-03",
        "amount": "75.00",
        "currency": "USD",
        "paid_by": "marketing",
        "category": "software",
        "vendor": "Acme",
        "description": "",
    }
    assert client.post(reverse("budgets:expense_update", args=[expense.pk]), data).status_code == 302
    expense.refresh_from_db()
    assert (expense.amount, expense.amount_reporting, expense.paid_by) == (
        Decimal("75.00"),
        Decimal("75.00"),
        "marketing",
    )
    assert client.post(reverse("budgets:expense_delete", args=[expense.pk])).status_code == 302
    assert not Expense.objects.exists()


# --- FX rates and locks pages -----------------------------------------------------------------------


def test_fx_page_sets_a_rate_and_recomputes(client, finance):
    eur_rate(dt.date(2026, 3, 1), "1.0")
    expense = ExpenseFactory(incurred_on=dt.date(2026, 3, 3), currency="EUR", amount=Decimal("10.00"))
    client.force_login(finance)
    response = client.post(reverse("budgets:fx_rate_list"), {"currency": "EUR", "month": "2026-03", "rate": "1.5"})
    assert response.status_code == 302
    expense.refresh_from_db()
    assert expense.amount_reporting == Decimal("15.00")


def test_fx_page_refuses_a_locked_month(client, finance):
    FxRateFactory(currency="EUR", month=dt.date(2026, 3, 1), rate=Decimal("1.0"))
    PeriodLockFactory(month=dt.date(2026, 3, 1))
    client.force_login(finance)
    response = client.post(reverse("budgets:fx_rate_list"), {"currency": "EUR", "month": "2026-03", "rate": "2"})
    assert response.status_code == 400
    assert "March 2026 is locked" in response.content.decode()
    assert FxRate.objects.get().rate == Decimal("1.0")


def test_lock_and_unlock_through_the_page(client, finance):
    client.force_login(finance)
    response = client.post(reverse("budgets:lock_list"), {"month": "2026-03", "reason": "March close"})
    assert response.status_code == 302
    lock = PeriodLock.objects.get()
    assert (lock.month, lock.locked_by) == (dt.date(2026, 3, 1), finance)
    client.post(reverse("budgets:lock_unlock", args=[lock.pk]), {"reason": ""})
    assert PeriodLock.objects.exists()  # no reason, no unlock
    client.post(reverse("budgets:lock_unlock", args=[lock.pk]), {"reason": "Late invoice"})
    assert not PeriodLock.objects.exists()


def test_locking_is_finance_only(client, executive_it):
    client.force_login(executive_it)
    assert client.post(reverse("budgets:lock_list"), {"month": "2026-03", "reason": "x"}).status_code == 403
    assert not PeriodLock.objects.exists()
