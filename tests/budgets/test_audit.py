"""History: the audit log shows who changed what from what to what; the per-initiative history include."""

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from budgets.selectors import audit_log, initiative_finance_history
from budgets.services.budgets import budget_line_set
from budgets.services.fx import fx_rate_set
from budgets.services.locks import period_lock_create
from tests.budgets.finance_helpers import MARCH, initiative_with_code
from tests.factories import BudgetLineFactory, ExpenseFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_audit_log_shows_who_changed_a_budget_line_from_what_to_what(client, finance):
    initiative = initiative_with_code("INI-0001")
    budget_line_set(initiative=initiative, month=MARCH, category="labor", amount=Decimal("1000.00"), by=finance)
    budget_line_set(initiative=initiative, month=MARCH, category="labor", amount=Decimal("1250.00"), by=finance)
    client.force_login(finance)
    response = client.get(reverse("budgets:audit_log"), {"model": "budget_line"})
    entry = response.context["page"].entries[0]
    assert (entry.action, entry.user, entry.title) == ("changed", finance, "INI-0001 · Mar 2026 · Labor")
    assert [(c.label, c.before, c.after) for c in entry.changes] == [("Amount", "1,000.00", "1,250.00")]
    page = response.content.decode()
    assert "1,000.00" in page and "1,250.00" in page and "INI-0001 · Mar 2026 · Labor" in page


def test_audit_log_filters_by_user_model_and_date(finance):
    colleague = UserFactory(username="finance2", role="finance", side="")
    fx_rate_set(currency="EUR", month=MARCH, rate=Decimal("1.1"), by=finance)
    period_lock_create(month=MARCH, reason="Close", by=colleague)
    # Locking also closes the month's split (PRODUCT.md §3): the freeze is the colleague's too, newest first.
    assert [e.model_key for e in audit_log(user_id=colleague.pk).entries] == ["closed_month", "period_lock"]
    assert [e.model_key for e in audit_log(models=["fx_rate"]).entries] == ["fx_rate"]
    assert audit_log(date_to=dt.date(2000, 1, 1)).entries == []
    assert len(audit_log(date_from=dt.date.today()).entries) == 3


def test_audit_log_pages_without_counting(finance):
    initiative = initiative_with_code("INI-0001")
    for n in range(1, 6):
        budget_line_set(initiative=initiative, month=MARCH, category="labor", amount=Decimal(n), by=finance)
    first = audit_log(per_page=2)
    last = audit_log(per_page=2, page=3)
    assert first.has_next and not last.has_next and len(last.entries) == 1
    assert last.entries[0].action == "created"


def test_created_and_deleted_entries_show_the_values(finance):
    expense = ExpenseFactory(vendor="Acme Cloud", amount=Decimal("12.00"))
    expense._history_user = finance
    expense.delete()
    deleted, created = audit_log(models=["expense"]).entries
    assert deleted.action == "deleted" and ("Vendor", "Acme Cloud", "") in [
        (c.label, c.before, c.after) for c in deleted.changes
    ]
    assert created.action == "created" and ("Amount", "", "12.00") in [
        (c.label, c.before, c.after) for c in created.changes
    ]


def test_audit_page_runs_a_fixed_number_of_queries_whatever_the_history(client, finance, django_assert_num_queries):
    initiative = initiative_with_code("INI-0001")

    def changes(amounts: range) -> None:
        for n in amounts:
            budget_line_set(initiative=initiative, month=MARCH, category="labor", amount=Decimal(n + 1), by=finance)
            ExpenseFactory(initiative=initiative)

    changes(range(2))
    fx_rate_set(currency="EUR", month=MARCH, rate=Decimal("1.1"), by=finance)
    fx_rate_set(currency="EUR", month=MARCH, rate=Decimal("1.15"), by=finance)
    period_lock_create(month=dt.date(2025, 1, 1), reason="Close", by=finance)
    client.force_login(finance)
    # One query per audited model on the page, per model with changes (their earlier versions) and for
    # the names shown: never one per entry (the lock's closed month is one more model on the page).
    with django_assert_num_queries(15):
        client.get(reverse("budgets:audit_log"))
    changes(range(2, 30))
    fx_rate_set(currency="EUR", month=MARCH, rate=Decimal("1.2"), by=finance)  # every model still on the page
    period_lock_create(month=dt.date(2025, 2, 1), reason="Close", by=finance)
    with django_assert_num_queries(15):
        response = client.get(reverse("budgets:audit_log"))
    assert len(response.context["page"].entries) == 50


def test_initiative_history_selector_and_include(finance):
    initiative = initiative_with_code("INI-0001")
    other = initiative_with_code("INI-0002")
    budget_line_set(initiative=initiative, month=MARCH, category="media", amount=Decimal("10.00"), by=finance)
    BudgetLineFactory(initiative=other)
    entries = initiative_finance_history(initiative)
    assert [e.title for e in entries] == ["INI-0001 · Mar 2026 · Media"]
    html = Template(
        '{% include "budgets/_initiative_finance_history.html" with entries=entries initiative=initiative %}'
    ).render(Context({"entries": entries, "initiative": initiative}))
    assert "Budget and spend history" in html and "INI-0001 · Mar 2026 · Media" in html


def test_history_tag_checks_the_policy(finance, other_pm):
    initiative = initiative_with_code("INI-0001", status="submitted")
    budget_line_set(initiative=initiative, month=MARCH, category="media", amount=Decimal("10.00"), by=finance)
    template = Template("{% load budgets_tags %}{% initiative_finance_history initiative %}")
    for user, visible in ((finance, True), (other_pm, False)):
        request = RequestFactory().get("/")
        request.user = user
        html = template.render(Context({"initiative": initiative, "request": request}))
        assert ("Mar 2026 · Media" in html) is visible


def test_history_card_links_to_the_audit_log_only_for_who_may_read_it(finance, pm):
    initiative = initiative_with_code("INI-0001", status="submitted", owner=pm)
    budget_line_set(initiative=initiative, month=MARCH, category="media", amount=Decimal("10.00"), by=finance)
    template = Template("{% load budgets_tags %}{% initiative_finance_history initiative %}")
    audit_link = f'href="/finance/audit/?initiative={initiative.code}"'
    for user, linked in ((finance, True), (pm, False)):
        request = RequestFactory().get("/")
        request.user = user
        html = template.render(Context({"initiative": initiative, "request": request}))
        assert "Mar 2026 · Media" in html  # the owner sees the card…
        assert (audit_link in html) is linked  # …but the finance audit log (403 for a PM) is not offered
        # The initiative's own code is not repeated as a field of each entry on its own page.
        assert '<span class="field">Initiative</span>' not in html
        assert '<span class="field">Amount</span>' in html
