"""The Django admin writes through the services: conversion, recomputation, locks and history alike."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from budgets.models import BudgetLine, Expense, FxRate, PeriodLock
from tests.budgets.finance_helpers import admin_user, eur_rate
from tests.factories import ExpenseFactory, InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db

MARCH = dt.date(2026, 3, 1)


@pytest.fixture
def root(client):
    user = admin_user()
    client.force_login(user)
    return user


def test_admin_expense_add_converts_and_records_who(client, root):
    eur_rate(MARCH, "1.5")
    initiative = InitiativeFactory()
    response = client.post(
        reverse("admin:budgets_expense_add"),
        {
            "initiative": initiative.pk,
            "incurred_on": "2026-03-20",
            "amount": "10.00",
            "currency": "eur",
            "paid_by": "it",
            "category": "software",
            "source": "manual",
        },
    )
    assert response.status_code == 302
    expense = Expense.objects.get()
    assert (expense.currency, expense.amount_reporting) == ("EUR", Decimal("15.00"))
    assert expense.history.get().history_user == root


def test_admin_expense_without_rate_is_a_form_error(client, root):
    response = client.post(
        reverse("admin:budgets_expense_add"),
        {
            "initiative": InitiativeFactory().pk,
            "incurred_on": "2026-03-20",
            "amount": "10.00",
            "currency": "EUR",
            "paid_by": "it",
            "category": "software",
            "source": "manual",
        },
    )
    assert "No FX rate for EUR in March 2026" in response.content.decode()
    assert not Expense.objects.exists()


def test_admin_fx_change_recomputes_expenses(client, root):
    fx = eur_rate(MARCH, "1.0")
    expense = ExpenseFactory(incurred_on=dt.date(2026, 3, 3), currency="EUR", amount=Decimal("10.00"))
    response = client.post(reverse("admin:budgets_fxrate_change", args=[fx.pk]), {"rate": "2.5"})
    assert response.status_code == 302
    expense.refresh_from_db()
    assert expense.amount_reporting == Decimal("25.00")
    assert FxRate.history.latest().history_user == root


def test_admin_budget_line_add_goes_through_the_service(client, root):
    initiative = InitiativeFactory()
    response = client.post(
        reverse("admin:budgets_budgetline_add"),
        {"initiative": initiative.pk, "month": "2026-03-01", "category": "media", "amount": "10.00"},
    )
    assert response.status_code == 302
    assert BudgetLine.history.get().history_user == root


def test_admin_lock_and_unlock_go_through_the_services(client, root):
    response = client.post(reverse("admin:budgets_periodlock_add"), {"month": "2026-03-01", "reason": "Close"})
    assert response.status_code == 302
    lock = PeriodLock.objects.get()
    assert lock.locked_by == root
    client.post(reverse("admin:budgets_periodlock_delete", args=[lock.pk]), {"post": "yes"})
    assert not PeriodLock.objects.exists()
    assert PeriodLock.history.latest().history_change_reason == "Unlocked: Unlocked in the Django admin"


def test_the_admin_lists_every_model_of_the_project(client):
    from django.apps import apps

    admin_user = UserFactory(username="root", role="admin", side="", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    page = client.get("/admin/").content.decode()
    for app_label in ("initiatives", "budgets"):
        for model in apps.get_app_config(app_label).get_models():
            if model.__name__.startswith("Historical"):
                continue  # history is read through each model's own "History" page
            assert f"/admin/{app_label}/{model._meta.model_name}/" in page, model.__name__
