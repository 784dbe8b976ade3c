"""A clean admin (issue 21): internal tables are read there, never written; the role decides who
administers (no Staff/Superuser/permission fields); other roles get a plain "not for your role" page.

Every registered model is in EDITABLE or READ_ONLY below: registering a new one means deciding.
Not registered on purpose: outcomes (KPIs, measurements) and scenarios are kept in the app by their
authors; the history tables are read through each record's "History"; API tokens (see test_admin_role).
"""

import datetime as dt
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from budgets.models import ImportRun
from initiatives.choices import Status
from initiatives.models import CoFundingAgreement, InitiativeChangeProposal, InitiativeTransition
from reports.models import ExportJob
from split.arithmetic import SPLIT_AMOUNT_COLUMNS
from split.models import OverspendAlert, SplitHistory, SplitRow, SplitRun
from tests.factories import (
    BudgetLineFactory,
    ExpenseFactory,
    FxRateFactory,
    InitiativeFactory,
    NotificationFactory,
    PeriodLockFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
User = get_user_model()
MAY = dt.date(2026, 5, 1)
ZERO = Decimal("0.00")

EDITABLE = {"auth.user", "auth.group", "initiatives.profile"}
READ_ONLY = {
    # written by the app's workflow and tasks
    "initiatives.initiative",
    "initiatives.codesequence",
    "initiatives.initiativetransition",
    "initiatives.initiativechangeproposal",
    "initiatives.cofundingagreement",
    "initiatives.notification",
    "budgets.importrun",
    "split.splitrow",
    "split.splitrun",
    "split.splithistory",
    "split.overspendalert",
    "reports.exportjob",
    # written by the login (django-axes)
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
    # finance's records: finance writes them (tests/budgets/test_admin.py), the admin role reads them
    "budgets.budgetline",
    "budgets.expense",
    "budgets.fxrate",
    "budgets.periodlock",
}


@pytest.fixture
def administrator(client):
    user = UserFactory(username="ada", role="admin", side="")
    client.force_login(user)
    return user


@pytest.fixture
def records(db):
    """A row in every read-only table."""
    initiative = InitiativeFactory(status=Status.APPROVED)
    keeper = UserFactory(username="finance.keeper", role="finance", side="")
    NotificationFactory(initiative=initiative)
    InitiativeChangeProposal.objects.create(
        initiative=initiative, proposed_by=initiative.owner, reason="Budget shifted", lane="core_stack"
    )
    InitiativeTransition.objects.create(
        initiative=initiative, action="submit", from_status="draft", to_status="submitted", by=initiative.owner
    )
    CoFundingAgreement.objects.create(initiative=initiative, effective_from=MAY, marketing_share_pct=Decimal("50"))
    BudgetLineFactory(initiative=initiative, month=MAY, amount=Decimal("10.00"))
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 5, 3))
    FxRateFactory(currency="EUR", month=MAY, rate=Decimal("1.10000000"))
    PeriodLockFactory(month=dt.date(2025, 12, 1), locked_by=keeper)
    ImportRun.objects.create(kind="actuals", file_name="may.csv", file_sha256="0" * 64, rows=1, created=1)
    amounts = dict.fromkeys(SPLIT_AMOUNT_COLUMNS, ZERO)
    SplitRow.objects.create(
        initiative=initiative,
        month=MAY,
        fiscal_year=2026,
        fiscal_quarter=2,
        initiative_code=initiative.code,
        initiative_title=initiative.title,
        lane=initiative.lane,
        status=initiative.status,
        marketing_share_pct=initiative.marketing_share_pct,
        **amounts,
    )
    run = SplitRun.objects.create(trigger="command", status="succeeded", row_count=1)
    SplitHistory.objects.create(run=run, lane="fast_lane", month=MAY, fiscal_year=2026, **amounts)
    OverspendAlert.objects.create(
        initiative=initiative, month=MAY, fiscal_year=2026, planned_total=ZERO, actual_total=Decimal("1.00")
    )
    ExportJob.objects.create(requested_by=keeper, format="csv")
    AccessAttempt.objects.create(username="locked.out", ip_address="10.0.0.1", failures_since_start=5)
    AccessLog.objects.create(username="ada", ip_address="10.0.0.2")
    AccessFailureLog.objects.create(username="locked.out", ip_address="10.0.0.1", locked_out=True)


def snapshot() -> dict[str, list[dict]]:
    return {label: list(apps.get_model(label).objects.order_by("pk").values()) for label in sorted(READ_ONLY)}


def admin_url(label: str, view: str, *args) -> str:
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def any_pk(label: str):
    return apps.get_model(label).objects.order_by("pk").values_list("pk", flat=True)[0]


def test_every_registered_model_was_decided_editable_or_read_only():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == EDITABLE | READ_ONLY
    for label in ("outcomes.outcomekpi", "outcomes.outcomemeasurement", "scenarios.scenario", "authtoken.token"):
        assert label not in registered


@pytest.mark.parametrize("label", sorted(READ_ONLY))
def test_the_admin_role_reads_internal_tables_but_never_adds_changes_or_deletes(client, administrator, records, label):
    before = snapshot()
    changelist = client.get(admin_url(label, "changelist"))
    assert changelist.status_code == 200
    html = changelist.content.decode()
    assert admin_url(label, "add") not in html  # no "Add" button
    assert "delete_selected" not in html

    pk = any_pk(label)
    assert client.get(admin_url(label, "add")).status_code == 403
    assert client.post(admin_url(label, "add"), {"name": "x"}).status_code == 403
    assert client.post(admin_url(label, "change", pk), {"name": "x", "last_value": "0"}).status_code == 403
    assert client.post(admin_url(label, "delete", pk), {"post": "yes"}).status_code == 403
    assert snapshot() == before


