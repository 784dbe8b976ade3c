"""The Django admin obeys the permission policy on finance's records (PRODUCT.md §1, issue 14).

Finance alone keeps budget lines, actuals, FX rates and locks; the admin role manages users,
roles and settings, so in the admin it reads finance's records and changes none of them —
not through the forms, the bulk delete action or a history revert. Records only the app
writes (split rows, runs and history, import runs, exports, overspend alerts) are read-only
for everyone. A finance user who is let into the admin (`is_staff`) gets what the policy
gives finance, and those writes go through the services: conversion, locks and history alike.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from budgets.models import BudgetLine, Expense, FxRate, ImportRun, PeriodLock
from budgets.services.actuals import expense_delete, expense_update
from portfolio import policy
from reports.models import ExportJob
from split.arithmetic import SPLIT_AMOUNT_COLUMNS
from split.models import OverspendAlert, SplitHistory, SplitRow, SplitRun
from tests.api.conftest import token_client
from tests.budgets.finance_helpers import MARCH, admin_user, eur_rate, finance_in_admin
from tests.factories import (
    BudgetLineFactory,
    ExpenseFactory,
    FxRateFactory,
    InitiativeFactory,
    PeriodLockFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MAY = dt.date(2026, 5, 1)
ZERO = Decimal("0.00")

# Who opens the admin: the admin role by membership of its group; the administrator seed_demo makes
# (admin role, staff and superuser flags); finance, executives and PMs only when someone sets is_staff.
ROLES = {
    "admin": {"role": "admin", "side": ""},
    "superuser": {"role": "admin", "side": "", "is_staff": True, "is_superuser": True},
    "finance": {"role": "finance", "side": "", "is_staff": True},
    "executive": {"role": "executive", "side": "it", "is_staff": True},
    "pm": {"role": "pm", "side": "marketing", "is_staff": True},
}
KEPT_BY_FINANCE = ("budgetline", "expense", "fxrate", "periodlock")
WRITTEN_BY_THE_APP = ("importrun", "splitrow", "splitrun", "splithistory", "overspendalert", "exportjob")
MODELS = KEPT_BY_FINANCE + WRITTEN_BY_THE_APP
APP_OF = {**dict.fromkeys(("splitrow", "splitrun", "splithistory", "overspendalert"), "split"), "exportjob": "reports"}
APP_OF = {model: APP_OF.get(model, "budgets") for model in MODELS}
READ = frozenset({"view"})
EVERYTHING = frozenset({"view", "add", "change", "delete"})
NOTHING: frozenset[str] = frozenset()

# role → model → what the admin lets the role do ("change" and "delete" of an existing record).
TABLE: dict[str, dict[str, frozenset[str]]] = {
    "admin": dict.fromkeys(MODELS, READ),
    "superuser": dict.fromkeys(MODELS, READ),
    "finance": {
        **dict.fromkeys(KEPT_BY_FINANCE, EVERYTHING),
        "periodlock": frozenset({"view", "add", "delete"}),  # a lock is made and removed, never edited
        **dict.fromkeys(WRITTEN_BY_THE_APP, READ),
    },
    "executive": dict.fromkeys(MODELS, NOTHING),
    "pm": dict.fromkeys(MODELS, NOTHING),
}


@pytest.fixture
def world(db):
    """One record of every finance model, all in open months; the EUR rate converts no expense."""
    initiative = InitiativeFactory()
    finance = UserFactory(username="finance.keeper", role="finance", side="")
    run = SplitRun.objects.create(trigger="command", status="succeeded", row_count=1)
    return {
        "initiative": initiative,
        "budgetline": BudgetLineFactory(initiative=initiative, month=MAY, amount=Decimal("10.00")),
        "expense": ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 5, 3)),
        "fxrate": FxRateFactory(currency="EUR", month=MAY, rate=Decimal("1.10000000")),
        "periodlock": PeriodLockFactory(month=dt.date(2025, 12, 1), locked_by=finance),
        "importrun": ImportRun.objects.create(
            kind="actuals", file_name="may.csv", file_sha256="0" * 64, rows=1, created=1
        ),
        "splitrow": SplitRow.objects.create(
            initiative=initiative,
            month=MAY,
            fiscal_year=2026,
            fiscal_quarter=2,
            initiative_code=initiative.code,
            initiative_title=initiative.title,
            lane=initiative.lane,
            status=initiative.status,
            marketing_share_pct=initiative.marketing_share_pct,
            **dict.fromkeys(SPLIT_AMOUNT_COLUMNS, ZERO),
        ),
        "splitrun": run,
        "splithistory": SplitHistory.objects.create(
            run=run, lane="fast_lane", month=MAY, fiscal_year=2026, **dict.fromkeys(SPLIT_AMOUNT_COLUMNS, ZERO)
        ),
        "overspendalert": OverspendAlert.objects.create(
            initiative=initiative, month=MAY, fiscal_year=2026, planned_total=ZERO, actual_total=Decimal("1.00")
        ),
        "exportjob": ExportJob.objects.create(requested_by=finance, format="csv"),
    }


def snapshot() -> dict[str, list[dict]]:
    """Every finance record, field by field."""
    models = (BudgetLine, Expense, FxRate, PeriodLock, ImportRun, SplitRow, SplitRun, SplitHistory, OverspendAlert)
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in (*models, ExportJob)}


def urls(model: str, pk) -> dict[str, str]:
    prefix = f"admin:{APP_OF[model]}_{model}"
    return {
        "changelist": reverse(f"{prefix}_changelist"),
        "add": reverse(f"{prefix}_add"),
        "change": reverse(f"{prefix}_change", args=[pk]),
        "delete": reverse(f"{prefix}_delete", args=[pk]),
        "history": reverse(f"{prefix}_history", args=[pk]),
    }


# Valid form data for each model: refused POSTs would change something if the admin let them through.
def add_data(model: str, world) -> dict:
    initiative = world["initiative"].pk
    return {
        "budgetline": {"initiative": initiative, "month": "2026-06-01", "category": "media", "amount": "10.00"},
        "expense": {
            "initiative": initiative,
            "incurred_on": "2026-05-20",
            "amount": "10.00",
            "currency": "USD",
            "paid_by": "it",
            "category": "software",
            "source": "manual",
        },
        "fxrate": {"currency": "GBP", "month": "2026-05-01", "rate": "1.2"},
        "periodlock": {"month": "2026-02-01", "reason": "February closed"},
    }.get(model, {})


def change_data(model: str, world) -> dict:
    record = world[model]
    if model == "budgetline":
        return {"initiative": record.initiative_id, "month": "2026-05-01", "category": "labor", "amount": "99.00"}
    if model == "expense":
        return {
            "initiative": record.initiative_id,
            "incurred_on": "2026-05-03",
            "amount": "99.00",
            "currency": "USD",
            "paid_by": "marketing",
            "category": "agency",
            "vendor": "Changed in the admin",
            "description": "",
        }
    if model == "fxrate":
        return {"rate": "2.5"}
    if model == "periodlock":
        return {"month": "2025-12-01", "reason": "Changed in the admin"}
    if model == "splithistory":
        fields = {"run": record.run_id, "lane": "core_stack", "month": "2026-05-01", "fiscal_year": "2026"}
        return fields | dict.fromkeys(SPLIT_AMOUNT_COLUMNS, "5.00")
    return {}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("role", ROLES)
def test_the_admin_grants_each_role_what_the_policy_allows(client, world, role, model):
    client.force_login(UserFactory(username=f"{role}.in.admin", **ROLES[role]))
    allowed = TABLE[role][model]
    record = world[model]
    url = urls(model, record.pk)
    before = snapshot()

    listing = client.get(url["changelist"])
    page = client.get(url["change"])
    assert (listing.status_code, page.status_code) == ((200, 200) if "view" in allowed else (403, 403))
    if "view" in allowed:
        listing_html, page_html = listing.content.decode(), page.content.decode()
        assert (url["add"] in listing_html) is ("add" in allowed), "the Add button"
        assert ('value="delete_selected"' in listing_html) is ("delete" in allowed), "the bulk delete action"
        assert ('name="_save"' in page_html) is ("change" in allowed), "the Save button"
        assert (url["delete"] in page_html) is ("delete" in allowed), "the Delete link"

    # Whatever the role may not do is a 403 and leaves every finance record as it was.
    if "add" not in allowed:
        assert client.get(url["add"]).status_code == 403
        assert client.post(url["add"], add_data(model, world)).status_code == 403
    if "change" not in allowed:
        assert client.post(url["change"], change_data(model, world)).status_code == 403
    if "delete" not in allowed:
        assert client.post(url["delete"], {"post": "yes"}).status_code == 403
        bulk = {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"}
        assert client.post(url["changelist"], bulk).status_code in (200, 302, 403)
    assert snapshot() == before

    # What it may do goes through (the services' own rules have tests of their own).
    if "add" in allowed:
        assert client.post(url["add"], add_data(model, world)).status_code == 302
        assert len(snapshot()[record.__class__.__name__]) == len(before[record.__class__.__name__]) + 1
    if "change" in allowed:
        assert client.post(url["change"], change_data(model, world)).status_code == 302
        assert snapshot()[record.__class__.__name__] != before[record.__class__.__name__]
    if "delete" in allowed:
        assert client.post(url["delete"], {"post": "yes"}).status_code == 302
        assert not type(record).objects.filter(pk=record.pk).exists()


def test_the_table_covers_every_finance_model_and_the_policy_knows_each():
    """A new finance model fails here until the table and `policy.ADMIN_FINANCE_MODELS` say who may do what."""
    registered = {
        model._meta.model_name
        for app in ("budgets", "split", "reports")
        for model in apps.get_app_config(app).get_models()
        if admin.site.is_registered(model)
    }
    assert registered == set(MODELS)
    assert set(policy.ADMIN_FINANCE_MODELS) == {f"{APP_OF[model]}.{model}" for model in MODELS}


@pytest.mark.parametrize("role", ["admin", "superuser"])
def test_the_admin_role_gets_403_for_a_lock_and_an_expense_everywhere(client, role):
    """The case of issue 14: the web UI, the API and the Django admin give the same answer."""
    user = UserFactory(username=f"{role}.everywhere", **ROLES[role])
    lock = PeriodLockFactory(month=MARCH)
    initiative = InitiativeFactory()
    expense = {
        "initiative": initiative.pk,
        "incurred_on": "2026-04-20",
        "amount": "10.00",
        "currency": "USD",
        "paid_by": "it",
        "category": "software",
    }
    client.force_login(user)
    api = token_client(user)

    assert client.post(reverse("budgets:lock_unlock", args=[lock.pk]), {"reason": "Late invoice"}).status_code == 403
    assert client.post(reverse("budgets:expense_create"), expense).status_code == 403
    assert api.post(f"/api/locks/{lock.pk}/unlock/", {"reason": "Late invoice"}, format="json").status_code == 403
    assert api.post("/api/expenses/", {**expense, "initiative": initiative.code}, format="json").status_code == 403
    assert client.post(reverse("admin:budgets_periodlock_delete", args=[lock.pk]), {"post": "yes"}).status_code == 403
    assert client.post(reverse("admin:budgets_expense_add"), {**expense, "source": "manual"}).status_code == 403

    assert PeriodLock.objects.filter(pk=lock.pk).exists()
    assert not Expense.objects.exists()


# --- history: read by whoever may view, reverted only by whoever may change --------------------------


REVERTS = {"admin": NOTHING, "superuser": NOTHING, "finance": frozenset({"budgetline", "expense", "fxrate"})}


@pytest.mark.parametrize("model", KEPT_BY_FINANCE)
@pytest.mark.parametrize("role", REVERTS)
def test_a_history_revert_needs_the_change_permission(client, world, role, model):
    record = world[model]
    first = record.history.earliest()
    client.force_login(UserFactory(username=f"{role}.reverting", **ROLES[role]))
    version_url = reverse(f"admin:budgets_{model}_simple_history", args=[record.pk, first.history_id])
    assert client.get(urls(model, record.pk)["history"]).status_code == 200
    assert client.get(version_url).status_code == 200
    before = snapshot()

    response = client.post(version_url, change_data(model, world))

    if model in REVERTS[role]:
        assert response.status_code == 302
        assert snapshot() != before
    else:
        assert response.status_code == 403
        assert snapshot() == before


@pytest.mark.parametrize("role", REVERTS)
def test_a_deleted_record_is_not_brought_back_through_its_history(client, role):
    expense = ExpenseFactory(incurred_on=dt.date(2026, 5, 3))
    version = expense.history.earliest()
    expense_delete(expense=expense, by=UserFactory(username="finance.deleting", role="finance", side=""))
    client.force_login(UserFactory(username=f"{role}.restoring", **ROLES[role]))
    data = {
        "initiative": expense.initiative_id,
        "incurred_on": "2026-05-03",
        "amount": "500.00",
        "currency": "USD",
        "paid_by": "it",
        "category": "software",
        "vendor": "Acme Cloud",
        "description": "",
    }

    response = client.post(reverse("admin:budgets_expense_simple_history", args=[expense.pk, version.history_id]), data)

    assert response.status_code == 403  # an expense is recorded again through the add form, by finance
    assert not Expense.objects.exists()


def test_a_finance_revert_restores_the_version_through_the_service(client):
    eur_rate(MARCH, "1.5")
    keeper = finance_in_admin()
    expense = ExpenseFactory(incurred_on=dt.date(2026, 3, 3), currency="EUR", amount=Decimal("10.00"))
    first = expense.history.earliest()
    expense_update(expense=expense, data={"amount": Decimal("20.00"), "vendor": "Other"}, by=keeper)
    client.force_login(keeper)
    form = client.get(reverse("admin:budgets_expense_simple_history", args=[expense.pk, first.history_id]))
    data = {name: form.context["adminform"].form[name].value() for name in form.context["adminform"].form.fields}

    response = client.post(reverse("admin:budgets_expense_simple_history", args=[expense.pk, first.history_id]), data)

    assert response.status_code == 302
    expense.refresh_from_db()
    assert (expense.amount, expense.amount_reporting, expense.vendor) == (
        Decimal("10.00"),
        Decimal("15.00"),
        "Acme Cloud",
    )
    assert expense.history.latest().history_user == keeper


def test_a_finance_revert_in_a_locked_month_is_refused_naming_it(client):
    keeper = finance_in_admin()
    line = BudgetLineFactory(month=MARCH, amount=Decimal("10.00"))
    first = line.history.earliest()
    BudgetLine.objects.filter(pk=line.pk).update(amount=Decimal("20.00"))
    PeriodLockFactory(month=MARCH)
    client.force_login(keeper)
    data = {"initiative": line.initiative_id, "month": "2026-03-01", "category": line.category, "amount": "10.00"}

    response = client.post(reverse("admin:budgets_budgetline_simple_history", args=[line.pk, first.history_id]), data)

    assert "March 2026 is locked" in response.content.decode()
    line.refresh_from_db()
    assert line.amount == Decimal("20.00")


# --- finance in the admin: the writes go through the services --------------------------------------


@pytest.fixture
def keeper(client):
    user = finance_in_admin()
    client.force_login(user)
    return user


def test_admin_expense_add_converts_and_records_who(client, keeper):
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
    assert expense.history.get().history_user == keeper


def test_admin_expense_without_rate_is_a_form_error(client, keeper):
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


def test_admin_fx_change_recomputes_expenses(client, keeper):
    fx = eur_rate(MARCH, "1.0")
    expense = ExpenseFactory(incurred_on=dt.date(2026, 3, 3), currency="EUR", amount=Decimal("10.00"))
    response = client.post(reverse("admin:budgets_fxrate_change", args=[fx.pk]), {"rate": "2.5"})
    assert response.status_code == 302
    expense.refresh_from_db()
    assert expense.amount_reporting == Decimal("25.00")
    assert FxRate.history.latest().history_user == keeper


def test_admin_budget_line_add_goes_through_the_service(client, keeper):
    initiative = InitiativeFactory()
    response = client.post(
        reverse("admin:budgets_budgetline_add"),
        {"initiative": initiative.pk, "month": "2026-03-01", "category": "media", "amount": "10.00"},
    )
    assert response.status_code == 302
    assert BudgetLine.history.get().history_user == keeper


def test_admin_lock_and_unlock_go_through_the_services(client, keeper):
    response = client.post(reverse("admin:budgets_periodlock_add"), {"month": "2026-03-01", "reason": "Close"})
    assert response.status_code == 302
    lock = PeriodLock.objects.get()
    assert lock.locked_by == keeper
    client.post(reverse("admin:budgets_periodlock_delete", args=[lock.pk]), {"post": "yes"})
    assert not PeriodLock.objects.exists()
    assert PeriodLock.history.latest().history_change_reason == "Unlocked: Unlocked in the Django admin"


def test_the_admin_lists_every_model_of_the_project(client):
    client.force_login(admin_user())
    page = client.get("/admin/").content.decode()
    for app_label in ("initiatives", "budgets"):
        for model in apps.get_app_config(app_label).get_models():
            if model.__name__.startswith("Historical"):
                continue  # history is read through each model's own "History" page
            assert f"/admin/{app_label}/{model._meta.model_name}/" in page, model.__name__


def test_finance_let_into_the_admin_finds_its_records_on_the_index(client, keeper):
    page = client.get("/admin/").content.decode()
    for model in MODELS:
        assert f"/admin/{APP_OF[model]}/{model}/" in page, model
    assert "/admin/auth/user/" not in page  # users and roles are the admin role's