def test_a_lockout_is_reset_from_the_admin_and_that_is_the_only_action(client, administrator, records):
    changelist = admin_url("axes.accessattempt", "changelist")
    actions = client.get(changelist).context["action_form"].fields["action"].choices
    assert [name for name, _ in actions if name] == ["reset_lockout"]

    attempt = AccessAttempt.objects.get(username="locked.out")
    response = client.post(changelist, {"action": "reset_lockout", "_selected_action": [attempt.pk]})

    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="locked.out").exists()
    assert AccessFailureLog.objects.filter(username="locked.out").exists()  # the record of what happened stays


@pytest.mark.parametrize("label", sorted(EDITABLE))
def test_users_roles_and_profiles_stay_editable_by_the_admin_role(client, administrator, label):
    assert client.get(admin_url(label, "add")).status_code == 200
    assert admin_url(label, "add") in client.get(admin_url(label, "changelist")).content.decode()


def test_the_four_roles_keep_their_names_and_are_not_deleted(client, administrator):
    role = Group.objects.get(name="admin")
    page = client.get(admin_url("auth.group", "change", role.pk))
    assert "name" not in page.context["adminform"].form.fields
    assert "permissions" not in page.context["adminform"].form.fields
    client.post(admin_url("auth.group", "change", role.pk), {"name": "root"})
    assert client.post(admin_url("auth.group", "delete", role.pk), {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [role.pk], "post": "yes"}
    client.post(admin_url("auth.group", "changelist"), bulk)
    assert Group.objects.filter(pk=role.pk, name="admin").exists()


HIDDEN = ("is_staff", "is_superuser", "user_permissions")


def test_the_user_forms_have_no_staff_superuser_or_permission_fields(client, administrator):
    user = UserFactory(username="pm.plain", role="pm", side="it")
    change = client.get(admin_url("auth.user", "change", user.pk))
    add = client.get(admin_url("auth.user", "add"))
    for page in (change, add):
        fields = page.context["adminform"].form.fields
        assert not set(HIDDEN) & set(fields)
        assert "groups" in fields
        html = page.content.decode()
        assert 'name="is_staff"' not in html and 'name="is_superuser"' not in html
    assert "Roles" in change.content.decode()


def test_posting_staff_superuser_or_permissions_on_the_user_form_changes_nothing(client, administrator):
    user = UserFactory(username="pm.plain", role="pm", side="it")
    executive = Group.objects.get_or_create(name="executive")[0]
    response = client.post(
        admin_url("auth.user", "change", user.pk),
        {
            "username": "pm.plain",
            "first_name": "Pat",
            "email": "pat@example.com",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "user_permissions": [Permission.objects.first().pk],
            "groups": [executive.pk],
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "1",
            "profile-MIN_NUM_FORMS": "0",
            "profile-MAX_NUM_FORMS": "1",
            "profile-0-id": user.profile.pk,
            "profile-0-user": user.pk,
            "profile-0-side": "it",
            "profile-0-title": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert user.first_name == "Pat"  # the form was saved…
    assert list(user.groups.values_list("name", flat=True)) == ["executive"]
    assert not user.is_staff and not user.is_superuser  # …without the flags
    assert not user.user_permissions.exists()


def test_the_user_list_shows_roles_and_side(client, administrator):
    UserFactory(username="cio.two", role="executive", side="it")
    html = client.get(admin_url("auth.user", "changelist"), {"q": "cio.two"}).content.decode()
    assert "executive" in html and ">IT<" in html


ADMIN_PATHS = ("/admin/", "/admin/auth/user/", "/admin/budgets/expense/", "/admin/no/such/page/", "/admin/login/")


@pytest.mark.parametrize("role", ["executive", "pm", "finance"])
@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_other_roles_get_the_plain_not_for_your_role_page(client, role, path):
    client.force_login(UserFactory(role=role, side="" if role == "finance" else "it"))
    response = client.get(path)
    assert response.status_code == 403
    html = response.content.decode()
    assert "The administration is not for your role" in html
    assert f'href="{reverse("home")}"' in html
    assert 'name="password"' not in html  # not the admin's sign-in form


@pytest.mark.parametrize("path", ["/admin/", "/admin/auth/user/", "/admin/login/"])
def test_anonymous_people_go_to_the_normal_sign_in_page(client, path):
    response = client.get(path, follow=True)
    final_url, _ = response.redirect_chain[-1]
    assert final_url.startswith(reverse("login") + "?next=/admin/")
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


def test_the_admin_role_sees_the_index(client, administrator):
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "Users, roles and settings" in response.content.decode()


@pytest.mark.parametrize("label", ["initiatives.initiative", "initiatives.cofundingagreement"])
def test_a_read_only_record_is_not_reverted_through_its_history(client, administrator, records, label):
    model = apps.get_model(label)
    row = model.objects.order_by("pk").first()
    version = row.history.order_by("history_id").first()
    before = snapshot()
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_simple_history", args=[row.pk, version.pk])

    assert client.get(url).status_code == 200  # an old version is read
    assert client.post(url, {"title": "Reverted", "marketing_share_pct": "10"}).status_code == 403
    assert snapshot() == before
